package lab

import (
	"os"
	"path/filepath"

	"github.com/loralab/loralab/pkg/gguf"
)

// GGUF is a run exported for llama.cpp and Ollama: the base model, the trained adapter and an
// Ollama Modelfile, side by side in one folder.
type GGUF struct {
	Base, Adapter, Modelfile string // base.gguf, adapter.gguf, Modelfile

	base *Base
}

// ExportGGUF writes the run's base model (base.gguf, float32, with its tokenizer and chat
// template), its trained adapter (adapter.gguf, a llama.cpp LoRA adapter) and an Ollama
// Modelfile (FROM ./base.gguf, ADAPTER ./adapter.gguf, the chat template as TEMPLATE, its stop
// strings) into dir, each atomically. `llama-cli -m base.gguf --lora adapter.gguf` and
// `ollama create NAME -f Modelfile` run them.
func (r *Run) ExportGGUF(dir string) *GGUF {
	g := &GGUF{Base: filepath.Join(dir, "base.gguf"), Adapter: filepath.Join(dir, "adapter.gguf"),
		Modelfile: filepath.Join(dir, "Modelfile"), base: r.base}
	check(os.MkdirAll(dir, 0o755), "run %s: GGUF folder", r.Name)
	check(gguf.WriteModel(g.Base, r.base.Model, r.base.Dir, gguf.ModelOptions{Type: gguf.F32}), "run %s: base model to GGUF", r.Name)
	check(gguf.WriteAdapter(g.Adapter, r.Adapter()), "run %s: adapter to GGUF", r.Name)
	check(gguf.Modelfile{From: g.Base, Adapter: g.Adapter, Template: r.base.Template.Name}.Write(g.Modelfile), "run %s: Modelfile", r.Name)
	return g
}

// Replies answers each question with llama.cpp itself (base.gguf with adapter.gguf, greedy, at
// most maxTokens tokens) from the same prompt tokens Model.Reply uses, special tokens such as
// the end of turn left out: what the exported files say outside LoRA Lab.
func (g *GGUF) Replies(maxTokens int, questions ...string) []string {
	var prompts [][]int
	for _, q := range questions {
		prompts = append(prompts, g.base.Prompt(q))
	}
	res := Must(gguf.LlamaCpp(gguf.Run{Model: g.Base, Lora: g.Adapter, Prompts: prompts, MaxTokens: maxTokens}))
	var out []string
	for _, ids := range res[0].Greedy {
		out = append(out, g.base.replyText(ids))
	}
	return out
}

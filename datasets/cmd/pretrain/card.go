package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/gomlx/compute"
	"github.com/loralab/loralab/pkg/atomicfile"
	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/llama"
)

// samplePrompts are in-domain questions (the corpus's world) asked of the trained model.
var samplePrompts = []string{
	"你好！",
	"Hello! Who are you?",
	"北京今天天气怎么样？",
	"What colour is the sky?",
	"3 加 4 等于几？",
	"What is 5 plus 2?",
	"我喜欢吃苹果，你呢？",
	"Can you tell me about cats?",
}

type sample struct{ Prompt, Reply string }

// sampleGenerations answers samplePrompts greedily with the chat template's generation prompt.
func sampleGenerations(b compute.Backend, m *llama.Model, tok *tokenizerT, tmpl chat.Template) ([]sample, error) {
	r, err := llama.NewRunner(b, m, nil)
	if err != nil {
		return nil, err
	}
	var out []sample
	for _, p := range samplePrompts {
		conv := chat.Conversation{Messages: []chat.Message{{Role: chat.RoleUser, Content: p}}}
		ids, err := encodePrompt(tmpl, tok, conv)
		if err != nil {
			return nil, err
		}
		g, err := r.Generate(ids, llama.GenerateOptions{MaxNewTokens: 60, Decode: tok.Decode})
		if err != nil {
			return nil, err
		}
		reply := strings.TrimSuffix(g.Text, chat.TinyEnd)
		out = append(out, sample{p, reply})
		fmt.Printf("  %s\n  → %s\n", p, reply)
	}
	return out, nil
}

// encodePrompt renders conv with the generation prompt and encodes it.
func encodePrompt(tmpl chat.Template, tok encoder, conv chat.Conversation) ([]int, error) {
	segs, err := tmpl.Render(conv, true)
	if err != nil {
		return nil, err
	}
	var ids []int
	for _, s := range segs {
		if s.Kind == chat.Content {
			ids = append(ids, tok.Encode(s.Text)...)
		} else {
			ids = append(ids, tok.EncodeSpecial(s.Text)...)
		}
	}
	return ids, nil
}

// writeCard writes the model card README.md with the config, the run and sample answers.
func writeCard(o options, cfg *llama.Config, log []logRow, samples []sample, convs, epochs int) error {
	last := log[len(log)-1]
	var b strings.Builder
	fmt.Fprintf(&b, "# tiny_base — LoRA Lab's embedded base model\n\n")
	fmt.Fprintf(&b, "A small LlamaForCausalLM pretrained from scratch by `datasets/cmd/pretrain` on `%s` "+
		"(bilingual 中文/English chat corpus made by `datasets/cmd/gendata`), with a byte-level BPE tokenizer "+
		"trained by the same program. It is the default base model of the notebooks: small enough to fine-tune "+
		"with LoRA in minutes on 2 CPU cores, and it answers in-domain prompts, so LoRA has something to adapt.\n\n", o.data)
	fmt.Fprintf(&b, "Files: `config.json`, `model.safetensors` (float32, HF parameter names), `tokenizer.json`, "+
		"`tokenizer_config.json` (chat template `tiny`: `<|bos|><|user|>…<|end|><|assistant|>…<|end|>`), "+
		"`training_log.jsonl` (one line per step).\n\n")
	fmt.Fprintf(&b, "## Model\n\n| field | value |\n| --- | --- |\n")
	fmt.Fprintf(&b, "| architecture | LlamaForCausalLM |\n| parameters | %d |\n| vocab_size | %d |\n| hidden_size | %d |\n"+
		"| intermediate_size | %d |\n| num_hidden_layers | %d |\n| num_attention_heads | %d |\n| num_key_value_heads | %d |\n"+
		"| tie_word_embeddings | %v |\n\n",
		cfg.NumParams(), cfg.VocabSize, cfg.HiddenSize, cfg.IntermediateSize, cfg.NumHiddenLayers,
		cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.TieWordEmbeddings)
	fmt.Fprintf(&b, "## Training\n\n")
	fmt.Fprintf(&b, "Command: `go run ./datasets/cmd/pretrain -out %s -steps %d -batch %d -seq %d -lr %g -seed %d` "+
		"(the defaults). AdamW (wd %g, max_grad_norm 1), cosine_with_min_lr schedule (warmup %d, min_lr_rate %g), "+
		"GPT-style packed rows of %d tokens, all tokens supervised; %d conversations, %d pass(es) over them started.\n\n",
		o.out, o.steps, o.batch, o.seq, o.lr, o.seed, o.weightDecay, o.warmup, o.minLRRate, o.seq, convs, epochs)
	fmt.Fprintf(&b, "| step | lr | train loss | eval loss | tokens seen | tokens/s |\n| ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range log {
		if r.EvalLoss != 0 {
			fmt.Fprintf(&b, "| %d | %.2e | %.4f | %.4f | %d | %.0f |\n", r.Step, r.LR, r.Loss, r.EvalLoss, r.Tokens, r.TokensPS)
		}
	}
	fmt.Fprintf(&b, "\nWall time %.0f s on the machine that ran it (2-core x86-64, Go backend with SIMD).\n\n", last.ElapsedS)
	fmt.Fprintf(&b, "## Sample generations (greedy, max 60 new tokens)\n\n"+
		"Unedited. The model speaks the corpus's language fluently in both languages but is often wrong on "+
		"facts and arithmetic, and sometimes changes the subject: it is a base for the notebooks' LoRA "+
		"experiments, not an assistant.\n\n| prompt | reply |\n| --- | --- |\n")
	for _, s := range samples {
		fmt.Fprintf(&b, "| %s | %s |\n", mdCell(s.Prompt), mdCell(s.Reply))
	}
	fmt.Fprintf(&b, "\n## License\n\nApache-2.0, like the rest of LoRA Lab; the corpus is synthetic and made by the project.\n")
	return atomicfile.Write(filepath.Join(o.out, "README.md"), []byte(b.String()))
}

func mdCell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", "<br>").Replace(s)
}

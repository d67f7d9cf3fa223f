package lab

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"

	"github.com/gomlx/compute"
	"github.com/loralab/loralab/datasets"
	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/tokenizer"
)

// Base is a base model with its tokenizer and chat template.
type Base struct {
	*datasets.TinyBase
	// Name says which base it is in keys and messages: the folder, plus any variant.
	Name string
}

// Load loads the base model of a notebook: dir "" is the tiny base model embedded in the
// repository (datasets/tiny_base, template "tiny"); otherwise a local Hugging Face checkpoint
// folder (config.json, *.safetensors, tokenizer.json, tokenizer_config.json). Its chat template
// is the checkpoint's own (tokenizer_config.json's chat_template, or chat_template.jinja) when
// template is ""; a built-in name ("deepseek", "deepseek3", "llama3", "chatml", "llama2")
// overrides it, and a difference between the two is reported, since fine-tuning on another
// format than the model's quietly spoils the result.
func Load(dir, template string) *Base { return LoadWith(dir, template, llama.LoadOptions{}) }

// LoadWith is Load keeping the frozen base as opts say (from_pretrained's torch_dtype and
// quantization_config): float32 (4 bytes a parameter: 28 GB for a 7B model), bfloat16 or
// float16 (2 bytes: 14 GB), or the decoder's Linear weights in NF4 (about half a byte, plus the
// embeddings and lm_head in torch_dtype). LoRA weights and computation stay float32.
func LoadWith(dir, template string, opts llama.LoadOptions) *Base {
	variant := ""
	if opts != (llama.LoadOptions{}) {
		b, err := json.Marshal(opts)
		check(err, "load options")
		variant = " " + string(b)
	}
	if dir == "" {
		tb, err := datasets.LoadTinyBase()
		check(err, "loading the tiny base model")
		if variant != "" {
			tb.Model, err = llama.LoadModelWith(tb.Dir, opts)
			check(err, "loading the tiny base model")
		}
		return &Base{TinyBase: tb, Name: filepath.Base(tb.Dir) + variant}
	}
	tmpl, mismatch, err := chat.ForCheckpoint(dir, template)
	check(err, "%s: chat template", dir)
	if mismatch != nil {
		fmt.Printf("⚠ %s: template %q differs from the checkpoint's own: %v\n", dir, template, mismatch)
	}
	m, err := llama.LoadModelWith(dir, opts)
	check(err, "loading %s", dir)
	tok, err := tokenizer.Load(dir)
	check(err, "loading %s", dir)
	return &Base{TinyBase: &datasets.TinyBase{Dir: dir, Model: m, Tokenizer: tok, Template: tmpl}, Name: dir + variant}
}

// PadID is the id that pads batches: the tokenizer's pad token, else its end-of-sequence
// token (as HF's data collators do when tokenizer.pad_token is None), else 0.
func (b *Base) PadID() int32 {
	if p := b.Tokenizer.PadID(); p >= 0 {
		return int32(p)
	}
	if e := b.Tokenizer.EOSID(); e >= 0 {
		return int32(e)
	}
	return 0
}

// String describes the base in one line: folder, architecture, sizes and template.
func (b *Base) String() string {
	c := b.Model.Config
	return fmt.Sprintf("%s: %v, vocab %d, hidden %d, %d layers, %d heads, %.2fM parameters, template %q",
		b.Name, c.Architectures, c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads,
		float64(c.NumParams())/1e6, b.Template.Name)
}

// WithAttentionBias returns a copy of the base whose q/k/v/o projections carry bias vectors,
// all zero (as with attention_bias=true): it computes exactly what the base computes, but
// LoraConfig's bias="all" / "lora_only" now have biases to train.
func (b *Base) WithAttentionBias() *Base {
	c := *b.Model.Config
	c.AttentionBias = true
	m := &llama.Model{Config: &c, Weights: maps.Clone(b.Model.Weights)}
	for _, s := range c.ParamSpecs() {
		if _, ok := m.Weights[s.Name]; !ok {
			m.Weights[s.Name] = llama.NewFloat32Tensor(s.Shape...)
		}
	}
	tb := *b.TinyBase
	tb.Model = m
	return &Base{TinyBase: &tb, Name: b.Name + "+attention_bias"}
}

// Backend is the compute backend every lab function runs on (backend.Default: $GOMLX_BACKEND,
// else XLA when a PJRT plugin is installed, else the Go backend).
func Backend() compute.Backend {
	return Must(backend.Default())
}

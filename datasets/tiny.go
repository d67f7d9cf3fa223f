package datasets

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/mask"
	"github.com/loralab/loralab/pkg/tokenizer"
)

// TinyBaseName is the folder (under Dir) of the project's tiny pretrained base model, made by
// datasets/cmd/pretrain: a HF-format LlamaForCausalLM with its tokenizer and model card.
const TinyBaseName = "tiny_base"

// TinyBase is the embedded default base model: weights, tokenizer and chat template.
type TinyBase struct {
	Dir       string
	Model     *llama.Model
	Tokenizer *tokenizer.Tokenizer
	Template  chat.Template
}

// TinyBaseDir returns the folder of the tiny base model.
func TinyBaseDir() (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	d := filepath.Join(dir, TinyBaseName)
	if _, err := os.Stat(filepath.Join(d, "config.json")); err != nil {
		return "", fmt.Errorf("datasets: tiny base model: %w (made by `go run ./datasets/cmd/pretrain`)", err)
	}
	return d, nil
}

// LoadTinyBase loads the tiny base model, its tokenizer and its chat template ("tiny").
func LoadTinyBase() (*TinyBase, error) {
	dir, err := TinyBaseDir()
	if err != nil {
		return nil, err
	}
	return LoadBase(dir, "tiny")
}

// LoadBase loads a HF model folder (config.json, model.safetensors[.index.json],
// tokenizer.json, tokenizer_config.json) with the named chat template, e.g. a local copy of
// deepseek-llm-7b-chat with template "deepseek".
func LoadBase(dir, template string) (*TinyBase, error) {
	m, err := llama.LoadModel(dir)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return nil, err
	}
	tmpl, err := chat.Lookup(template)
	if err != nil {
		return nil, err
	}
	return &TinyBase{Dir: dir, Model: m, Tokenizer: tok, Template: tmpl}, nil
}

// Encode renders conv with the template (and the generation prompt when addGenerationPrompt)
// and returns its token ids: mask.EncodeConversation, the project's one render-then-encode
// (message text never becomes control tokens).
func (t *TinyBase) Encode(conv chat.Conversation, addGenerationPrompt bool) ([]int, error) {
	ids32, err := mask.EncodeConversation(conv, t.Template, t.Tokenizer, addGenerationPrompt)
	if err != nil {
		return nil, err
	}
	ids := make([]int, len(ids32))
	for i, id := range ids32 {
		ids[i] = int(id)
	}
	return ids, nil
}

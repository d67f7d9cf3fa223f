package llama

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// GenerationConfig is a checkpoint's generation_config.json: the defaults transformers'
// generate() uses for the model. Its eos_token_id decides where generation stops (Qwen3 and
// Llama 3.x instruct models list their end-of-turn tokens there, not only in config.json).
// Pointer fields are nil when the file leaves them out.
type GenerationConfig struct {
	BOSTokenID        TokenIDs `json:"bos_token_id"`
	EOSTokenID        TokenIDs `json:"eos_token_id"`
	PadTokenID        TokenIDs `json:"pad_token_id"`
	DoSample          bool     `json:"do_sample"`
	Temperature       *float64 `json:"temperature"`
	TopK              *int     `json:"top_k"`
	TopP              *float64 `json:"top_p"`
	RepetitionPenalty *float64 `json:"repetition_penalty"`
	MaxNewTokens      *int     `json:"max_new_tokens"`
}

// ParseGenerationConfig parses the content of a generation_config.json file.
func ParseGenerationConfig(data []byte) (*GenerationConfig, error) {
	var g GenerationConfig
	if err := json.Unmarshal(data, &g); err != nil {
		return nil, fmt.Errorf("generation_config.json: %w", err)
	}
	for _, f := range []struct {
		key string
		bad bool
	}{
		{"temperature", g.Temperature != nil && *g.Temperature < 0},
		{"top_k", g.TopK != nil && *g.TopK < 0},
		{"top_p", g.TopP != nil && (*g.TopP < 0 || *g.TopP > 1)},
		{"repetition_penalty", g.RepetitionPenalty != nil && *g.RepetitionPenalty <= 0},
		{"max_new_tokens", g.MaxNewTokens != nil && *g.MaxNewTokens <= 0},
	} {
		if f.bad {
			return nil, fmt.Errorf("generation_config.json: field %q is out of range", f.key)
		}
	}
	return &g, nil
}

// LoadGenerationConfig reads dir/generation_config.json; a checkpoint without one gives
// nil and no error.
func LoadGenerationConfig(dir string) (*GenerationConfig, error) {
	path := filepath.Join(dir, "generation_config.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	g, err := ParseGenerationConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// Options returns the decoding settings transformers would use with this file: sampling
// when do_sample is true, with its temperature, top_k (transformers' default 50 when the
// file has none), top_p and repetition_penalty; max_new_tokens when given; and the stop
// tokens eos_token_id. Other settings (Seed, StopStrings, Decode, OnToken) are the caller's.
func (g *GenerationConfig) Options() GenerateOptions {
	var o GenerateOptions
	if g == nil {
		return o
	}
	o.DoSample = g.DoSample
	if g.DoSample {
		o.Temperature, o.TopK, o.TopP = 1, 50, 1
		if g.Temperature != nil {
			o.Temperature = *g.Temperature
		}
		if g.TopK != nil {
			o.TopK = *g.TopK
		}
		if g.TopP != nil {
			o.TopP = *g.TopP
		}
	}
	if g.RepetitionPenalty != nil {
		o.RepetitionPenalty = *g.RepetitionPenalty
	}
	if g.MaxNewTokens != nil {
		o.MaxNewTokens = *g.MaxNewTokens
	}
	if len(g.EOSTokenID) > 0 {
		o.EOSTokenIDs = append([]int(nil), g.EOSTokenID...)
	}
	return o
}

// EOSTokenIDs are the tokens generation stops at, as in transformers: generation_config.json's
// eos_token_id when the checkpoint has one, else config.json's.
func (m *Model) EOSTokenIDs() []int {
	if m.Generation != nil && len(m.Generation.EOSTokenID) > 0 {
		return m.Generation.EOSTokenID
	}
	return m.Config.EOSTokenID
}

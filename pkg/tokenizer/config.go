package tokenizer

import (
	"encoding/json"
	"fmt"
	"math"
)

// Config is the part of a Hugging Face tokenizer_config.json that LoRA Lab uses.
//
// We parse the file ourselves: go-huggingface's api.ParseConfigFile expects bos_token and
// friends to be strings and rejects DeepSeek-V3's file, where they are AddedToken objects
// ({"__type": "AddedToken", "content": "<｜begin▁of▁sentence｜>", ...}). Both forms are read here.
type Config struct {
	TokenizerClass string
	BOSToken       string // "" when absent or null
	EOSToken       string
	PadToken       string
	UnkToken       string
	AddBOSToken    bool
	AddEOSToken    bool
	// ChatTemplate is the Jinja chat template; when the file holds a list of named templates,
	// the one named "default" (else the first).
	ChatTemplate   string
	ModelMaxLength int64 // 0 when absent; huge sentinel values are clamped to math.MaxInt64
}

// ParseConfig parses the content of a tokenizer_config.json file.
func ParseConfig(content []byte) (Config, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(content, &raw); err != nil {
		return Config{}, fmt.Errorf("tokenizer_config.json: %w", err)
	}
	var c Config
	var err error
	// field returns the raw value of key when it is present, not null, and no earlier field failed.
	field := func(key string) (json.RawMessage, bool) {
		v, ok := raw[key]
		return v, err == nil && ok && string(v) != "null"
	}
	plain := func(key string, dst any) { // a string or a bool
		if v, ok := field(key); ok {
			if e := json.Unmarshal(v, dst); e != nil {
				err = fmt.Errorf("tokenizer_config.json: field %q: %w", key, e)
			}
		}
	}
	tok := func(key string, dst *string) { // a string or an AddedToken object
		v, ok := field(key)
		if !ok || json.Unmarshal(v, dst) == nil {
			return
		}
		var obj struct {
			Content *string `json:"content"`
		}
		if e := json.Unmarshal(v, &obj); e != nil || obj.Content == nil {
			err = fmt.Errorf("tokenizer_config.json: field %q is neither a string nor an AddedToken object", key)
			return
		}
		*dst = *obj.Content
	}
	plain("tokenizer_class", &c.TokenizerClass)
	tok("bos_token", &c.BOSToken)
	tok("eos_token", &c.EOSToken)
	tok("pad_token", &c.PadToken)
	tok("unk_token", &c.UnkToken)
	plain("add_bos_token", &c.AddBOSToken)
	plain("add_eos_token", &c.AddEOSToken)
	if err != nil {
		return Config{}, err
	}
	if v, ok := raw["chat_template"]; ok && string(v) != "null" {
		if json.Unmarshal(v, &c.ChatTemplate) != nil {
			var named []struct {
				Name     string `json:"name"`
				Template string `json:"template"`
			}
			if e := json.Unmarshal(v, &named); e != nil {
				return Config{}, fmt.Errorf("tokenizer_config.json: field \"chat_template\" is neither a string nor a list of named templates: %w", e)
			}
			for i, t := range named {
				if t.Name == "default" || i == 0 {
					c.ChatTemplate = t.Template
				}
			}
		}
	}
	if v, ok := raw["model_max_length"]; ok && string(v) != "null" {
		var f float64
		if e := json.Unmarshal(v, &f); e != nil {
			return Config{}, fmt.Errorf("tokenizer_config.json: field \"model_max_length\": %w", e)
		}
		switch {
		case f >= math.MaxInt64:
			c.ModelMaxLength = math.MaxInt64
		case f > 0:
			c.ModelMaxLength = int64(f)
		}
	}
	return c, nil
}

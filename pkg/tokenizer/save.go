package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/loralab/loralab/pkg/atomicfile"
)

// SetChatTemplate sets the Jinja chat template written to tokenizer_config.json by Save.
func (t *Tokenizer) SetChatTemplate(tmpl string) { t.cfg.ChatTemplate = tmpl }

// SetSpecialTokens names the BOS, EOS and padding tokens ("" for none; pad "" means EOS).
// Each must be an added token.
func (t *Tokenizer) SetSpecialTokens(bos, eos, pad string) error {
	ids := [3]int{-1, -1, -1}
	for i, name := range []string{bos, eos, pad} {
		if name == "" {
			continue
		}
		id, ok := t.addedID[name]
		if !ok {
			return fmt.Errorf("tokenizer: %q is not an added token", name)
		}
		ids[i] = id
	}
	t.cfg.BOSToken, t.cfg.EOSToken, t.cfg.PadToken = bos, eos, pad
	t.bosID, t.eosID, t.padID = ids[0], ids[1], ids[2]
	if t.padID < 0 {
		t.padID = t.eosID
	}
	return nil
}

// Save writes tokenizer.json (as loaded or trained) and a tokenizer_config.json holding the
// fields of Config and the added tokens into dir, creating it if needed. Each file is written
// to a temporary file in dir and renamed into place, so readers never see a partial file.
func (t *Tokenizer) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("tokenizer: save: %w", err)
	}
	cfg, err := t.configJSON()
	if err != nil {
		return fmt.Errorf("tokenizer: save: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"tokenizer.json", t.tokenizerJSON}, {"tokenizer_config.json", cfg}} {
		if err := atomicfile.Write(filepath.Join(dir, f.name), f.data); err != nil {
			return fmt.Errorf("tokenizer: save: %w", err)
		}
	}
	return nil
}

// configJSON renders tokenizer_config.json with keys in a fixed order.
func (t *Tokenizer) configJSON() ([]byte, error) {
	var b bytes.Buffer
	val := func(v any) {
		var sb bytes.Buffer
		enc := json.NewEncoder(&sb)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v)
		b.Write(bytes.TrimRight(sb.Bytes(), "\n"))
	}
	tok := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	b.WriteString("{\n")
	field := func(k string, v any) {
		b.WriteString("  ")
		val(k)
		b.WriteString(": ")
		val(v)
		b.WriteString(",\n")
	}
	field("add_bos_token", t.cfg.AddBOSToken)
	field("add_eos_token", t.cfg.AddEOSToken)
	b.WriteString("  \"added_tokens_decoder\": {")
	for i, at := range t.added {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n    ")
		val(strconv.Itoa(at.ID))
		b.WriteString(": {\"content\": ")
		val(at.Content)
		fmt.Fprintf(&b, ", \"lstrip\": %t, \"normalized\": %t, \"rstrip\": %t, \"single_word\": %t, \"special\": %t}",
			at.Lstrip, at.Normalized, at.Rstrip, at.SingleWord, at.Special)
	}
	b.WriteString("\n  },\n")
	field("bos_token", tok(t.cfg.BOSToken))
	field("chat_template", tok(t.cfg.ChatTemplate))
	field("clean_up_tokenization_spaces", false)
	field("eos_token", tok(t.cfg.EOSToken))
	if t.cfg.ModelMaxLength > 0 {
		field("model_max_length", t.cfg.ModelMaxLength)
	}
	field("pad_token", tok(t.cfg.PadToken))
	field("unk_token", tok(t.cfg.UnkToken))
	b.WriteString("  \"tokenizer_class\": ")
	class := t.cfg.TokenizerClass
	if class == "" {
		class = "PreTrainedTokenizerFast"
	}
	val(class)
	b.WriteString("\n}\n")
	if !json.Valid(b.Bytes()) {
		return nil, fmt.Errorf("generated tokenizer_config.json is not valid JSON")
	}
	return b.Bytes(), nil
}

package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// AddedToken is an entry of tokenizer.json's added_tokens.
type AddedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	Lstrip     bool   `json:"lstrip"`
	Rstrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// fileJSON is the part of tokenizer.json we read. Every field that changes how text is
// encoded is checked by FromJSON: a value we do not implement is a load error, never ignored.
type fileJSON struct {
	Truncation    json.RawMessage `json:"truncation"`
	Padding       json.RawMessage `json:"padding"`
	AddedTokens   []AddedToken    `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	Decoder       json.RawMessage `json:"decoder"`
	PostProcessor json.RawMessage `json:"post_processor"` // adds BOS/EOS; Encode never does
	Model         modelJSON       `json:"model"`
}

// modelJSON is tokenizer.json's "model" object.
type modelJSON struct {
	Type                    string          `json:"type"`
	Vocab                   json.RawMessage `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
	UnkToken                *string         `json:"unk_token"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	FuseUnk                 bool            `json:"fuse_unk"`
	ByteFallback            bool            `json:"byte_fallback"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	Dropout                 *float64        `json:"dropout"`
}

func isNull(raw json.RawMessage) bool {
	s := string(bytes.TrimSpace(raw))
	return s == "" || s == "null"
}

// checkFile refuses the tokenizer.json features this package does not implement.
func (f *fileJSON) check() error {
	if !isNull(f.Truncation) {
		return fmt.Errorf("tokenizer.json: \"truncation\" is set; truncation inside the tokenizer is not supported (set it to null and truncate the ids instead)")
	}
	if !isNull(f.Padding) {
		return fmt.Errorf("tokenizer.json: \"padding\" is set; padding inside the tokenizer is not supported (set it to null)")
	}
	m := &f.Model
	if m.Type != "" && m.Type != "BPE" {
		return fmt.Errorf("tokenizer.json: model.type %q is not supported (only BPE models are)", m.Type)
	}
	if m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "" {
		return fmt.Errorf("tokenizer.json: model.continuing_subword_prefix %q is not supported", *m.ContinuingSubwordPrefix)
	}
	if m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "" {
		return fmt.Errorf("tokenizer.json: model.end_of_word_suffix %q is not supported", *m.EndOfWordSuffix)
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return fmt.Errorf("tokenizer.json: model.dropout %g is not supported (BPE dropout makes encoding random)", *m.Dropout)
	}
	for i, at := range f.AddedTokens {
		switch {
		case at.ID < 0 || at.Content == "":
			return fmt.Errorf("tokenizer.json: added_tokens[%d]: bad id %d or empty content", i, at.ID)
		case at.SingleWord:
			return fmt.Errorf("tokenizer.json: added_tokens[%d] (%q): single_word is not supported", i, at.Content)
		}
	}
	return nil
}

// parseVocab reads model.vocab: an object token -> id.
func parseVocab(raw json.RawMessage) (map[string]int, error) {
	if isNull(raw) {
		return nil, fmt.Errorf("tokenizer.json: model.vocab is missing")
	}
	var v map[string]int
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("tokenizer.json: model.vocab: %w", err)
	}
	return v, nil
}

// parseMerges reads model.merges in either form: "a b" strings (tokenizers < 0.20) or
// ["a", "b"] pairs (which allow spaces inside tokens).
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	// The first element tells the form (both fast paths decode the list in one call).
	body := bytes.TrimLeft(bytes.TrimPrefix(bytes.TrimSpace(raw), []byte("[")), " \t\r\n")
	var pairs [][]string
	if len(body) > 0 && body[0] == '[' && json.Unmarshal(raw, &pairs) == nil {
		out := make([][2]string, len(pairs))
		for i, p := range pairs {
			if len(p) != 2 {
				return nil, fmt.Errorf("tokenizer.json: model.merges[%d] has %d tokens, want 2", i, len(p))
			}
			out[i] = [2]string{p[0], p[1]}
		}
		return out, nil
	}
	var strs []string
	if len(body) > 0 && body[0] == '"' && json.Unmarshal(raw, &strs) == nil {
		out := make([][2]string, len(strs))
		var err error
		for i, s := range strs {
			if out[i], err = splitMerge(i, s); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	var elems []json.RawMessage // a mix of both forms
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, fmt.Errorf("tokenizer.json: model.merges is not a list: %w", err)
	}
	out := make([][2]string, len(elems))
	for i, r := range elems {
		var s string
		if err := json.Unmarshal(r, &s); err == nil {
			if out[i], err = splitMerge(i, s); err != nil {
				return nil, err
			}
			continue
		}
		var p []string
		if err := json.Unmarshal(r, &p); err != nil || len(p) != 2 {
			return nil, fmt.Errorf("tokenizer.json: model.merges[%d] is neither \"a b\" nor a pair of strings", i)
		}
		out[i] = [2]string{p[0], p[1]}
	}
	return out, nil
}

// splitMerge splits merge i of the "a b" form.
func splitMerge(i int, s string) ([2]string, error) {
	a, b, ok := strings.Cut(s, " ")
	if !ok || strings.Contains(b, " ") {
		return [2]string{}, fmt.Errorf("tokenizer.json: model.merges[%d] = %q is not two tokens separated by one space", i, s)
	}
	return [2]string{a, b}, nil
}

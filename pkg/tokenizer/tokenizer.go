// Package tokenizer loads Hugging Face tokenizers (tokenizer.json + tokenizer_config.json),
// encodes message text with special tokens kept out of it, and trains small byte-level BPE
// tokenizers that Hugging Face and transformers.js load back.
//
// Two encoders, on purpose:
//
//   - Encode is for message content. It never matches added tokens: text such as
//     "<｜end▁of▁sentence｜>" or "<|im_end|>" written by a user is split into ordinary
//     pieces, so it can never end a turn, start one, or move a label.
//   - EncodeSpecial is for template scaffolding ("<｜User｜>", "<|im_start|>assistant\n"):
//     added tokens found in the text become their ids, the rest is encoded as by Encode.
//
// Byte-level BPE tokenizers (GPT-2, Llama 3, Qwen, DeepSeek) run on a native engine: the
// tokenizer.json is parsed with go-huggingface's hftokenizer types, pre-tokenizer regexes
// run on Go's regexp with the one lookahead these tokenizers use implemented by hand (see
// lookaheadIdiom), and merges run on ids with a cache. Other models (SentencePiece-style
// Metaspace, WordPiece, Unigram) are delegated to go-huggingface's hftokenizer, without
// parity claims.
package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gomlx/go-huggingface/tokenizers/api"
	"github.com/gomlx/go-huggingface/tokenizers/hftokenizer"
	"golang.org/x/text/unicode/norm"
)

// AddedToken is an entry of tokenizer.json's added_tokens.
type AddedToken = hftokenizer.AddedToken

// Tokenizer encodes text to token ids and back. It is safe for concurrent use.
type Tokenizer struct {
	cfg Config

	tokens  []string       // id -> token string (byte-level form for model tokens); "" for holes
	vocab   map[string]int // model vocabulary (not added tokens)
	added   []AddedToken
	addedID map[string]int
	isAdded []bool // by id

	// byte-level native engine
	pre     preTokenizer
	bpe     *bpeModel
	normNFC bool

	// other models
	hf        *hftokenizer.Tokenizer // all added tokens matched
	hfContent *hftokenizer.Tokenizer // no added tokens

	addedByFirstByte map[byte][]int // index into added, longest first
	hasStrip         bool           // some added token has lstrip or rstrip

	bosID, eosID, padID, unkID int

	tokenizerJSON []byte // as loaded or generated, for Save
}

// Load reads dir/tokenizer.json and, if present, dir/tokenizer_config.json.
func Load(dir string) (*Tokenizer, error) {
	tj, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, fmt.Errorf("tokenizer: load %s: %w", dir, err)
	}
	cj, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("tokenizer: load %s: %w", dir, err)
		}
		cj = nil
	}
	t, err := FromJSON(tj, cj)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: load %s: %w", dir, err)
	}
	return t, nil
}

// fileJSON is tokenizer.json, with go-huggingface's types for the model and added tokens.
type fileJSON struct {
	AddedTokens   []AddedToken      `json:"added_tokens"`
	Normalizer    json.RawMessage   `json:"normalizer"`
	PreTokenizer  json.RawMessage   `json:"pre_tokenizer"`
	Decoder       json.RawMessage   `json:"decoder"`
	PostProcessor json.RawMessage   `json:"post_processor"`
	Model         hftokenizer.Model `json:"model"`
}

// FromJSON builds a tokenizer from the contents of tokenizer.json and tokenizer_config.json
// (configJSON may be nil).
func FromJSON(tokenizerJSON, configJSON []byte) (*Tokenizer, error) {
	var f fileJSON
	if err := json.Unmarshal(tokenizerJSON, &f); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	t := &Tokenizer{tokenizerJSON: tokenizerJSON, vocab: f.Model.Vocab, added: f.AddedTokens,
		addedID: make(map[string]int), bosID: -1, eosID: -1, padID: -1, unkID: -1}
	if configJSON != nil {
		c, err := ParseConfig(configJSON)
		if err != nil {
			return nil, err
		}
		t.cfg = c
	}
	maxID := -1
	for tok, id := range f.Model.Vocab {
		if id < 0 {
			return nil, fmt.Errorf("tokenizer.json: model.vocab[%q] has negative id %d", tok, id)
		}
		maxID = max(maxID, id)
	}
	for i, at := range f.AddedTokens {
		if at.ID < 0 || at.Content == "" {
			return nil, fmt.Errorf("tokenizer.json: added_tokens[%d]: bad id %d or empty content", i, at.ID)
		}
		maxID = max(maxID, at.ID)
	}
	if maxID > 1<<24 {
		return nil, fmt.Errorf("tokenizer.json: token id %d is implausibly large", maxID)
	}
	t.tokens = make([]string, maxID+1)
	t.isAdded = make([]bool, maxID+1)
	for tok, id := range f.Model.Vocab {
		t.tokens[id] = tok
	}
	t.addedByFirstByte = make(map[byte][]int)
	for i, at := range f.AddedTokens {
		t.tokens[at.ID] = at.Content
		t.isAdded[at.ID] = true
		t.addedID[at.Content] = at.ID
		t.addedByFirstByte[at.Content[0]] = append(t.addedByFirstByte[at.Content[0]], i)
		t.hasStrip = t.hasStrip || at.Lstrip || at.Rstrip
	}
	for _, idx := range t.addedByFirstByte {
		sort.SliceStable(idx, func(a, b int) bool {
			return len(t.added[idx[a]].Content) > len(t.added[idx[b]].Content)
		})
	}

	err := t.buildNative(&f)
	if errors.Is(err, errNotByteLevel) {
		err = t.buildFallback(tokenizerJSON)
	}
	if err != nil {
		return nil, err
	}

	if f.Model.UnkToken != "" {
		if id, ok := t.TokenID(f.Model.UnkToken); ok {
			t.unkID = id
		}
	}
	for _, s := range []struct {
		name string
		dst  *int
	}{{t.cfg.BOSToken, &t.bosID}, {t.cfg.EOSToken, &t.eosID}, {t.cfg.PadToken, &t.padID}, {t.cfg.UnkToken, &t.unkID}} {
		if s.name == "" {
			continue
		}
		id, ok := t.TokenID(s.name)
		if !ok {
			return nil, fmt.Errorf("tokenizer_config.json: special token %q is not in the vocabulary", s.name)
		}
		*s.dst = id
	}
	if t.padID < 0 {
		t.padID = t.eosID // what transformers.js and most training code do without a pad token
	}
	return t, nil
}

// buildNative sets up the byte-level engine, or returns errNotByteLevel.
func (t *Tokenizer) buildNative(f *fileJSON) error {
	if f.Model.Type != "" && f.Model.Type != "BPE" {
		return fmt.Errorf("model type %q: %w", f.Model.Type, errNotByteLevel)
	}
	if f.Model.ContinuingSubwordPrefix != "" || f.Model.EndOfWordSuffix != "" || f.Model.ByteFallback {
		return fmt.Errorf("BPE options: %w", errNotByteLevel)
	}
	switch norm := strings.TrimSpace(string(f.Normalizer)); {
	case norm == "" || norm == "null":
	default:
		var n struct {
			Type        string            `json:"type"`
			Normalizers []json.RawMessage `json:"normalizers"`
		}
		if err := json.Unmarshal(f.Normalizer, &n); err != nil {
			return fmt.Errorf("tokenizer.json: normalizer: %w", err)
		}
		switch {
		case n.Type == "Sequence" && len(n.Normalizers) == 0:
		case n.Type == "NFC":
			t.normNFC = true
		default:
			return fmt.Errorf("normalizer %s: %w", norm, errNotByteLevel)
		}
	}
	pre, byteLevel, err := buildPreTokenizer(f.PreTokenizer)
	if err != nil {
		return err
	}
	if !byteLevel {
		return fmt.Errorf("no ByteLevel step: %w", errNotByteLevel)
	}
	t.pre = pre
	m := &bpeModel{merges: make(map[uint64]mergeVal, len(f.Model.Merges)), cache: make(map[string][]int32)}
	for b := 0; b < 256; b++ {
		id, ok := f.Model.Vocab[string(byteToRune[b])]
		if !ok {
			return fmt.Errorf("tokenizer.json: byte-level vocabulary lacks the symbol for byte 0x%02X", b)
		}
		m.byteID[b] = int32(id)
	}
	for rank, mg := range f.Model.Merges {
		a, b, ok := strings.Cut(mg, " ")
		if !ok {
			return fmt.Errorf("tokenizer.json: model.merges[%d] = %q is not a pair", rank, mg)
		}
		ia, okA := f.Model.Vocab[a]
		ib, okB := f.Model.Vocab[b]
		ic, okC := f.Model.Vocab[a+b]
		if !okA || !okB || !okC {
			return fmt.Errorf("tokenizer.json: model.merges[%d] = %q uses tokens missing from the vocabulary", rank, mg)
		}
		k := pairKey(int32(ia), int32(ib))
		if _, dup := m.merges[k]; !dup {
			m.merges[k] = mergeVal{rank: int32(rank), id: int32(ic)}
		}
	}
	t.bpe = m
	return nil
}

// buildFallback delegates encoding to go-huggingface for models the native engine skips.
func (t *Tokenizer) buildFallback(tokenizerJSON []byte) error {
	hf, err := hftokenizer.NewFromContent(nil, tokenizerJSON)
	if err != nil {
		return fmt.Errorf("tokenizer.json: %w", err)
	}
	_ = hf.With(api.EncodeOptions{AddSpecialTokens: false})
	// Same file without added tokens: content text must not match them.
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(tokenizerJSON, &doc); err != nil {
		return fmt.Errorf("tokenizer.json: %w", err)
	}
	doc["added_tokens"] = json.RawMessage("[]")
	stripped, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("tokenizer.json: %w", err)
	}
	hfc, err := hftokenizer.NewFromContent(nil, stripped)
	if err != nil {
		return fmt.Errorf("tokenizer.json: %w", err)
	}
	_ = hfc.With(api.EncodeOptions{AddSpecialTokens: false})
	t.hf, t.hfContent = hf, hfc
	return nil
}

// Encode encodes message content. Added tokens are never matched (special-token text is
// encoded as ordinary text) and no BOS/EOS is added. For byte-level models the result is
// guaranteed to contain no added-token id.
func (t *Tokenizer) Encode(text string) []int {
	return t.appendContent(nil, text)
}

func (t *Tokenizer) appendContent(out []int, text string) []int {
	if text == "" {
		return out
	}
	if t.bpe == nil {
		return append(out, t.hfContent.Encode(text)...)
	}
	if t.normNFC {
		text = nfc(text)
	}
	var words [16]string
	for _, w := range t.pre.split(text, words[:0]) {
		out = t.appendWord(out, w)
	}
	return out
}

// appendWord BPE-encodes one pre-tokenized word.
func (t *Tokenizer) appendWord(out []int, w string) []int {
	n := len(out)
	out = t.bpe.encodeWord(w, out)
	for _, id := range out[n:] {
		if id < len(t.isAdded) && t.isAdded[id] {
			// A merge chain produced a control token (possible when, as in DeepSeek-V3,
			// "<｜end▁of▁sentence｜>" is also a model-vocabulary entry). Spell the word
			// in single bytes instead: never a control token, and still decodes to w.
			out = out[:n]
			for i := 0; i < len(w); i++ {
				out = append(out, int(t.bpe.byteID[w[i]]))
			}
			break
		}
	}
	return out
}

// EncodeSpecial encodes template scaffolding: every added token (special or not) that occurs
// in text becomes its id; the text between them is encoded as by Encode.
func (t *Tokenizer) EncodeSpecial(text string) []int {
	if t.bpe == nil {
		return t.hf.Encode(text)
	}
	var out []int
	start := 0 // start of pending plain text
	rstrip := false
	for i := 0; i < len(text); {
		cands := t.addedByFirstByte[text[i]]
		matched := -1
		for _, ai := range cands {
			if strings.HasPrefix(text[i:], t.added[ai].Content) {
				matched = ai
				break
			}
		}
		if matched < 0 {
			i++
			continue
		}
		at := t.added[matched]
		plain := text[start:i]
		if rstrip {
			plain = strings.TrimLeft(plain, " \t\n\r")
		}
		if at.Lstrip {
			plain = strings.TrimRight(plain, " \t\n\r")
		}
		out = t.appendContent(out, plain)
		out = append(out, at.ID)
		rstrip = at.Rstrip
		i += len(at.Content)
		start = i
	}
	plain := text[start:]
	if rstrip {
		plain = strings.TrimLeft(plain, " \t\n\r")
	}
	return t.appendContent(out, plain)
}

// Decode turns ids back into text. Added tokens decode to their content; ids outside the
// vocabulary are skipped. Decode(Encode(s)) == s for every valid UTF-8 s with byte-level models.
func (t *Tokenizer) Decode(ids []int) string {
	if t.bpe == nil {
		return t.hf.Decode(ids)
	}
	var b bytes.Buffer
	for _, id := range ids {
		if id < 0 || id >= len(t.tokens) {
			continue
		}
		tok := t.tokens[id]
		if t.isAdded[id] {
			b.WriteString(tok)
			continue
		}
		for _, r := range tok {
			if c, ok := runeToByte[r]; ok {
				b.WriteByte(c)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// TokenID returns the id of an added token or of a vocabulary entry written in the model's
// own alphabet (for byte-level models, "Ġthe" for " the").
func (t *Tokenizer) TokenID(token string) (int, bool) {
	if id, ok := t.addedID[token]; ok {
		return id, true
	}
	id, ok := t.vocab[token]
	return id, ok
}

// Token returns the string of id ("" if unknown): the model's alphabet for vocabulary
// entries, the content for added tokens.
func (t *Tokenizer) Token(id int) string {
	if id < 0 || id >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// IsAdded reports whether id is an added token (a control token such as BOS, EOS, role
// markers): ids Encode never produces for byte-level models.
func (t *Tokenizer) IsAdded(id int) bool { return id >= 0 && id < len(t.isAdded) && t.isAdded[id] }

// AddedTokens returns a copy of the added tokens.
func (t *Tokenizer) AddedTokens() []AddedToken { return append([]AddedToken(nil), t.added...) }

// VocabSize is the number of ids (largest id + 1), counting added tokens — len(tokenizer) in
// transformers, and the embedding rows a model needs at least.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// BOSID, EOSID, PadID and UnkID return the ids of the tokens named in tokenizer_config.json,
// or -1. PadID falls back to EOSID when no pad token is named.
func (t *Tokenizer) BOSID() int { return t.bosID }

// EOSID returns the end-of-sequence id or -1.
func (t *Tokenizer) EOSID() int { return t.eosID }

// PadID returns the padding id (the EOS id when no pad token is named) or -1.
func (t *Tokenizer) PadID() int { return t.padID }

// UnkID returns the unknown-token id or -1.
func (t *Tokenizer) UnkID() int { return t.unkID }

// Config returns the parsed tokenizer_config.json (zero Config when there was none).
func (t *Tokenizer) Config() Config { return t.cfg }

// ByteLevel reports whether the native byte-level engine is used.
func (t *Tokenizer) ByteLevel() bool { return t.bpe != nil }

func nfc(s string) string {
	if norm.NFC.IsNormalString(s) {
		return s
	}
	return norm.NFC.String(s)
}

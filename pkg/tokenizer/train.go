package tokenizer

import (
	"bytes"
	"container/heap"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"
)

// TrainOptions tune Train.
type TrainOptions struct {
	// VocabSize is the target number of ids, special tokens and the 256 byte symbols included.
	VocabSize int
	// SpecialTokens get ids 0, 1, 2, … and are registered as special added tokens: Encode
	// never produces them, EncodeSpecial matches them. In the training texts they are cut out
	// before counting, so no merge is learned across them.
	SpecialTokens []string
	// MinFrequency stops training when the most frequent pair occurs fewer times (default 2),
	// so the vocabulary may end up smaller than VocabSize on a small corpus.
	MinFrequency int
	// BOSToken, EOSToken and PadToken name special tokens for tokenizer_config.json. By
	// default BOS is SpecialTokens[0], EOS is SpecialTokens[1] and pad is EOS.
	BOSToken, EOSToken, PadToken string
	// ChatTemplate is written to tokenizer_config.json.
	ChatTemplate string
	// ModelMaxLength is written to tokenizer_config.json (default 2048).
	ModelMaxLength int
}

// TrainBPE trains a byte-level BPE tokenizer on texts; see Train.
func TrainBPE(texts []string, vocabSize int, specialTokens []string) (*Tokenizer, error) {
	return Train(slices.Values(texts), TrainOptions{VocabSize: vocabSize, SpecialTokens: specialTokens})
}

// trainPreTokenizer is DeepSeek-V3's pre-tokenizer: numbers in groups of up to three digits,
// runs of CJK / kana apart from everything else, then words, punctuation and whitespace runs.
// Both Hugging Face tokenizers and transformers.js implement it.
const trainPreTokenizer = `{"type":"Sequence","pretokenizers":[` +
	`{"type":"Split","pattern":{"Regex":"\\p{N}{1,3}"},"behavior":"Isolated","invert":false},` +
	`{"type":"Split","pattern":{"Regex":"[一-龥぀-ゟ゠-ヿ]+"},"behavior":"Isolated","invert":false},` +
	`{"type":"Split","pattern":{"Regex":"[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_` + "`" + `{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"},"behavior":"Isolated","invert":false},` +
	`{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]}`

const (
	byteLevelPostProcessor = `{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true}`
	byteLevelDecoder       = `{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}`
)

// Train learns a byte-level BPE vocabulary from texts: every text is pre-tokenized into words
// (DeepSeek-V3's pre-tokenizer), and the most frequent adjacent pair of symbols is merged
// repeatedly (ties: the pair with the smaller ids) until VocabSize ids exist. All 256 bytes
// are in the vocabulary, so any text — Chinese included — encodes. The result is an ordinary
// Tokenizer; Save writes HF-compatible tokenizer.json and tokenizer_config.json.
func Train(texts iter.Seq[string], o TrainOptions) (*Tokenizer, error) {
	if o.MinFrequency <= 0 {
		o.MinFrequency = 2
	}
	if o.ModelMaxLength <= 0 {
		o.ModelMaxLength = 2048
	}
	nSpecial := len(o.SpecialTokens)
	if o.VocabSize < nSpecial+256 {
		return nil, fmt.Errorf("tokenizer: train: vocab size %d is below %d special tokens + 256 bytes", o.VocabSize, nSpecial)
	}
	isSpecial := map[string]bool{}
	for i, s := range o.SpecialTokens {
		if s == "" || isSpecial[s] {
			return nil, fmt.Errorf("tokenizer: train: special token %d (%q) is empty or repeated", i, s)
		}
		isSpecial[s] = true
	}
	if o.BOSToken == "" && nSpecial > 0 {
		o.BOSToken = o.SpecialTokens[0]
	}
	if o.EOSToken == "" && nSpecial > 1 {
		o.EOSToken = o.SpecialTokens[1]
	}
	if o.PadToken == "" {
		o.PadToken = o.EOSToken
	}
	for _, n := range []string{o.BOSToken, o.EOSToken, o.PadToken} {
		if n != "" && !isSpecial[n] {
			return nil, fmt.Errorf("tokenizer: train: %q is not among the special tokens", n)
		}
	}
	pre, _, err := buildPreTokenizer(json.RawMessage(trainPreTokenizer))
	if err != nil {
		return nil, fmt.Errorf("tokenizer: train: %w", err)
	}

	// 1. Count words.
	counts := map[string]int64{}
	var words []string
	for text := range texts {
		for _, piece := range splitOut(text, o.SpecialTokens) {
			words = pre.split(piece, words[:0])
			for _, w := range words {
				counts[w]++
			}
		}
	}

	// 2. Initial vocabulary: special tokens (added tokens only), then the 256 byte symbols.
	tokStr := make([]string, 0, o.VocabSize)
	for _, s := range o.SpecialTokens {
		tokStr = append(tokStr, s)
	}
	vocab := map[string]int32{}
	for b := 0; b < 256; b++ {
		s := string(byteToRune[b])
		vocab[s] = int32(len(tokStr))
		tokStr = append(tokStr, s)
	}
	tr := &trainer{pairCount: map[uint64]int64{}, where: map[uint64][]int32{}}
	keys := make([]string, 0, len(counts))
	for w := range counts {
		keys = append(keys, w)
	}
	slices.Sort(keys) // deterministic word order
	for _, w := range keys {
		syms := make([]int32, len(w))
		for i := 0; i < len(w); i++ {
			syms[i] = vocab[string(byteToRune[w[i]])]
		}
		tr.words = append(tr.words, trainWord{syms: syms, count: counts[w]})
	}
	counts, keys = nil, nil
	for wi, w := range tr.words {
		for i := 0; i+1 < len(w.syms); i++ {
			k := pairKey(w.syms[i], w.syms[i+1])
			tr.pairCount[k] += w.count
			tr.where[k] = append(tr.where[k], int32(wi))
		}
	}
	for k, c := range tr.pairCount {
		tr.heap = append(tr.heap, pairEntry{key: k, count: c})
	}
	heap.Init(&tr.heap)

	// 3. Merge.
	var merges [][2]int32
	stamp := make([]int32, len(tr.words))
	for len(tokStr) < o.VocabSize && tr.heap.Len() > 0 {
		top := heap.Pop(&tr.heap).(pairEntry)
		cur := tr.pairCount[top.key]
		if cur != top.count {
			if cur > 0 {
				heap.Push(&tr.heap, pairEntry{key: top.key, count: cur})
			}
			continue
		}
		if cur < int64(o.MinFrequency) {
			break
		}
		a, b := int32(top.key>>32), int32(uint32(top.key))
		s := tokStr[a] + tokStr[b]
		if isSpecial[s] { // never learn a token spelled like a control token
			tr.pairCount[top.key] = 0
			continue
		}
		id, ok := vocab[s]
		if !ok {
			id = int32(len(tokStr))
			vocab[s] = id
			tokStr = append(tokStr, s)
		}
		merges = append(merges, [2]int32{a, b})
		step := int32(len(merges))
		tr.touched = tr.touched[:0]
		for _, wi := range tr.where[top.key] {
			if stamp[wi] == step {
				continue
			}
			stamp[wi] = step
			tr.mergeWord(wi, a, b, id)
		}
		delete(tr.where, top.key)
		tr.pairCount[top.key] = 0
		for _, k := range tr.touched {
			if c := tr.pairCount[k]; c > 0 {
				heap.Push(&tr.heap, pairEntry{key: k, count: c})
			}
		}
	}

	// 4. Write tokenizer.json and load it back through the normal path.
	tj, err := marshalTokenizerJSON(o.SpecialTokens, tokStr, merges)
	if err != nil {
		return nil, err
	}
	t, err := FromJSON(tj, nil)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: train: reloading the trained tokenizer: %w", err)
	}
	t.cfg = Config{TokenizerClass: "PreTrainedTokenizerFast", ChatTemplate: o.ChatTemplate, ModelMaxLength: int64(o.ModelMaxLength)}
	if err := t.SetSpecialTokens(o.BOSToken, o.EOSToken, o.PadToken); err != nil {
		return nil, err
	}
	return t, nil
}

// splitOut returns the pieces of text between occurrences of the special tokens.
func splitOut(text string, specials []string) []string {
	pieces := []string{text}
	for _, sp := range specials {
		if !strings.Contains(text, sp) {
			continue
		}
		var next []string
		for _, p := range pieces {
			next = append(next, strings.Split(p, sp)...)
		}
		pieces = next
	}
	return pieces
}

type trainWord struct {
	syms  []int32
	count int64
}

type pairEntry struct {
	key   uint64
	count int64
}

// pairHeap is a max-heap by count; ties go to the smaller pair (left id, then right id).
type pairHeap []pairEntry

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	if h[i].count != h[j].count {
		return h[i].count > h[j].count
	}
	return h[i].key < h[j].key
}
func (h pairHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pairEntry)) }
func (h *pairHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type trainer struct {
	words     []trainWord
	pairCount map[uint64]int64
	where     map[uint64][]int32
	heap      pairHeap
	touched   []uint64 // pairs whose count grew during the current merge
}

func (tr *trainer) add(a, b int32, wi int32, c int64) {
	k := pairKey(a, b)
	tr.pairCount[k] += c
	if c > 0 {
		tr.where[k] = append(tr.where[k], wi)
		tr.touched = append(tr.touched, k)
	}
}

// mergeWord replaces every non-overlapping (a, b) in word wi, left to right, by id, and
// updates the neighbouring pair counts.
func (tr *trainer) mergeWord(wi int32, a, b, id int32) {
	w := &tr.words[wi]
	s := w.syms
	c := w.count
	j := 0
	for i := 0; i < len(s); {
		if i+1 < len(s) && s[i] == a && s[i+1] == b {
			if j > 0 {
				tr.add(s[j-1], a, wi, -c)
				tr.add(s[j-1], id, wi, c)
			}
			if i+2 < len(s) {
				tr.add(b, s[i+2], wi, -c)
				tr.add(id, s[i+2], wi, c)
			}
			s[j] = id
			j++
			i += 2
			continue
		}
		s[j] = s[i]
		j++
		i++
	}
	w.syms = s[:j]
}

// marshalTokenizerJSON writes a tokenizer.json that Hugging Face tokenizers, transformers.js
// and go-huggingface load: BPE model, byte-level pre-tokenizer/decoder, special added tokens.
func marshalTokenizerJSON(specials []string, tokStr []string, merges [][2]int32) ([]byte, error) {
	var b bytes.Buffer
	str := func(s string) {
		var sb bytes.Buffer
		enc := json.NewEncoder(&sb)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		b.Write(bytes.TrimRight(sb.Bytes(), "\n"))
	}
	b.WriteString("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [")
	for i, s := range specials {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "\n    {\"id\": %d, \"content\": ", i)
		str(s)
		b.WriteString(", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}")
	}
	b.WriteString("\n  ],\n  \"normalizer\": null,\n  \"pre_tokenizer\": ")
	b.WriteString(trainPreTokenizer)
	b.WriteString(",\n  \"post_processor\": " + byteLevelPostProcessor)
	b.WriteString(",\n  \"decoder\": " + byteLevelDecoder)
	b.WriteString(",\n  \"model\": {\n    \"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, \"continuing_subword_prefix\": null," +
		" \"end_of_word_suffix\": null, \"fuse_unk\": false, \"byte_fallback\": false, \"ignore_merges\": false,\n    \"vocab\": {")
	// The special tokens are in the model's vocabulary too, at their ids: Hugging Face tokenizers
	// gives an added token that the model lacks a new id after the vocabulary, whatever its "id".
	for id := 0; id < len(tokStr); id++ {
		if id > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n      ")
		str(tokStr[id])
		fmt.Fprintf(&b, ": %d", id)
	}
	b.WriteString("\n    },\n    \"merges\": [")
	for i, m := range merges {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n      ")
		str(tokStr[m[0]] + " " + tokStr[m[1]])
	}
	b.WriteString("\n    ]\n  }\n}\n")
	if !json.Valid(b.Bytes()) {
		return nil, fmt.Errorf("tokenizer: train: generated tokenizer.json is not valid JSON")
	}
	return b.Bytes(), nil
}

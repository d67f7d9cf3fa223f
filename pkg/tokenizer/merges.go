package tokenizer

import (
	"cmp"
	"slices"
)

// Merges returns the BPE merges in rank order as "left right" strings of the model's alphabet,
// as tokenizer.json and GGUF's tokenizer.ggml.merges write them. A pair listed more than once
// in tokenizer.json appears once, at the rank it takes when encoding (its last).
func (t *Tokenizer) Merges() []string {
	type ranked struct {
		rank int32
		s    string
	}
	out := make([]ranked, 0, len(t.bpe.merges))
	for key, mv := range t.bpe.merges {
		a, b := int32(uint32(key>>32)), int32(uint32(key))
		out = append(out, ranked{mv.rank, t.tokens[a] + " " + t.tokens[b]})
	}
	slices.SortFunc(out, func(x, y ranked) int { return cmp.Compare(x.rank, y.rank) })
	merges := make([]string, len(out))
	for i, r := range out {
		merges[i] = r.s
	}
	return merges
}

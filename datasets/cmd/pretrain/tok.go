package main

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/tokenizer"
)

// charCoverageRepeats is how many times the corpus's alphabet is added to the tokenizer's
// training texts.
const charCoverageRepeats = 1000

// isCJK is the character class the tokenizer's pre-tokenizer keeps in runs of their own
// (CJK ideographs, hiragana, katakana).
func isCJK(r rune) bool {
	return (r >= '一' && r <= '龥') || (r >= '぀' && r <= 'ゟ') || (r >= '゠' && r <= 'ヿ')
}

// bigramView rewrites every run of CJK characters of s into its overlapping pairs of
// characters, one word each ("今天天气" → "今天 天天 天气"), for the tokenizer's training.
// The pre-tokenizer keeps a whole CJK run as one word, so BPE would otherwise learn tokens of
// whole phrases ("今天天气怎么样"), and the same phrase in another context ("问天气，") would be
// encoded with tokens the corpus never produced — tokens whose embeddings pretraining never
// trains. Learned from pairs, Chinese tokens are one or two characters long and occur in
// every context.
func bigramView(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); {
		if !isCJK(rs[i]) {
			b.WriteRune(rs[i])
			i++
			continue
		}
		j := i
		for j < len(rs) && isCJK(rs[j]) {
			j++
		}
		if j-i == 1 {
			b.WriteRune(rs[i])
		}
		for k := i; k+1 < j; k++ {
			if k > i {
				b.WriteByte(' ')
			}
			b.WriteRune(rs[k])
			b.WriteRune(rs[k+1])
		}
		i = j
	}
	return b.String()
}

// trainTokenizer learns the byte-level BPE vocabulary on the corpus's message texts (in their
// bigramView), with the `tiny` template's special tokens, and saves tokenizer.json +
// tokenizer_config.json.
func trainTokenizer(o options, tmpl chat.Template, convs []chat.Conversation) (*tokenizer.Tokenizer, error) {
	var texts []string
	chars := map[rune]bool{}
	add := func(s string) {
		texts = append(texts, bigramView(s))
		for _, r := range s {
			chars[r] = true
		}
	}
	for _, c := range convs {
		if c.System != "" {
			add(c.System)
		}
		for _, m := range c.Messages {
			add(m.Content)
		}
	}
	// Character coverage (as SentencePiece's character_coverage=1): every character of the
	// corpus becomes a token of its own, however rare, so that no text of the corpus's world
	// falls back to bytes the model never saw merged. Each character is added as a word of
	// its own, often enough (charCoverageRepeats) that its merges come before the rare pairs
	// of the corpus.
	var alphabet []string
	for r := range chars {
		if r >= utf8.RuneSelf && !unicode.IsSpace(r) {
			alphabet = append(alphabet, string(r))
		}
	}
	slices.Sort(alphabet)
	for range charCoverageRepeats {
		texts = append(texts, strings.Join(alphabet, " "))
	}
	tok, err := tokenizer.Train(slices.Values(texts), tokenizer.TrainOptions{
		VocabSize:      o.vocab,
		SpecialTokens:  tmpl.SpecialTokens,
		BOSToken:       tmpl.BOS,
		EOSToken:       tmpl.EOS,
		PadToken:       tmpl.Pad,
		ChatTemplate:   tmpl.ChatTemplate,
		ModelMaxLength: 1024,
	})
	if err != nil {
		return nil, fmt.Errorf("training the tokenizer: %w", err)
	}
	if err := tok.Save(o.out); err != nil {
		return nil, err
	}
	fmt.Printf("tokenizer: %d ids (BOS %d, EOS %d, pad %d)\n", tok.VocabSize(), tok.BOSID(), tok.EOSID(), tok.PadID())
	return tok, nil
}

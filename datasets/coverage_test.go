package datasets

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/loralab/loralab/pkg/data"
	"github.com/loralab/loralab/pkg/tokenizer"
)

const (
	// minCount is how often a character (in the text) or a token (in the encoded text) must
	// occur in the pretraining corpus to count as covered.
	minCount = 20
	// minTokenCoverage is the share of the fine-tuning sets' token occurrences that must be
	// covered tokens (the committed base has 0.9975; the rest are a few pairs of characters
	// that BPE groups differently in the corpus's contexts, such as 你今 in 你今年).
	minTokenCoverage = 0.99
)

func readTexts(t *testing.T, name, split string) []string {
	t.Helper()
	path, err := Path(name, split)
	if err != nil {
		t.Fatal(err)
	}
	convs, err := data.ReadAll(path)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, c := range convs {
		if c.System != "" {
			texts = append(texts, c.System)
		}
		for _, m := range c.Messages {
			texts = append(texts, m.Content)
		}
	}
	return texts
}

// coverage measures what of the fine-tuning sets (train and validation) the tokenizer and the
// pretraining corpus cover. Character gaps are characters that are not a vocabulary token of
// their own or that the corpus has fewer than minCount times (灵 and — before the corpus had
// them: their bytes were never merged nor trained). Token coverage is the share of the sets'
// token occurrences whose token the encoded corpus has at least minCount times, so that the
// base model has trained its embedding and output row; rare lists the others.
func coverage(t *testing.T, tok *tokenizer.Tokenizer) (charGaps []string, tokenCoverage float64, rare []string) {
	t.Helper()
	chars, seen := map[rune]int{}, map[int]int{}
	for _, split := range Splits() {
		for _, s := range readTexts(t, Pretrain, split) {
			for _, r := range s {
				chars[r]++
			}
			for _, id := range tok.Encode(s) {
				seen[id]++
			}
		}
	}
	checked, uses := map[rune]bool{}, map[int]int{}
	total, covered := 0, 0
	for _, name := range []string{SFTRecall, SFTIdentity} {
		for _, split := range Splits() {
			for _, s := range readTexts(t, name, split) {
				for _, r := range s {
					if checked[r] {
						continue
					}
					checked[r] = true
					if ids := tok.Encode(string(r)); len(ids) != 1 || chars[r] < minCount {
						charGaps = append(charGaps, fmt.Sprintf("%s/%s: %q is %d tokens, %d times in the corpus", name, split, r, len(ids), chars[r]))
					}
				}
				for _, id := range tok.Encode(s) {
					total++
					if seen[id] >= minCount {
						covered++
					} else {
						uses[id]++
					}
				}
			}
		}
	}
	for id, n := range uses {
		rare = append(rare, fmt.Sprintf("%6d uses of %q (%d in the corpus)", n, tok.Decode([]int{id}), seen[id]))
	}
	sort.Sort(sort.Reverse(sort.StringSlice(rare)))
	return charGaps, float64(covered) / float64(total), rare
}

// The tiny base model's tokenizer has every character of the fine-tuning sets as a token of its
// own, each frequent in the pretraining corpus, and the tokens the sets are encoded with are
// (nearly all) frequent in the encoded corpus.
func TestTinyBaseCoversFineTuningSets(t *testing.T) {
	dir, err := TinyBaseDir()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	charGaps, tokenCoverage, rare := coverage(t, tok)
	if len(charGaps) > 0 {
		t.Errorf("%d characters of the fine-tuning sets are not covered:\n%s", len(charGaps), strings.Join(charGaps[:min(len(charGaps), 20)], "\n"))
	}
	t.Logf("token coverage %.4f; rarest: %v", tokenCoverage, rare[:min(len(rare), 8)])
	if tokenCoverage < minTokenCoverage {
		t.Errorf("%.4f of the fine-tuning sets' token occurrences are tokens frequent in the corpus, want >= %.3f; the others:\n%s",
			tokenCoverage, minTokenCoverage, strings.Join(rare[:min(len(rare), 20)], "\n"))
	}
	for _, s := range []string{"小灵", "——小灵", " — Xiaoling", "年纪", "称呼"} { // once without tokens
		if ids := tok.Encode(s); strings.ContainsRune(tok.Decode(ids[:1]), utf8.RuneError) {
			t.Errorf("%q encodes to %v, starting with a partial character", s, ids)
		}
	}
}

package tokenizer

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzEncode: Decode(Encode(s)) == s and Encode never yields a control id, with the trained
// tiny tokenizer and (when cached) DeepSeek-V3's.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "hello  ", "你好，世界", "<|end|>", "<｜end▁of▁sentence｜>", "a\u3000\u00a0 b\r\n\t", "😀👍🏽"} {
		f.Add(s)
	}
	tiny, err := Load(filepath.Join("testdata", "tiny_bpe"))
	if err != nil {
		f.Fatal(err)
	}
	sp, err := FromJSON([]byte(spDoc("")), nil) // SentencePiece-style (Prepend ▁), byte fallback
	if err != nil {
		f.Fatal(err)
	}
	toks := []*Tokenizer{tiny, sp}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tok := range toks {
			ids := tok.Encode(s)
			for _, id := range ids {
				if tok.IsControl(id) {
					t.Fatalf("Encode(%q) has control id %d", s, id)
				}
			}
			// SentencePiece-style tokenizers decode a "▁" written in the text as a space, as
			// the references do; everything else round-trips.
			if utf8.ValidString(s) && (tok.ByteLevel() || !strings.Contains(s, "▁")) {
				if got := tok.Decode(ids); got != s {
					t.Fatalf("Decode(Encode(%q)) = %q", s, got)
				}
			}
			_ = tok.EncodeSpecial(s)
		}
	})
}

// syntheticCorpus builds about n bytes of bilingual text from the committed corpora, shuffled
// and with varying numbers so that word counts look like real text.
func syntheticCorpus(tb testing.TB, n int) []string {
	var lines []string
	for _, name := range []string{"corpus.txt", "train_corpus.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			tb.Fatal(err)
		}
		lines = append(lines, strings.Split(string(b), "\n")...)
	}
	rng := rand.New(rand.NewPCG(42, 0))
	var out []string
	for size := 0; size < n; {
		l := lines[rng.IntN(len(lines))] + fmt.Sprintf(" %d", rng.IntN(100000))
		out = append(out, l)
		size += len(l)
	}
	return out
}

// sharedTexts returns every string of the JSON files in ../shared/data (FastChat, LLaMA-Factory:
// English and Chinese dialogue), or nil when the folder is absent.
func sharedTexts(tb testing.TB) []string {
	var texts []string
	dir := filepath.Join("..", "..", "..", "shared", "data")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		var walk func(any)
		walk = func(x any) {
			switch y := x.(type) {
			case string:
				texts = append(texts, y)
			case []any:
				for _, e := range y {
					walk(e)
				}
			case map[string]any:
				for _, e := range y {
					walk(e)
				}
			}
		}
		walk(v)
	}
	return texts
}

// BenchmarkTrainBPE trains an 8k vocabulary on about 3 MB of bilingual text: the dialogue files
// of ../shared/data repeated (or a synthetic mix of the committed corpora without them).
func BenchmarkTrainBPE(b *testing.B) {
	texts := sharedTexts(b)
	if len(texts) == 0 {
		texts = syntheticCorpus(b, 3<<20)
	}
	for n, size := len(texts), 0; ; {
		size = 0
		for _, s := range texts {
			size += len(s)
		}
		if size >= 3<<20 {
			break
		}
		texts = append(texts, texts[:n]...)
	}
	total := 0
	for _, s := range texts {
		total += len(s)
	}
	b.SetBytes(int64(total))
	b.ResetTimer()
	for range b.N {
		tok, err := TrainBPE(texts, 8000, []string{"<|bos|>", "<|end|>"})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(tok.VocabSize()), "vocab")
	}
}

// BenchmarkEncode encodes 1 MiB of bilingual text with each family's real tokenizer.
func BenchmarkEncode(b *testing.B) {
	texts := syntheticCorpus(b, 1<<20)
	total := 0
	for _, s := range texts {
		total += len(s)
	}
	for _, fam := range families {
		b.Run(fam, func(b *testing.B) {
			tok := family(b, fam)
			ntok := 0
			b.SetBytes(int64(total))
			b.ResetTimer()
			for range b.N {
				ntok = 0
				for _, s := range texts {
					ntok += len(tok.Encode(s))
				}
			}
			b.ReportMetric(float64(ntok)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkLoad parses each family's tokenizer.json (Gemma 3's is 14 MB, 262k tokens).
func BenchmarkLoad(b *testing.B) {
	for _, fam := range families {
		b.Run(fam, func(b *testing.B) {
			dir := familyDir(b, fam)
			for range b.N {
				if _, err := Load(dir); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

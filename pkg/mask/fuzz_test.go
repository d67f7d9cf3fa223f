package mask

import (
	"path/filepath"
	"testing"

	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/tokenizer"
)

// FuzzBuild: any segments and options give examples or an error, never a panic; examples keep
// the label invariants.
func FuzzBuild(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, uint8(0), uint8(0), uint8(0))
	f.Add([]byte("\x01\x02\x03assistant\x02\x03\x04"), uint8(2), uint8(5), uint8(1))
	f.Add([]byte{1, 3, 2, 2, 3, 2, 9, 9, 1, 3, 2}, uint8(1), uint8(3), uint8(2))
	f.Add([]byte{6, 2, 2, 3, 13, 2, 4, 14, 2, 1, 14, 2}, uint8(0), uint8(0), uint8(8))
	texts := []string{"", "a", "你好", "<｜end▁of▁sentence｜>", "<｜Assistant｜>", "<|im_end|>", "hello world", "\n\n"}
	roles := []string{"", chat.RoleSystem, chat.RoleUser, chat.RoleAssistant, "tool"}
	tiny, err := tokenizer.Load(filepath.Join(repoRoot(f), "pkg", "tokenizer", "testdata", "tiny_bpe"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, strat, maxLen, trunc uint8) {
		var segs []chat.Segment
		for i := 0; i+2 < len(data) && len(segs) < 64; i += 3 {
			segs = append(segs, chat.Segment{
				Text: texts[int(data[i])%len(texts)],
				Kind: chat.SegmentKind(int(data[i+1]) % 4),
				Role: roles[int(data[i+1]/4)%len(roles)],
				Turn: int(data[i+2]%9) - 2,
			})
		}
		var d Dropped
		opts := Options{MaxLength: int(maxLen) % 40, Truncation: Truncation(trunc % 4), Dropped: &d}
		var enc Encoder = testEnc
		if trunc&8 != 0 { // the real tokenizer, joint encoding
			enc = tiny
		}
		exs, err := Build(segs, enc, Strategy(strat%5), opts)
		if err != nil {
			if len(exs) != 0 {
				t.Fatalf("error %v with %d examples", err, len(exs))
			}
			return
		}
		for k, ex := range exs {
			if len(ex.Labels) != ex.Len() || len(ex.Turn) != ex.Len() {
				t.Fatalf("example %d: ragged lengths", k)
			}
			if opts.MaxLength > 0 && ex.Len() > opts.MaxLength {
				t.Fatalf("example %d: %d tokens > MaxLength %d", k, ex.Len(), opts.MaxLength)
			}
			if ex.Supervised() == 0 {
				t.Fatalf("example %d: nothing supervised", k)
			}
			for i, l := range ex.Labels {
				if l != IgnoreIndex && l != ex.InputIDs[i] {
					t.Fatalf("example %d: label %d at %d is neither -100 nor the input %d", k, l, i, ex.InputIDs[i])
				}
				if (l == IgnoreIndex) != (ex.Turn[i] == -1) && Strategy(strat%5) != TrainOnPrompt {
					t.Fatalf("example %d: turn %d at %d disagrees with label %d", k, ex.Turn[i], i, l)
				}
			}
		}
		if d.Samples < 0 || d.Tokens < 0 || d.SupervisedTokens < 0 || d.Turns < 0 {
			t.Fatalf("negative counters %+v", d)
		}
		longest := 0
		for _, ex := range exs {
			longest = max(longest, ex.Len())
		}
		rows, st, err := Pack(exs, 64, 0)
		if (err != nil) != (longest > 64) {
			t.Fatalf("Pack: err %v with longest example %d", err, longest)
		}
		if err == nil && st.Rows != len(rows) {
			t.Fatalf("Pack: %d rows, stats say %d", len(rows), st.Rows)
		}
	})
}

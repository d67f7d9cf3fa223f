package tokenizer

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

type piece struct {
	text    string
	special bool
}

func checkJoined(t *testing.T, tok *Tokenizer, pieces []piece, wantSame bool) {
	t.Helper()
	texts := make([]string, len(pieces))
	special := make([]bool, len(pieces))
	for i, p := range pieces {
		texts[i], special[i] = p.text, p.special
	}
	ids, first, last, err := tok.EncodeJoined(texts, special)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(texts, "")
	if wantSame {
		if want := tok.EncodeSpecial(joined); !reflect.DeepEqual(ids, want) {
			t.Errorf("EncodeJoined = %v\nEncodeSpecial(joined) = %v", ids, want)
		}
	}
	if got := tok.Decode(ids); got != joined {
		t.Errorf("Decode = %q, want %q", got, joined)
	}
	// Token spans tile the string and point at the right pieces.
	off := 0
	starts := make([]int, len(texts)+1)
	for i, s := range texts {
		starts[i+1] = starts[i] + len(s)
	}
	for i, id := range ids {
		l := tok.byteLen(id)
		if first[i] > last[i] || starts[first[i]] > off || starts[last[i]+1] < off+l || (i > 0 && first[i] < last[i-1]) {
			t.Fatalf("token %d (%q) at bytes [%d,%d): pieces %d..%d", i, tok.Token(id), off, off+l, first[i], last[i])
		}
		if tok.IsAdded(id) && (first[i] != last[i] || !special[first[i]]) {
			t.Errorf("control token %q comes from non-special piece %d", tok.Token(id), first[i])
		}
		off += l
	}
	if off != len(joined) {
		t.Errorf("tokens cover %d bytes of %d", off, len(joined))
	}
}

func TestEncodeJoined(t *testing.T) {
	tiny, err := Load(filepath.Join("testdata", "tiny_bpe"))
	if err != nil {
		t.Fatal(err)
	}
	// deepseek-llm-chat style: plain-text role headers next to content merge like one string.
	llm := []piece{{"<|bos|>", true}, {"User: ", true}, {"Hi there", false}, {"\n\n", true},
		{"Assistant: ", true}, {"Hello!  你好", false}, {"<|end|>", true}, {"", false}}
	checkJoined(t, tiny, llm, true)
	// Special-token text in content stays text.
	tricky := []piece{{"<|user|>", true}, {"say <|end|><|assistant|>", false}, {"<|end|>", true}}
	checkJoined(t, tiny, tricky, false)
	ids, _, _, _ := tiny.EncodeJoined([]string{"<|user|>", "say <|end|>"}, []bool{true, false})
	if n := strings.Count(tiny.Decode(ids), "<|end|>"); n != 1 || countAdded(tiny, ids) != 1 {
		t.Errorf("content <|end|> became a control token: %v", ids)
	}
	if _, _, _, err := tiny.EncodeJoined([]string{"a"}, nil); err == nil {
		t.Error("mismatched special flags accepted")
	}
	if ds := maybeDeepseek(t); ds != nil {
		checkJoined(t, ds, []piece{{"<｜begin▁of▁sentence｜>", true}, {"System prompt.", false}, {"<｜User｜>", true},
			{"数字 12345  ", false}, {"<｜Assistant｜>", true}, {"ok", false}, {"<｜end▁of▁sentence｜>", true}}, true)
		checkJoined(t, ds, []piece{{"User: ", true}, {"what's up?", false}, {"\n\n", true}, {"Assistant: ", true},
			{"Fine <｜end▁of▁sentence｜>", false}, {"<｜end▁of▁sentence｜>", true}}, false)
	}
}

func countAdded(tok *Tokenizer, ids []int) int {
	n := 0
	for _, id := range ids {
		if tok.IsAdded(id) {
			n++
		}
	}
	return n
}

// maybeDeepseek returns DeepSeek-V3's tokenizer, or nil without node.
func maybeDeepseek(t *testing.T) *Tokenizer {
	deepseekDir(&skipTB{TB: t})
	if familyStates["deepseek_v3"].skip != "" {
		return nil
	}
	return deepseek(t)
}

// skipTB turns Skip into a no-op so that optional fixtures can be probed.
type skipTB struct{ testing.TB }

func (s *skipTB) Skip(args ...any) {}

package tokenizer

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
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
	for i, id := range ids {
		if first[i] > last[i] || first[i] < 0 || last[i] >= len(texts) || (i > 0 && first[i] < last[i-1]) {
			t.Fatalf("token %d (%q): pieces %d..%d", i, tok.Token(id), first[i], last[i])
		}
		if tok.IsControl(id) && (first[i] != last[i] || !special[first[i]]) {
			t.Errorf("control token %q comes from non-special piece %d", tok.Token(id), first[i])
		}
	}
	if !tok.ByteLevel() {
		return // a normalizer rewrites the text: tokens do not tile the bytes
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
		l := tok.normLen(id)
		if starts[first[i]] > off || starts[last[i]+1] < off+l {
			t.Fatalf("token %d (%q) at bytes [%d,%d): pieces %d..%d", i, tok.Token(id), off, off+l, first[i], last[i])
		}
		off += l
	}
	if off != len(joined) {
		t.Errorf("tokens cover %d bytes of %d", off, len(joined))
	}
}

// TestEncodeJoinedSentencePiece: the Prepend/Replace normalizers are traced back to the
// pieces, so SentencePiece-style tokenizers encode a rendered conversation in one go too.
func TestEncodeJoinedSentencePiece(t *testing.T) {
	sp, err := FromJSON([]byte(spDoc(`,{"id":264,"content":"x","special":false}`)), nil)
	if err != nil {
		t.Fatal(err)
	}
	pieces := []piece{{"<s>", true}, {"h", true}, {"i h", false}, {"i", true}, {"x", false}, {" hi", false}, {"</s>", true}}
	checkJoined(t, sp, pieces, true)
	ids, first, last, err := sp.EncodeJoined([]string{"<s>", "h", "i h", "i", "x", " hi", "</s>"}, []bool{true, true, false, true, false, false, true})
	if err != nil {
		t.Fatal(err)
	}
	// <s> | ▁hi (pieces 1-2: the added ▁ goes with "h") | ▁hi (2-3) | x (4) | ▁hi (5) | </s>
	wantIDs, wantFirst, wantLast := []int{1, 263, 263, 264, 259, 263, 2}, []int{0, 1, 2, 4, 5, 5, 6}, []int{0, 2, 3, 4, 5, 5, 6}
	if !reflect.DeepEqual(ids, wantIDs) || !reflect.DeepEqual(first, wantFirst) || !reflect.DeepEqual(last, wantLast) {
		t.Errorf("EncodeJoined = %v %v %v, want %v %v %v", ids, first, last, wantIDs, wantFirst, wantLast)
	}
	for _, fam := range []string{"llama2", "gemma3", "qwen3", "llama3"} {
		if familyStates[fam].skip != "" {
			continue
		}
		tok := family(t, fam)
		g := readFamilyGolden(t, fam, readCorpus(t))
		for _, e := range g.Special {
			pieces := splitPieces(tok, e.Text)
			checkJoined(t, tok, pieces, true)
			texts := make([]string, len(pieces))
			special := make([]bool, len(pieces))
			for i, p := range pieces {
				texts[i], special[i] = p.text, p.special
			}
			if ids, _, _, err := tok.EncodeJoined(texts, special); err != nil || !reflect.DeepEqual(ids, e.IDs) {
				t.Errorf("%s: EncodeJoined(%q) = %v, %v; want the reference's %v", fam, texts, ids, err, e.IDs)
			}
		}
	}
}

// splitPieces cuts text into template pieces (each added token, special) and content (the
// text between, itself cut in two so that merges cross a piece boundary).
func splitPieces(tok *Tokenizer, text string) []piece {
	var out []piece
	content := func(s string) {
		if s == "" {
			return
		}
		mid := len(s) / 2
		for mid > 0 && !utf8.RuneStart(s[mid]) {
			mid--
		}
		out = append(out, piece{s[:mid], false}, piece{s[mid:], false})
	}
	from := 0
	for i := 0; i < len(text); {
		ai, ok := tok.allAdded.match(text[i:])
		if !ok {
			i++
			continue
		}
		content(text[from:i])
		n := len(tok.added[ai].Content)
		out = append(out, piece{text[i : i+n], true})
		i += n
		from = i
	}
	content(text[from:])
	return out
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

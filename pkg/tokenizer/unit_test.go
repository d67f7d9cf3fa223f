package tokenizer

import (
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/gomlx/go-huggingface/tokenizers/api"
)

// TestLookahead checks the hand-made `\s+(?!\S)|\s+` semantics against what a backtracking
// engine (JS, Oniguruma) gives for the GPT-2 pattern.
func TestLookahead(t *testing.T) {
	re, err := compileSplitRegex(gpt2Pattern)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		want []string
	}{
		{"spaces  ", []string{"spaces", "  "}},               // at the end: the whole run
		{"a  b", []string{"a", " ", " b"}},                   // before a word: give one space back
		{"a b", []string{"a", " b"}},                         // single space joins the word
		{"a \tb", []string{"a", " ", "\t", "b"}},             // " ?\p{L}+" takes only a literal space
		{"x   ", []string{"x", "   "}},                       // trailing run of three
		{"\u3000\u3000字", []string{"\u3000", "\u3000", "字"}}, // Unicode whitespace counts as \s (JS semantics)
		{"  ", []string{"  "}},
		{"it's 12", []string{"it", "'s", " 12"}},
	}
	for _, tc := range tests {
		var got []string
		re.eachMatch(tc.in, func(s, e int) { got = append(got, tc.in[s:e]) })
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{`a(?=b)`, `(?<!x)y`, `[\S]`, `\s+(?!\S)|\s+x`} {
		if _, err := compileSplitRegex(bad); err == nil {
			t.Errorf("pattern %q accepted", bad)
		}
	}
}

// TestMergeHeapMatchesScan: the O(n log n) merge gives the quadratic reference's result.
func TestMergeHeapMatchesScan(t *testing.T) {
	tok, err := Load(filepath.Join("testdata", "tiny_bpe"))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "e", "t", "h", " ", "的", "学", "习", "1", "2", "😀", "in", "the", "LoRA"}
	for i := 0; i < 2000; i++ {
		var w string
		for n := 1 + rng.IntN(40); n > 0; n-- {
			w += alphabet[rng.IntN(len(alphabet))]
		}
		syms := func() []int32 {
			s := make([]int32, len(w))
			for j := 0; j < len(w); j++ {
				s[j] = tok.bpe.byteID[w[j]]
			}
			return s
		}
		a, b := tok.bpe.mergeScan(syms()), tok.bpe.mergeHeap(syms())
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%q: scan %v, heap %v", w, a, b)
		}
	}
}

// TestEncodeNeverControl: when merges can spell a control token (DeepSeek-V3 keeps
// "<｜end▁of▁sentence｜>" in its model vocabulary too), Encode falls back to bytes.
func TestEncodeNeverControl(t *testing.T) {
	var vocab []string
	for b := 0; b < 256; b++ {
		vocab = append(vocab, string(byteToRune[b]))
	}
	vocab = append(vocab, "<s", "<s>")
	doc := `{"added_tokens":[{"id":257,"content":"<s>","special":true}],
	  "pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"use_regex":false},
	  "model":{"type":"BPE","vocab":{` + vocabJSON(vocab) + `},"merges":["< s","<s >"]}}`
	tok, err := FromJSON([]byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.EncodeSpecial("<s>"); !reflect.DeepEqual(got, []int{257}) {
		t.Errorf("EncodeSpecial(<s>) = %v, want [257]", got)
	}
	got := tok.Encode("<s>")
	for _, id := range got {
		if tok.IsAdded(id) {
			t.Fatalf("Encode(<s>) = %v contains the control id", got)
		}
	}
	if len(got) != 3 || tok.Decode(got) != "<s>" {
		t.Errorf("Encode(<s>) = %v (decodes to %q), want 3 byte tokens", got, tok.Decode(got))
	}
	if got := tok.Encode("<s"); !reflect.DeepEqual(got, []int{256}) {
		t.Errorf("Encode(<s) = %v, want the merged [256]", got)
	}
}

func vocabJSON(vocab []string) string {
	s := ""
	for i, v := range vocab {
		if i > 0 {
			s += ","
		}
		s += `"` + jsonEscape(v) + `":` + itoa(i)
	}
	return s
}

func jsonEscape(s string) string {
	out := ""
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			out += `\` + string(r)
		case r < 0x20:
			out += `\u00` + string("0123456789abcdef"[r>>4]) + string("0123456789abcdef"[r&15])
		default:
			out += string(r)
		}
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Config
		bad  bool
	}{
		{"strings", `{"bos_token":"<s>","eos_token":"</s>","pad_token":null,"chat_template":"T","model_max_length":4096}`,
			Config{BOSToken: "<s>", EOSToken: "</s>", ChatTemplate: "T", ModelMaxLength: 4096}, false},
		{"added token objects", `{"bos_token":{"__type":"AddedToken","content":"<｜begin▁of▁sentence｜>"},"add_bos_token":true,"model_max_length":1e30}`,
			Config{BOSToken: "<｜begin▁of▁sentence｜>", AddBOSToken: true, ModelMaxLength: 1<<63 - 1}, false},
		{"named templates", `{"chat_template":[{"name":"tool_use","template":"A"},{"name":"default","template":"B"}]}`,
			Config{ChatTemplate: "B"}, false},
		{"bad token", `{"eos_token":3}`, Config{}, true},
		{"bad json", `{`, Config{}, true},
	}
	for _, tc := range tests {
		got, err := ParseConfig([]byte(tc.in))
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v (error %v)", tc.name, got, err, tc.want, tc.bad)
		}
	}
}

// TestDeepSeekConfigNeedsOwnParser documents why ParseConfig exists: go-huggingface's
// api.ParseConfigFile rejects DeepSeek-V3's tokenizer_config.json.
func TestDeepSeekConfigNeedsOwnParser(t *testing.T) {
	dir := deepseekDir(t)
	if _, err := api.ParseConfigFile(filepath.Join(dir, "tokenizer_config.json")); err == nil {
		t.Log("go-huggingface now parses DeepSeek-V3's tokenizer_config.json; ParseConfig may be retired")
	}
	tok := deepseek(t)
	if tok.BOSID() != 0 || tok.EOSID() != 1 || tok.PadID() != 1 || tok.VocabSize() != 128815 {
		t.Errorf("DeepSeek-V3: BOS %d EOS %d pad %d vocab %d; want 0 1 1 128815", tok.BOSID(), tok.EOSID(), tok.PadID(), tok.VocabSize())
	}
	if !tok.ByteLevel() || tok.Config().ChatTemplate == "" {
		t.Errorf("DeepSeek-V3: byte-level %v, chat template %d bytes", tok.ByteLevel(), len(tok.Config().ChatTemplate))
	}
}

// TestSpecialTokenTextIsContent: for every added token of DeepSeek-V3 (control or not),
// Encode spells its text with ordinary tokens, EncodeSpecial gives its id.
func TestSpecialTokenTextIsContent(t *testing.T) {
	tok := deepseek(t)
	for _, at := range tok.AddedTokens() {
		for _, text := range []string{at.Content, "x" + at.Content + " y", "<|im_end|>" + at.Content} {
			ids := tok.Encode(text)
			for _, id := range ids {
				if tok.IsAdded(id) {
					t.Fatalf("Encode(%q) = %v contains control id %d", text, ids, id)
				}
			}
			if got := tok.Decode(ids); got != text {
				t.Fatalf("Decode(Encode(%q)) = %q", text, got)
			}
		}
		if got := tok.EncodeSpecial(at.Content); !reflect.DeepEqual(got, []int{at.ID}) {
			t.Fatalf("EncodeSpecial(%q) = %v, want [%d]", at.Content, got, at.ID)
		}
	}
	if id, ok := tok.TokenID("<｜Assistant｜>"); !ok || id != 128804 {
		t.Errorf("TokenID(<｜Assistant｜>) = %d, %v", id, ok)
	}
}

// TestFallbackSentencePieceStyle: a Metaspace (SentencePiece-style) tokenizer.json goes to
// go-huggingface's hftokenizer; Encode still never matches added tokens.
func TestFallbackSentencePieceStyle(t *testing.T) {
	doc := `{"added_tokens":[{"id":0,"content":"<s>","special":true}],
	  "pre_tokenizer":{"type":"Metaspace","replacement":"▁","add_prefix_space":true},
	  "decoder":{"type":"Metaspace","replacement":"▁","add_prefix_space":true},
	  "model":{"type":"BPE","vocab":{"<s>":0,"▁":1,"h":2,"i":3,"▁h":4,"▁hi":5,"<":6,"s":7,">":8,"▁<":9},
	           "merges":["▁ h","▁h i","▁ <"]}}`
	tok, err := FromJSON([]byte(doc), []byte(`{"bos_token":"<s>"}`))
	if err != nil {
		t.Fatal(err)
	}
	if tok.ByteLevel() || tok.BOSID() != 0 {
		t.Fatalf("byte-level %v, BOS %d", tok.ByteLevel(), tok.BOSID())
	}
	if got := tok.Encode("hi <s>"); !reflect.DeepEqual(got, []int{5, 9, 7, 8}) {
		t.Errorf("Encode = %v, want [5 9 7 8] (the text <s> spelled out)", got)
	}
	if got := tok.EncodeSpecial("<s>"); !reflect.DeepEqual(got, []int{0}) {
		t.Errorf("EncodeSpecial(<s>) = %v, want [0]", got)
	}
	if _, _, _, err := tok.EncodeJoined([]string{"a"}, []bool{false}); err == nil {
		t.Error("EncodeJoined accepted a non-byte-level tokenizer")
	}
}

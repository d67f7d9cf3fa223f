package tokenizer

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
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
	  "decoder":{"type":"ByteLevel"},
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

// spDoc is a tiny SentencePiece-style tokenizer.json in Llama 2's shape: Prepend "▁" and
// Replace " " -> "▁" normalizers, no pre-tokenizer, merges on characters, byte fallback, and
// a Replace/ByteFallback/Fuse/Strip decoder.
func spDoc(extraAdded string) string {
	vocab := []string{"<unk>", "<s>", "</s>"}
	for b := 0; b < 256; b++ {
		vocab = append(vocab, fmt.Sprintf("<0x%02X>", b))
	}
	vocab = append(vocab, "▁", "h", "i", "▁h", "▁hi", "x") // 259…264
	return `{"added_tokens":[{"id":0,"content":"<unk>","special":true},{"id":1,"content":"<s>","special":true},
	    {"id":2,"content":"</s>","special":true}` + extraAdded + `],
	  "normalizer":{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},
	    {"type":"Replace","pattern":{"String":" "},"content":"▁"}]},
	  "pre_tokenizer":null,
	  "decoder":{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},
	    {"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]},
	  "model":{"type":"BPE","unk_token":"<unk>","fuse_unk":true,"byte_fallback":true,
	    "vocab":{` + vocabJSON(vocab) + `},"merges":[["▁","h"],"▁h i"]}}`
}

// TestSentencePieceStyle checks the SentencePiece-style pipeline on spDoc by hand.
func TestSentencePieceStyle(t *testing.T) {
	tok, err := FromJSON([]byte(spDoc("")), []byte(`{"bos_token":"<s>","eos_token":"</s>"}`))
	if err != nil {
		t.Fatal(err)
	}
	if tok.ByteLevel() || tok.BOSID() != 1 || tok.EOSID() != 2 || tok.UnkID() != 0 {
		t.Fatalf("byte-level %v, BOS %d EOS %d unk %d", tok.ByteLevel(), tok.BOSID(), tok.EOSID(), tok.UnkID())
	}
	fb := func(s string) []int { // byte-fallback ids of s
		var ids []int
		for _, b := range []byte(s) {
			ids = append(ids, 3+int(b))
		}
		return ids
	}
	tests := []struct {
		text    string
		want    []int
		special bool
	}{
		{"hi", []int{263}, false},                            // "▁hi": ▁ h -> ▁h, ▁h i -> ▁hi
		{"hi hi", []int{263, 263}, false},                    // "▁hi▁hi"
		{" hi", []int{259, 263}, false},                      // "▁▁hi"
		{"hix你", append([]int{263, 264}, fb("你")...), false}, // byte fallback
		{"<s>", append([]int{259}, fb("<s>")...), false},     // content never matches <s>
		{"<s>hi</s>", []int{1, 263, 2}, true},                // Prepend runs per piece
		{"𠮷", append([]int{259}, fb("𠮷")...), false},         // outside the BMP
		{"ÿ", append([]int{259}, fb("ÿ")...), false},         // not UTF-8: the byte itself
	}
	for _, tc := range tests {
		got := tok.Encode(tc.text)
		if tc.special {
			got = tok.EncodeSpecial(tc.text)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("encode %q = %v, want %v", tc.text, got, tc.want)
		}
		if dec := tok.Decode(got); !tc.special && dec != tc.text {
			t.Errorf("Decode(Encode(%q)) = %q", tc.text, dec)
		}
	}
	if got := tok.Decode([]int{1, 263, 2}); got != "<s> hi</s>" {
		t.Errorf("Decode(<s> ▁hi </s>) = %q, want %q (the reference's)", got, "<s> hi</s>")
	}
}

// TestSentencePieceUnknown: without byte fallback, characters outside the vocabulary become
// <unk>, and runs of them one <unk> (fuse_unk).
func TestSentencePieceUnknown(t *testing.T) {
	doc := strings.Replace(spDoc(""), `"byte_fallback":true`, `"byte_fallback":false`, 1)
	tok, err := FromJSON([]byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Encode("hi你好x"); !reflect.DeepEqual(got, []int{263, 0, 264}) {
		t.Errorf("Encode = %v, want [263 0 264]", got)
	}
}

// TestUnsupportedFeatures: every tokenizer.json feature this package does not implement is
// a load error that names it.
func TestUnsupportedFeatures(t *testing.T) {
	base := spDoc("")
	tests := []struct {
		name, old, new, want string
	}{
		{"Unigram", `"type":"BPE"`, `"type":"Unigram"`, `model.type "Unigram"`},
		{"WordPiece", `"type":"BPE"`, `"type":"WordPiece"`, `model.type "WordPiece"`},
		{"Metaspace", `"pre_tokenizer":null`, `"pre_tokenizer":{"type":"Metaspace","replacement":"▁"}`, `"Metaspace" is not supported`},
		{"Whitespace", `"pre_tokenizer":null`, `"pre_tokenizer":{"type":"Whitespace"}`, `"Whitespace" is not supported`},
		{"Split invert", `"pre_tokenizer":null`, `"pre_tokenizer":{"type":"Split","pattern":{"String":" "},"behavior":"Isolated","invert":true}`, "invert"},
		{"Lowercase", `{"type":"Prepend","prepend":"▁"}`, `{"type":"Lowercase"}`, `"Lowercase" is not supported`},
		{"Replace regex", `{"type":"Replace","pattern":{"String":" "}`, `{"type":"Replace","pattern":{"Regex":" +"}`, "Regex pattern"},
		{"Metaspace decoder", `{"type":"Fuse"}`, `{"type":"Metaspace"}`, `decoder type "Metaspace"`},
		{"dropout", `"fuse_unk":true`, `"fuse_unk":true,"dropout":0.1`, "dropout"},
		{"subword prefix", `"fuse_unk":true`, `"fuse_unk":true,"continuing_subword_prefix":"##"`, "continuing_subword_prefix"},
		{"word suffix", `"fuse_unk":true`, `"fuse_unk":true,"end_of_word_suffix":"</w>"`, "end_of_word_suffix"},
		{"single_word", `"content":"</s>","special":true`, `"content":"</s>","special":true,"single_word":true`, "single_word"},
		{"normalized added", `"content":"</s>","special":true`, `"content":"</s>","special":true,"normalized":true`, "normalized"},
		{"truncation", `{"added_tokens"`, `{"truncation":{"max_length":8},"added_tokens"`, "truncation"},
		{"padding", `{"added_tokens"`, `{"padding":{"length":8},"added_tokens"`, "padding"},
		{"no unk, no byte fallback", `"unk_token":"<unk>","fuse_unk":true,"byte_fallback":true`, `"fuse_unk":true`, "no unk_token"},
		{"unk not in vocab", `"unk_token":"<unk>"`, `"unk_token":"<nope>"`, `unk_token "<nope>"`},
		{"merge of unknown tokens", `"▁h i"`, `"q z"`, "model.merges[1]"},
		{"merge with two spaces", `"▁h i"`, `"▁h i x"`, "model.merges[1]"},
		{"added id clash", `{"id":2,"content":"</s>"`, `{"id":260,"content":"</s>"`, "id 260"},
		{"negative id", `{"id":2,"content":"</s>"`, `{"id":-2,"content":"</s>"`, "added_tokens[2]"},
	}
	for _, tc := range tests {
		doc := strings.Replace(base, tc.old, tc.new, 1)
		if doc == base {
			t.Fatalf("%s: %q not found in the document", tc.name, tc.old)
		}
		_, err := FromJSON([]byte(doc), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %q", tc.name, err, tc.want)
		}
	}
}

// TestTextAddedTokens: a non-special added token that is the vocabulary's own entry (as
// Gemma's "</div>") is matched by Encode; one that is not (a role marker) is spelled out.
func TestTextAddedTokens(t *testing.T) {
	tok, err := FromJSON([]byte(spDoc(`,{"id":264,"content":"x","special":false},{"id":300,"content":"hih","special":false}`)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok.IsControl(264) || !tok.IsControl(300) || !tok.IsAdded(264) || !tok.IsControl(1) {
		t.Fatalf("control: x %v, hih %v, <s> %v", tok.IsControl(264), tok.IsControl(300), tok.IsControl(1))
	}
	// "hix": x is matched first, so "hi" is its own piece (with its own ▁).
	if got := tok.Encode("hix"); !reflect.DeepEqual(got, []int{263, 264}) {
		t.Errorf("Encode(hix) = %v, want [263 264]", got)
	}
	for _, id := range tok.Encode("hih") {
		if tok.IsControl(id) {
			t.Errorf("Encode(hih) holds control id %d", id)
		}
	}
	if got := tok.EncodeSpecial("hih"); !reflect.DeepEqual(got, []int{300}) {
		t.Errorf("EncodeSpecial(hih) = %v, want [300]", got)
	}
}

// TestAddedTokenStrip: lstrip/rstrip remove the whitespace JavaScript's trim removes (the
// reference's), Unicode spaces included, next to the added token.
func TestAddedTokenStrip(t *testing.T) {
	tok, err := FromJSON([]byte(strings.Replace(spDoc(""), `{"id":2,"content":"</s>","special":true}`,
		`{"id":2,"content":"</s>","special":true,"lstrip":true,"rstrip":true}`, 1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.EncodeSpecial("hi \u3000</s>\u00a0 hi"); !reflect.DeepEqual(got, []int{263, 2, 263}) {
		t.Errorf("EncodeSpecial = %v, want [263 2 263]", got)
	}
}

package tokenizer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzFromJSON: any tokenizer.json loads or gives an error, never a panic or an unbounded
// allocation; a tokenizer that loads encodes and decodes without panicking, Encode never
// produces a control id, and ids stay below VocabSize.
func FuzzFromJSON(f *testing.F) {
	tiny, err := os.ReadFile(filepath.Join("testdata", "tiny_bpe", "tokenizer.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tiny, "Hello, 世界 <|end|>  ")
	sp := spDoc(`,{"id":264,"content":"x","special":false}`)
	f.Add([]byte(sp), "hi x 你 <s>\xff")
	f.Add([]byte(strings.Replace(sp, `"byte_fallback":true`, `"byte_fallback":false`, 1)), "hix 𠮷")
	f.Add([]byte(strings.Replace(sp, `"fuse_unk":true`, `"fuse_unk":true,"ignore_merges":true`, 1)), "hi")
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":16777216},"merges":[]}}`), "a")
	f.Add([]byte(`{"model":{"vocab":{"a":0},"merges":[["a","a"]]},"pre_tokenizer":{"type":"Split","pattern":{"Regex":"\\s+(?!\\S)|\\s+"},"behavior":"Isolated"}}`), "a  a")
	f.Fuzz(func(t *testing.T, doc []byte, text string) {
		tok, err := FromJSON(doc, nil)
		if err != nil {
			return
		}
		for _, ids := range [][]int{tok.Encode(text), tok.EncodeSpecial(text)} {
			for _, id := range ids {
				if id < 0 || id >= tok.VocabSize() {
					t.Fatalf("id %d outside [0, %d)", id, tok.VocabSize())
				}
			}
			_ = tok.Decode(ids)
		}
		for _, id := range tok.Encode(text) {
			if tok.IsControl(id) && id != tok.UnkID() {
				t.Fatalf("Encode(%q) holds control id %d", text, id)
			}
		}
		_, _, _, _ = tok.EncodeJoined([]string{text, text}, []bool{true, false})
	})
}

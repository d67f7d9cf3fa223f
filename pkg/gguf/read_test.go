package gguf

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/tokenizer"
)

// A model written as GGUF and read back by ToHF (through go-huggingface's reader) is the same
// model: weights as llama.cpp reads them for the type (exact for F32), same config, and a
// tokenizer that encodes every test string to the same ids.
func TestToHFRoundTrip(t *testing.T) {
	tiny, tok := loadTiny(t)
	for _, c := range []struct {
		name string
		m    *llama.Model
		typ  Type
	}{{"tiny F32", tiny, F32}, {"tiny F16", tiny, F16}, {"tiny Q8_0", tiny, Q8_0}, {"qwen2 F32", qwen2Random(t), F32}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "m.gguf")
			if err := WriteModel(path, c.m, tinyDir, ModelOptions{Type: c.typ}); err != nil {
				t.Fatal(err)
			}
			hf := filepath.Join(dir, "hf")
			if err := ToHF(path, hf); err != nil {
				t.Fatal(err)
			}
			back, err := llama.LoadModel(hf)
			if err != nil {
				t.Fatal(err)
			}
			a, b := c.m.Config, back.Config
			if a.HiddenSize != b.HiddenSize || a.NumKeyValueHeads != b.NumKeyValueHeads || a.TieWordEmbeddings != b.TieWordEmbeddings ||
				a.IsQwen2() != b.IsQwen2() || a.RopeTheta != b.RopeTheta || a.RMSNormEps != b.RMSNormEps || a.VocabSize != b.VocabSize {
				t.Fatalf("config read back differs: %+v vs %+v", b, a)
			}
			want := rounded(c.m, c.typ)
			for _, name := range c.m.ParamNames() {
				w, err := want.WeightFloat32(name)
				if err != nil {
					t.Fatal(err)
				}
				g, err := back.WeightFloat32(name)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(tensors.MustCopyFlatData[float32](w), tensors.MustCopyFlatData[float32](g)) {
					t.Fatalf("%s differs after GGUF → HF", name)
				}
			}
			tok2, err := tokenizer.Load(hf)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range append(bilingual, "<|user|>hi<|end|>") {
				if x, y := tok.Encode(s), tok2.Encode(s); !slices.Equal(x, y) {
					t.Errorf("%q: %v, read back %v", s, x, y)
				}
				if x, y := tok.EncodeSpecial(s), tok2.EncodeSpecial(s); !slices.Equal(x, y) {
					t.Errorf("%q with special tokens: %v, read back %v", s, x, y)
				}
			}
			if tok.Config().ChatTemplate != tok2.Config().ChatTemplate || tok.EOSID() != tok2.EOSID() || tok.BOSID() != tok2.BOSID() {
				t.Error("chat template or special tokens differ after GGUF → HF")
			}
		})
	}
}

package llama

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/safetensors"
)

type goldenInputs struct {
	InputIDs    [][]int32 `json:"input_ids"`
	PositionIDs [][]int32 `json:"position_ids"`
	SegmentIDs  [][]int32 `json:"segment_ids"`
}

func readGolden(t testing.TB, dir string) (goldenInputs, []float32, []int) {
	t.Helper()
	var in goldenInputs
	data, err := os.ReadFile(filepath.Join(dir, "inputs.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &in); err != nil {
		t.Fatal(err)
	}
	sf, err := safetensors.Open(filepath.Join(dir, "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	lt, err := sf.ReadFloat32("logits")
	if err != nil {
		t.Fatal(err)
	}
	return in, tensors.MustCopyFlatData[float32](lt), lt.Shape().Dimensions
}

// maxRelErr is max |a-b| / max(|b|, floor), with floor a tenth of the largest |b| so that values
// near zero do not blow the ratio up.
func maxRelErr(a, b []float32) float64 {
	var maxB float64
	for _, v := range b {
		maxB = math.Max(maxB, math.Abs(float64(v)))
	}
	floor := 0.1 * maxB
	var worst float64
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		worst = math.Max(worst, d/math.Max(math.Abs(float64(b[i])), floor))
	}
	return worst
}

func TestForwardGolden(t *testing.T) {
	b := backend.MustDefault()
	for _, tc := range []struct {
		dir          string
		wantQKVBias  bool
		wantTied     bool
		wantKVGroups int
		packed       bool
	}{
		{"llama_gqa", false, false, 2, false},
		{"qwen2_bias_tied", true, true, 3, false},
		{"llama_packed", true, false, 1, true},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			dir := filepath.Join("testdata", tc.dir)
			m, err := LoadModel(dir)
			if err != nil {
				t.Fatal(err)
			}
			c := m.Config
			if c.HasQKVBias() != tc.wantQKVBias || c.TieWordEmbeddings != tc.wantTied ||
				c.NumAttentionHeads/c.NumKeyValueHeads != tc.wantKVGroups {
				t.Fatalf("config not parsed as expected: %+v", c)
			}
			in, want, dims := readGolden(t, dir)
			if (in.SegmentIDs != nil) != tc.packed {
				t.Fatalf("golden packed=%v, want %v", in.SegmentIDs != nil, tc.packed)
			}
			r, err := NewRunner(b, m, nil)
			if err != nil {
				t.Fatal(err)
			}
			out, err := r.Logits(in.InputIDs, in.PositionIDs, in.SegmentIDs)
			if err != nil {
				t.Fatal(err)
			}
			if got := out.Shape().Dimensions; len(got) != 3 || got[0] != dims[0] || got[1] != dims[1] || got[2] != dims[2] {
				t.Fatalf("logits shape %v, want %v", got, dims)
			}
			got := tensors.MustCopyFlatData[float32](out)
			e := maxRelErr(got, want)
			t.Logf("max relative error %.3g", e)
			if e > 1e-4 {
				t.Errorf("logits differ from golden: max relative error %.3g > 1e-4", e)
			}
		})
	}
}

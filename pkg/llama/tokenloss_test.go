package llama

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/loralab/loralab/pkg/mask"
)

// TestTokenLossesGolden: the per-token losses of a packed batch equal −log softmax of torch's
// logits (the golden of TestForwardGolden) at the label of the next position, token by token,
// and are 0 where nothing is supervised.
func TestTokenLossesGolden(t *testing.T) {
	dir := filepath.Join("testdata", "llama_packed")
	in, logits, dims := readGolden(t, dir)
	var lab struct {
		Labels [][]int32 `json:"labels"`
	}
	readJSONFile(t, filepath.Join(dir, "inputs.json"), &lab)
	r := loadRunner(t, "llama_packed")
	got, err := r.TokenLosses(mask.Batch{InputIDs: in.InputIDs, Labels: lab.Labels, PositionIDs: in.PositionIDs, SegmentIDs: in.SegmentIDs})
	if err != nil {
		t.Fatal(err)
	}
	T, V := dims[1], dims[2]
	counted := 0
	for b, row := range lab.Labels {
		for tt, l := range row {
			want := 0.0
			if tt > 0 && l != mask.IgnoreIndex { // −log softmax(logits[b, tt−1])[l], in float64
				z := logits[(b*T+tt-1)*V : (b*T+tt)*V]
				mx := math.Inf(-1)
				for _, v := range z {
					mx = math.Max(mx, float64(v))
				}
				s := 0.0
				for _, v := range z {
					s += math.Exp(float64(v) - mx)
				}
				want = mx + math.Log(s) - float64(z[l])
				counted++
			}
			if d := math.Abs(float64(got[b][tt]) - want); d > 1e-4 {
				t.Errorf("row %d position %d (label %d): loss %.6f, want %.6f", b, tt, l, got[b][tt], want)
			}
		}
	}
	if counted == 0 {
		t.Fatal("the golden batch supervises nothing")
	}
}

// TestTokenLossesErrors: bad batches are errors that say what is wrong.
func TestTokenLossesErrors(t *testing.T) {
	r := loadRunner(t, "llama_gqa")
	for name, b := range map[string]mask.Batch{
		"empty":         {},
		"ragged labels": {InputIDs: [][]int32{{1, 2, 3}}, Labels: [][]int32{{1, 2}}},
		"label outside": {InputIDs: [][]int32{{1, 2, 3}}, Labels: [][]int32{{-100, 2, 1 << 20}}},
		"id outside":    {InputIDs: [][]int32{{1, -2, 3}}, Labels: [][]int32{{-100, 2, 3}}},
	} {
		if _, err := r.TokenLosses(b); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

package lora

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/loralab/loralab/pkg/backend"
)

// TestDropout: the share of zeros is the rate (within 4 standard deviations), kept elements are
// scaled by 1/(1−rate) so the mean is kept, the same seed gives the same mask, the state
// advances (two draws differ), and an odd number of elements works.
func TestDropout(t *testing.T) {
	const n = 3*4096 + 3 // not a multiple of 4
	flat := make([]float32, n)
	for i := range flat {
		flat[i] = 1
	}
	ones := tensors.FromFlatDataAndDimensions(flat, 3, n/3)
	for _, rate := range []float64{0.05, 0.3, 0.9} {
		run := func(seed int64) (y1, y2 []float32) {
			outs := MustExecOnceN(backend.MustDefault(), func(x *Node) []*Node {
				rng := RNGStateFromSeedForGraph(x.Graph(), seed)
				rng, a := Dropout(rng, x, rate)
				_, b := Dropout(rng, x, rate)
				return []*Node{a, b}
			}, ones)
			return tensors.MustCopyFlatData[float32](outs[0]), tensors.MustCopyFlatData[float32](outs[1])
		}
		a, b := run(7)
		again, _ := run(7)
		other, _ := run(8)
		zeros, same, both, pairs, bothPairs, sameSeed := 0, 0, 0, 0, 0, 0
		for i := range a {
			switch {
			case a[i] == 0:
				zeros++
			case math.Abs(float64(a[i])-1/(1-rate)) > 1e-3:
				t.Fatalf("rate %g: kept element %d is %g, want %g", rate, i, a[i], 1/(1-rate))
			}
			if a[i] != again[i] {
				t.Fatalf("rate %g: same seed, different mask at %d", rate, i)
			}
			if (a[i] == 0) == (b[i] == 0) {
				same++
			}
			if a[i] == 0 && b[i] == 0 {
				both++
			}
			if a[i] == other[i] {
				sameSeed++
			}
			if i+1 < len(a) {
				pairs++
				if a[i] == 0 && a[i+1] == 0 {
					bothPairs++
				}
			}
		}
		near := func(what string, got, p float64, count int) {
			sd := math.Sqrt(p * (1 - p) / float64(count))
			if math.Abs(got-p) > 5*sd {
				t.Errorf("rate %g: %s %.4f, want %.4f (sd %.4f)", rate, what, got, p, sd)
			}
		}
		near("share dropped", float64(zeros)/n, rate, n)
		// Independence: of two successive masks, of neighbouring elements, of two seeds.
		near("share dropped by both draws", float64(both)/n, rate*rate, n)
		near("share of neighbours both dropped", float64(bothPairs)/float64(pairs), rate*rate, pairs)
		near("share equal under another seed", float64(sameSeed)/n, rate*rate+(1-rate)*(1-rate), n)
		if same == n {
			t.Errorf("rate %g: the second draw repeated the first mask", rate)
		}
	}
	// Rate 0 is the identity, rate 1 zeros.
	outs := MustExecOnceN(backend.MustDefault(), func(x *Node) []*Node {
		rng := RNGStateFromSeedForGraph(x.Graph(), 1)
		_, a := Dropout(rng, x, 0)
		_, b := Dropout(rng, x, 1)
		return []*Node{a, b}
	}, tensors.FromValue([]float32{1, 2, 3}))
	if a, b := tensors.MustCopyFlatData[float32](outs[0]), tensors.MustCopyFlatData[float32](outs[1]); a[2] != 3 || b[2] != 0 {
		t.Errorf("rate 0 gave %v, rate 1 gave %v", a, b)
	}
}

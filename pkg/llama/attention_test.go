package llama

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/backend"
)

func randomTensor(r *rand.Rand, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return tensors.FromFlatDataAndDimensions(v, dims...)
}

func maxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestBatchedDotSameGradients checks that batchedDot's products and gradients equal those GoMLX
// derives for the plain DotGenerals of attention (grouped-query shape, group 2; scores q·kᵀ with
// the smaller lhs, output p·v with the smaller gradient), through a softmax and weighted sums so
// that every element gets a different gradient.
func TestBatchedDotSameGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	q, k, v := randomTensor(r, 2, 3, 7, 2, 4), randomTensor(r, 2, 3, 6, 4), randomTensor(r, 2, 3, 6, 4)
	w := randomTensor(r, 2, 3, 7, 2, 4)
	run := func(custom bool) [][]float32 {
		outs, err := ExecOnceN(backend.MustDefault(), func(qh, kh, vh, wt *Node) []*Node {
			var att *Node
			if custom {
				att = batchedDot(Softmax(batchedDot(qh, kh, 3), -1), vh, 2)
			} else {
				s := DotGeneral(qh, []int{4}, []int{0, 1}, kh, []int{3}, []int{0, 1})
				att = DotGeneral(Softmax(s, -1), []int{4}, []int{0, 1}, vh, []int{2}, []int{0, 1})
			}
			loss := ReduceAllSum(Mul(att, wt))
			outs := append([]*Node{att}, Gradient(loss, qh, kh, vh)...)
			// A second gradient over the same graph (of 2·loss) must get its own key/value gradients.
			for _, g := range Gradient(MulScalar(loss, 2), qh, kh, vh) {
				outs = append(outs, MulScalar(g, 0.5))
			}
			return outs
		}, q, k, v, w)
		if err != nil {
			t.Fatal(err)
		}
		var flat [][]float32
		for _, o := range outs {
			flat = append(flat, tensors.MustCopyFlatData[float32](o))
		}
		return flat
	}
	want, got := run(false), run(true)
	for i, what := range []string{"attention", "dq", "dk", "dv", "dq (2nd gradient)", "dk (2nd gradient)", "dv (2nd gradient)"} {
		if d := maxAbsDiff(got[i], want[i]); d > 1e-5 {
			t.Errorf("%s: max |batchedDot - DotGeneral| = %.3g", what, d)
		}
	}
}

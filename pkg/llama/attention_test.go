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
// that every element gets a different gradient. The smaller operand is transposed by an identity
// product when its last axis is at most 64 (head dimension 4) and by a transpose otherwise (72).
func TestBatchedDotSameGradients(t *testing.T) {
	for _, c := range []struct{ S, hd int }{{6, 4}, {100, 72}} {
		testBatchedDotSameGradients(t, c.S, c.hd)
	}
}

func testBatchedDotSameGradients(t *testing.T, S, hd int) {
	r := rand.New(rand.NewPCG(1, 2))
	q, k, v := randomTensor(r, 2, 3, 7, 2, hd), randomTensor(r, 2, 3, S, hd), randomTensor(r, 2, 3, S, hd)
	w := randomTensor(r, 2, 3, 7, 2, hd)
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
		return flatAll(outs)
	}
	want, got := run(false), run(true)
	for i, what := range []string{"attention", "dq", "dk", "dv", "dq (2nd gradient)", "dk (2nd gradient)", "dv (2nd gradient)"} {
		if d := maxAbsDiff(got[i], want[i]); d > 1e-5 {
			t.Errorf("S %d, head dim %d: %s: max |batchedDot - DotGeneral| = %.3g", S, hd, what, d)
		}
	}
}

// TestCausalAttentionSameAsPlain checks that causalAttention (query blocks of causalBlockLen,
// the key blocks above the diagonal skipped) gives attention's output and q, k, v gradients for
// sequences of two blocks of T/2 and of three blocks of 256 (the last one shorter), grouped-query heads, and the masks it
// is used with: causal, packed (two segments per row, the boundary inside a block) and a
// sliding window of the packed mask.
func TestCausalAttentionSameAsPlain(t *testing.T) {
	for _, T := range []int{331, 587} {
		if n := (T + causalBlockLen(T) - 1) / causalBlockLen(T); n != 2+T/512 {
			t.Fatalf("T = %d: %d blocks of %d", T, n, causalBlockLen(T))
		}
		testCausalAttentionSameAsPlain(t, T)
	}
}

func testCausalAttentionSameAsPlain(t *testing.T, T int) {
	const B, nH, nKV, hd = 2, 4, 2, 8
	r := rand.New(rand.NewPCG(3, 4))
	q, k, v := randomTensor(r, B, T, nH, hd), randomTensor(r, B, T, nKV, hd), randomTensor(r, B, T, nKV, hd)
	w := randomTensor(r, B, T, nH*hd)
	seg := make([]int32, B*T)
	for i := range seg {
		if i%T >= 100+(i/T)*40 {
			seg[i] = 1
		}
	}
	segT := tensors.FromFlatDataAndDimensions(seg, B, T)
	for _, window := range []int{0, 37} {
		for _, packed := range []bool{false, true} {
			run := func(blocks bool) [][]float32 {
				outs, err := ExecOnceN(backend.MustDefault(), func(q, k, v, w, seg *Node) []*Node {
					var s *Node
					if packed {
						s = seg
					}
					m := CausalMask(seg, s)
					if window > 0 {
						qi := Iota(q.Graph(), shapesInt32(T, T), 0)
						ki := Iota(q.Graph(), shapesInt32(T, T), 1)
						m = LogicalAnd(m, BroadcastPrefix(GreaterThan(ki, AddScalar(qi, float64(-window))), B))
					}
					m5 := Reshape(m, B, 1, T, 1, T)
					var att *Node
					if blocks {
						att = causalAttention(q, k, v, m5)
					} else {
						att = attention(q, k, v, m5)
					}
					loss := ReduceAllSum(Mul(att, w))
					return append([]*Node{att}, Gradient(loss, q, k, v)...)
				}, q, k, v, w, segT)
				if err != nil {
					t.Fatal(err)
				}
				return flatAll(outs)
			}
			want, got := run(false), run(true)
			for i, what := range []string{"attention", "dq", "dk", "dv"} {
				if d := maxAbsDiff(got[i], want[i]); d > 1e-5 {
					t.Errorf("T %d, window %d, packed %v: %s: max |blocks - plain| = %.3g", T, window, packed, what, d)
				}
			}
		}
	}
}

// TestMaskedSoftmaxSameGradients checks maskedSoftmax's value and written-out gradient against
// GoMLX's Softmax of the Where-masked scores (a row with a single unmasked entry included), for
// two gradients over one graph.
func TestMaskedSoftmaxSameGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	s, w := randomTensor(r, 2, 3, 5, 7), randomTensor(r, 2, 3, 5, 7)
	run := func(custom bool) [][]float32 {
		outs, err := ExecOnceN(backend.MustDefault(), func(s, w *Node) []*Node {
			row := Iota(s.Graph(), shapesInt32(5, 7), 0)
			col := Iota(s.Graph(), shapesInt32(5, 7), 1)
			mask := BroadcastToDims(Reshape(GreaterOrEqual(row, col), 1, 1, 5, 7), 2, 3, 5, 7)
			var p *Node
			if custom {
				p = maskedSoftmax(s, mask)
			} else {
				p = Softmax(Where(mask, s, Scalar(s.Graph(), s.DType(), -math.MaxFloat32)), -1)
			}
			loss := ReduceAllSum(Mul(Mul(p, p), w))
			return []*Node{p, Gradient(loss, s)[0], MulScalar(Gradient(MulScalar(loss, 3), s)[0], 1.0/3)}
		}, s, w)
		if err != nil {
			t.Fatal(err)
		}
		return flatAll(outs)
	}
	want, got := run(false), run(true)
	for i, what := range []string{"softmax", "gradient", "2nd gradient"} {
		if d := maxAbsDiff(got[i], want[i]); d > 1e-6 {
			t.Errorf("%s: max |maskedSoftmax - Softmax(Where)| = %.3g", what, d)
		}
	}
}

// flatAll copies each output's values out as float32s.
func flatAll(outs []*tensors.Tensor) [][]float32 {
	flat := make([][]float32, len(outs))
	for i, o := range outs {
		flat[i] = tensors.MustCopyFlatData[float32](o)
	}
	return flat
}

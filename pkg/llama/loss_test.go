package llama

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/mask"
	"github.com/loralab/loralab/pkg/safetensors"
)

// TestCausalLMLossGolden compares the loss on the golden logits with torch's
// F.cross_entropy(logits[:, :-1], labels[:, 1:], ignore_index=-100, reduction="sum").
func TestCausalLMLossGolden(t *testing.T) {
	for _, name := range []string{"llama_gqa", "llama_packed"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", name)
			var in struct {
				Labels [][]int32 `json:"labels"`
			}
			readJSONFile(t, filepath.Join(dir, "inputs.json"), &in)
			sf, err := safetensors.Open(filepath.Join(dir, "golden.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer sf.Close()
			logits, _ := sf.ReadFloat32("logits")
			wantSum, _ := sf.ReadFloat32("loss_sum")
			wantCount, _ := sf.ReadFloat32("loss_count")
			outs := MustExecOnceN(backend.MustDefault(), func(l, lab *Node) []*Node {
				s, c := CausalLMLoss(l, lab)
				return []*Node{s, c}
			}, logits, tensors.FromValue(in.Labels))
			gs, gc := tensors.ToScalar[float32](outs[0]), tensors.ToScalar[float32](outs[1])
			ws, wc := tensors.MustCopyFlatData[float32](wantSum)[0], tensors.MustCopyFlatData[float32](wantCount)[0]
			if gc != wc {
				t.Errorf("count %v, want %v", gc, wc)
			}
			if math.Abs(float64(gs-ws)) > 1e-5*math.Abs(float64(ws)) {
				t.Errorf("loss sum %v, want %v", gs, ws)
			}
		})
	}
}

// TestTokenNLLSameGradients: TokenNLL's written-out gradient equals the one GoMLX derives from the
// plain log-sum-exp formula, with ignored rows (gradient 0), a weight per row (the upstream
// gradient differs by row) and a second Gradient over the same graph; a wrong formula fails.
func TestTokenNLLSameGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const N, V = 6, 11
	logits, w := randomTensor(r, N, V), randomTensor(r, N)
	labels := tensors.FromValue([]int32{3, mask.IgnoreIndex, 0, 10, mask.IgnoreIndex, 7})
	run := func(custom bool) [][]float32 {
		outs, err := ExecOnceN(backend.MustDefault(), func(x, l, w *Node) []*Node {
			var nll *Node
			if custom {
				nll, _ = TokenNLL(x, l)
			} else {
				valid := NotEqual(l, Scalar(x.Graph(), dtypes.Int32, mask.IgnoreIndex))
				safe := Where(valid, l, ScalarZero(x.Graph(), dtypes.Int32))
				mx := StopGradient(ReduceAndKeep(x, ReduceMax, -1))
				lse := Add(Log(ReduceSum(Exp(Sub(x, mx)), -1)), Reshape(mx, N))
				picked := Gather(x, Concatenate([]*Node{Iota(x.Graph(), shapesInt32(N, 1), 0), InsertAxes(safe, -1)}, 1))
				nll = Where(valid, Sub(lse, picked), ZerosLike(picked))
			}
			loss := ReduceAllSum(Mul(nll, w))
			return []*Node{nll, Gradient(loss, x)[0], MulScalar(Gradient(MulScalar(loss, 3), x)[0], 1.0/3)}
		}, logits, labels, w)
		if err != nil {
			t.Fatal(err)
		}
		return flatAll(outs)
	}
	want, got := run(false), run(true)
	for i, what := range []string{"nll", "gradient", "2nd gradient"} {
		if d := maxAbsDiff(got[i], want[i]); d > 1e-6 {
			t.Errorf("%s: max |TokenNLL - plain| = %.3g", what, d)
		}
	}
	// The ignored rows get no gradient, the others one that sums to 0 (softmax − one-hot).
	for row := range N {
		var s float64
		for _, v := range got[1][row*V : (row+1)*V] {
			s += float64(v)
		}
		if math.Abs(s) > 1e-5 {
			t.Errorf("row %d: gradient sums to %g, want 0", row, s)
		}
	}
}

// TestLossRows: the flat positions whose shifted target counts, padded with T−1 to a multiple
// of ⌈B·T/8⌉; nil when that is every position or the labels do not match B·T.
func TestLossRows(t *testing.T) {
	const I = mask.IgnoreIndex
	for _, c := range []struct {
		labels []int32
		B, T   int
		want   []int32
	}{
		// targets of row 0: t=1 (7), t=2 (8); row 1: t=0 (3). Three rows, padded to 4 (step 2).
		{[]int32{I, I, 7, 8, I, I, 3, I, I, I}, 2, 5, []int32{1, 2, 5, 4}},
		// nothing supervised: one step of padding
		{[]int32{I, I, I, I, I, I, I, I, I, I}, 2, 5, []int32{4, 4}},
		// every target counts: 8 of 10 positions, a multiple of the step
		{[]int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 2, 5, []int32{0, 1, 2, 3, 5, 6, 7, 8}},
		// 15 of 16 positions round up to all of them: nil
		{[]int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, 1, 16, nil},
		// labels of another length
		{[]int32{1, 2, 3}, 2, 5, nil},
	} {
		if got := LossRows(c.labels, c.B, c.T); !slices.Equal(got, c.want) || (got == nil) != (c.want == nil) {
			t.Errorf("LossRows(%v, %d, %d) = %v, want %v", c.labels, c.B, c.T, got, c.want)
		}
	}
}

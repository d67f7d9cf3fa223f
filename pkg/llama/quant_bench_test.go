package llama

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/nn"
	"github.com/loralab/loralab/pkg/backend"
)

// BenchmarkFrozenLinear times one frozen Linear layer of a training step — forward and the
// gradient with respect to its input (what LoRA training needs from a frozen base) — for each way
// of holding the weight: float32; bfloat16 converted to float32 in the graph; bfloat16 × bfloat16;
// NF4 and int8 dequantized in the graph (this package's path) then a float32 matmul; NF4
// dequantized then a bfloat16 matmul; and GoMLX's fused nn.QuantizedDense on NF4 (its own layout:
// [in, out] weight, blocks along the output axis). Shape: in 1024, out 2048, 512 tokens.
//
//	go test -run '^$' -bench FrozenLinear -benchtime 3x ./pkg/llama
func BenchmarkFrozenLinear(b *testing.B) {
	const in, out, tokens = 1024, 2048, 512
	rng := rand.New(rand.NewPCG(1, 2))
	w := make([]float32, out*in)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.02)
	}
	x := make([]float32, tokens*in)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	xt := tensors.FromFlatDataAndDimensions(x, tokens, in)
	wf := tensors.FromFlatDataAndDimensions(w, out, in)
	wbf, _ := ConvertFloat32(wf, dtypes.BFloat16)
	codes := make([]byte, out*in/2)
	absmax := make([]float32, out*in/QuantBlockSize)
	QuantizeNF4(w, codes, absmax)
	codesT := tensors.FromFlatDataAndDimensions(codes, out, in/2)
	absT := tensors.FromFlatDataAndDimensions(absmax, len(absmax))
	q8 := make([]int8, out*in)
	a8 := make([]float32, out*in/QuantBlockSize)
	QuantizeInt8(w, q8, a8)
	q8T := tensors.FromFlatDataAndDimensions(q8, out, in)
	a8T := tensors.FromFlatDataAndDimensions(a8, len(a8))
	// GoMLX's layout for the fused op: W^T [in, out] as NF4 codes, two per byte (low nibble
	// first), scales [in, out/64] along the output axis.
	wT := make([]float32, in*out)
	for o := 0; o < out; o++ {
		for i := 0; i < in; i++ {
			wT[i*out+o] = w[o*in+i]
		}
	}
	fusedCodes := make([]byte, in*out/2)
	fusedScales := make([]float32, in*out/QuantBlockSize)
	QuantizeNF4(wT, fusedCodes, fusedScales)
	for i, c := range fusedCodes { // swap nibbles: GoMLX reads the low nibble first
		fusedCodes[i] = c>>4 | c<<4
	}
	fusedCodesT := tensors.FromFlatDataAndDimensions(fusedCodes, in, out/2)
	fusedScalesT := tensors.FromFlatDataAndDimensions(fusedScales, in, out/QuantBlockSize)

	matmul := func(x, w *Node) *Node { return DotGeneral(x, []int{1}, nil, w, []int{1}, nil) }
	bf16Matmul := func(x, w *Node) *Node {
		return ConvertDType(matmul(ConvertDType(x, dtypes.BFloat16), w), dtypes.Float32)
	}
	cases := []struct {
		name string
		y    func(x *Node, p []*Node) *Node
		args []any
	}{
		{"float32", func(x *Node, p []*Node) *Node { return matmul(x, p[0]) }, []any{wf}},
		{"bfloat16 converted, float32 matmul", func(x *Node, p []*Node) *Node {
			return matmul(x, Weights{"w": p[0]}.linearWeight("w"))
		}, []any{wbf}},
		{"bfloat16 x bfloat16 matmul", func(x *Node, p []*Node) *Node { return bf16Matmul(x, p[0]) }, []any{wbf}},
		{"nf4 dequantized in graph, float32 matmul", func(x *Node, p []*Node) *Node {
			return matmul(x, Weights{"w.nf4": p[0], "w.absmax": p[1]}.linearWeight("w"))
		}, []any{codesT, absT}},
		{"nf4 dequantized in graph, bfloat16 matmul", func(x *Node, p []*Node) *Node {
			wq := Weights{"w.nf4": p[0], "w.absmax": p[1]}.linearWeight("w")
			return bf16Matmul(x, ConvertDType(wq, dtypes.BFloat16))
		}, []any{codesT, absT}},
		{"int8 dequantized in graph, float32 matmul", func(x *Node, p []*Node) *Node {
			return matmul(x, Weights{"w.int8": p[0], "w.absmax": p[1]}.linearWeight("w"))
		}, []any{q8T, a8T}},
		{"nf4 fused nn.QuantizedDense", func(x *Node, p []*Node) *Node {
			wq := Reshape(Bitcast(p[0], dtypes.Uint4), in, out)
			return nn.QuantizedDense(x, wq, &Quantization{Scheme: compute.QuantNF4, Scale: p[1], BlockAxis: 1, BlockSize: QuantBlockSize}, nil)
		}, []any{fusedCodesT, fusedScalesT}},
	}
	be := backend.MustDefault()
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			exec := MustNewExec(be, func(inputs []*Node) []*Node {
				x := inputs[0]
				y := tc.y(x, inputs[1:])
				loss := ReduceAllSum(Mul(y, y))
				return []*Node{loss, Gradient(loss, x)[0]}
			})
			args := append([]any{xt}, tc.args...)
			exec.MustExec(args...) // compile
			b.ResetTimer()
			for range b.N {
				for _, o := range exec.MustExec(args...) {
					o.FinalizeAll()
				}
			}
		})
	}
}

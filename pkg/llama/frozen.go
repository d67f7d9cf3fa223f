package llama

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
)

// Frozen base weights in the graph: float32, bfloat16/float16 (LoadOptions.TorchDtype) or
// quantized at load (LoadOptions.QuantizationConfig). Every one becomes a float32 node before it
// is used, so the forward pass, LoRA and the gradients stay float32.
//
// A quantized Linear weight "<name>" (e.g. "model.layers.0.mlp.up_proj.weight") is a set of
// graph inputs named after it:
//
//	<name>.nf4            uint8 [out, in/2]   two NF4 codes per byte (first value in the high nibble)
//	<name>.int8           int8  [out, in]     8-bit codes
//	<name>.absmax         float32 [out·in/64] one scale per block of 64 consecutive values, or, with
//	<name>.absmax.codes   int8 [groups·256]   double quantization: the absmax constants quantized
//	<name>.absmax.scales  float32 [groups]    again (see DoubleQuant)
//	<name>.absmax.offset  float32 []
//
// and is dequantized inside the graph from GoMLX primitives: one Gather on a 256-entry table
// (both nibbles of a byte at once, from compute.NF4LookupTable) or a ConvertDType (int8), times
// the block scales. Then a plain float32 DotGeneral runs, as for any other weight (measured
// fastest for training on the Go backend: pkg/bench/NOTES.md). See frozenMatmul for memory.
const (
	suffixNF4         = ".nf4"
	suffixInt8        = ".int8"
	suffixAbsmax      = ".absmax"
	suffixAbsmaxCodes = ".absmax.codes"
	suffixAbsmaxScale = ".absmax.scales"
	suffixAbsmaxOff   = ".absmax.offset"
)

// nf4PairTable[b] = (NF4[b>>4], NF4[b&15]): the two values of a packed byte.
var nf4PairTable = func() []float32 {
	t := make([]float32, 256*2)
	for b := range 256 {
		t[2*b], t[2*b+1] = nf4Table[b>>4], nf4Table[b&15]
	}
	return t
}()

// float32Node returns n as float32 (bfloat16/float16 base weights are converted in the graph).
func float32Node(n *Node) *Node {
	if n.DType() == dtypes.Float32 {
		return n
	}
	return ConvertDType(n, dtypes.Float32)
}

// linearWeight returns the float32 node [out, in] of a Linear weight: the graph input itself,
// or converted from bfloat16/float16, or dequantized.
func (w Weights) linearWeight(name string) *Node {
	if n, ok := w[name]; ok && n != nil {
		return float32Node(n)
	}
	codes, isNF4 := w[name+suffixNF4]
	if !isNF4 {
		var ok bool
		if codes, ok = w[name+suffixInt8]; !ok {
			panic(fmt.Errorf("llama forward: weight %q is not among the graph's weights (neither plain nor quantized)", name))
		}
	}
	nvals := codes.Shape().Size()
	if isNF4 {
		nvals *= 2
	}
	absmax, ok := w[name+suffixAbsmax]
	if !ok {
		absmax = DequantizeAbsmax(w.get(name+suffixAbsmaxCodes), w.get(name+suffixAbsmaxScale), w.get(name+suffixAbsmaxOff),
			nvals/QuantBlockSize)
	}
	if isNF4 {
		return DequantizeNF4Node(codes, absmax)
	}
	return DequantizeInt8Node(codes, absmax)
}

// LinearWeight is the float32 node [out, in] of the Linear weight name, as the forward pass
// multiplies by it (converted or dequantized in the graph when not float32). DoRA (package lora)
// reads it for its weight norm.
func (w Weights) LinearWeight(name string) *Node { return w.linearWeight(name) }

// frozenMatmul returns x [N, in] · Wᵀ for the weight name ([out, in]), float32. A weight that is
// not float32 is converted (dequantized) in the graph first and its gradient stopped.
//
// Memory: the float32 copy is what the input gradient (dx = dy · W) needs in the backward pass.
// Without gradient checkpointing these copies are held from the forward to the backward pass
// (measured on the Go backend, pkg/bench/NOTES.md: a bfloat16 or NF4 base keeps resident memory
// small, but a training step adds about the base's Linear weights in float32). With
// MemoryOptions.GradientCheckpointing, anchorWeights ties each layer's stored weights to the
// layer's checkpoint, so their conversion happens per layer and again in the backward pass.
func (w Weights) frozenMatmul(name string, x *Node) *Node {
	n, ok := w[name]
	if ok && n != nil && n.DType() == dtypes.Float32 {
		return DotGeneral(x, []int{1}, nil, n, []int{1}, nil) // trainable in full fine-tuning
	}
	return DotGeneral(x, []int{1}, nil, StopGradient(w.linearWeight(name)), []int{1}, nil)
}

// DequantizeNF4Node dequantizes packed NF4 codes [out, in/2] (uint8) with block scales absmax
// [out·in/64] into float32 [out, in].
func DequantizeNF4Node(codes, absmax *Node) *Node {
	g := codes.Graph()
	out, half := codes.Shape().Dimensions[0], codes.Shape().Dimensions[1]
	table := Const(g, nf4PairTable)
	table = Reshape(table, 256, 2)
	idx := ConvertDType(codes, dtypes.Int32)
	vals := Gather(table, InsertAxes(idx, -1)) // [out, in/2, 2]
	vals = Reshape(vals, -1, QuantBlockSize)
	vals = Mul(vals, InsertAxes(absmax, -1))
	return Reshape(vals, out, 2*half)
}

// DequantizeInt8Node dequantizes int8 codes [out, in] with block scales absmax [out·in/64] into
// float32 [out, in]: code · absmax / 127.
func DequantizeInt8Node(codes, absmax *Node) *Node {
	dims := codes.Shape().Dimensions
	vals := Reshape(ConvertDType(codes, dtypes.Float32), -1, QuantBlockSize)
	vals = Mul(vals, InsertAxes(DivScalar(absmax, 127), -1))
	return Reshape(vals, dims...)
}

// DequantizeAbsmax returns the n absmax constants of a double-quantized weight: codes [groups·256]
// (int8), scales [groups], offset [] (see DoubleQuant).
func DequantizeAbsmax(codes, scales, offset *Node, n int) *Node {
	groups := scales.Shape().Dimensions[0]
	c := Reshape(ConvertDType(codes, dtypes.Float32), groups, DoubleQuantBlockSize)
	c = Mul(c, InsertAxes(DivScalar(scales, 127), -1))
	c = Reshape(c, groups*DoubleQuantBlockSize)
	if n != groups*DoubleQuantBlockSize {
		c = Slice(c, AxisRange(0, n))
	}
	return Add(c, offset)
}

package lora

import (
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
)

// Dropout is lora_dropout (torch.nn.Dropout in training): each element of x is zeroed with
// probability rate and the others are scaled by 1/(1−rate). It draws from rng, a GoMLX RNG
// state node, and returns the advanced state, so that a trainer can carry it from step to
// step and into checkpoints: the same seed gives the same masks. It is the project's one
// dropout (the LoRA hook and train.Inputs.Dropout use it). A rate of 0 or less returns x and
// rng unchanged; a rate of 1 or more returns zeros.
//
// It is counter-based, to be cheap: each call draws only a 62-bit key from rng, and the mask
// comes from a keyed integer hash of the element's index (murmur3's 64-bit finaliser with the
// key mixed into both rounds), one 64-bit hash giving the 16-bit draws of four elements (the Go
// backend runs these integer ops in scalar loops, as fast per element for 64 bits as for 32). The
// drop probability is thus rate rounded to a multiple of 1/65536, and the scale is the inverse
// of the kept share exactly, so that the expectation is x. Measured on the Go backend (2-core
// Xeon shared with other jobs, CPU time): a [2048, 256] mask costs 2.3× less than one float32
// uniform draw per element, and at the peer's shape (BenchmarkTrainStepRefShape, dropout 0.05)
// dropout adds about 7% to the step instead of 13%. TestDropout checks the statistics it must
// meet.
func Dropout(rng, x *Node, rate float64) (newRNG, y *Node) {
	newRNG, kept, scale := DropoutUnscaled(rng, x, rate)
	if scale == 1 {
		return newRNG, kept
	}
	return newRNG, MulScalar(kept, scale)
}

// DropoutUnscaled is Dropout without its final scaling: it returns x with the dropped elements
// zeroed (not scaled) and the scale 1/(1−rate′) that Dropout multiplies by. A caller that
// multiplies the result by a linear map and a scalar anyway (LoRA: B·A·dropout(x)·scaling)
// folds scale into that scalar and saves a pass over x in the forward and in the backward.
func DropoutUnscaled(rng, x *Node, rate float64) (newRNG, kept *Node, scale float64) {
	if rate <= 0 {
		return rng, x, 1
	}
	if rate >= 1 {
		return rng, ZerosLike(x), 1
	}
	const levels = 1 << 16
	k := math.Round(rate * levels)
	if k == 0 {
		return rng, x, 1
	}
	if k >= levels {
		return rng, ZerosLike(x), 1
	}
	g := x.Graph()
	var keys *Node
	newRNG, keys = RandomIntN(rng, uint32(1<<31), shapes.Make(dtypes.Uint32, 2))
	keys = ConvertDType(keys, dtypes.Uint64)
	k0, k1 := Reshape(Slice(keys, AxisElem(0))), Reshape(Slice(keys, AxisElem(1)))
	u64 := func(v uint64) *Node { return Const(g, v) }
	n := x.Shape().Size()
	m := (n + 3) / 4
	h := Add(Mul(Iota(g, shapes.Make(dtypes.Uint64, m), 0), u64(0x9e3779b97f4a7c15)), k0)
	h = BitwiseXor(h, BitwiseShiftRightLogicalScalar(h, 33))
	h = Mul(h, u64(0xff51afd7ed558ccd))
	h = BitwiseXor(h, k1)
	h = BitwiseXor(h, BitwiseShiftRightLogicalScalar(h, 33))
	h = Mul(h, u64(0xc4ceb9fe1a85ec53))
	h = BitwiseXor(h, BitwiseShiftRightLogicalScalar(h, 33))
	bits := Reshape(Bitcast(h, dtypes.Uint16), 4*m) // four 16-bit draws per hash
	if 4*m != n {
		bits = Slice(bits, AxisRange(0, n))
	}
	keep := GreaterOrEqual(Reshape(bits, x.Shape().Dimensions...), Scalar(g, dtypes.Uint16, uint16(k)))
	return newRNG, Where(keep, x, ScalarZero(g, x.DType())), levels / (levels - k)
}

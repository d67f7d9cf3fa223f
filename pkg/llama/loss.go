package llama

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
)

// IgnoreIndex is the label value that takes no part in the loss (HF/PyTorch -100).
const IgnoreIndex = -100

// CausalLMLoss is HF's causal-LM cross entropy before averaging: position t's logits predict
// labels[t+1] (the shift happens here, so pass labels aligned with input_ids), and labels equal
// to IgnoreIndex (-100) are skipped. It returns the summed token loss and the number of counted
// tokens (both float32 scalars), so a trainer can normalise over an accumulation window; the mean
// loss of one batch is sum/count (HF's reduction="mean").
//
// logits is [B, T, V] (float32), labels [B, T] (any integer dtype).
func CausalLMLoss(logits, labels *Node) (sum, count *Node) {
	dims := logits.Shape().Dimensions
	B, T, V := dims[0], dims[1], dims[2]
	lab := ConvertDType(labels, dtypes.Int32)
	// Shift the labels left by one instead of slicing the (much larger) logits: the last
	// position gets IgnoreIndex.
	lab = ShiftWithScalar(lab, 1, ShiftDirLeft, 1, IgnoreIndex)
	return TokenCrossEntropy(Reshape(logits, B*T, V), Reshape(lab, B*T))
}

// TokenCrossEntropy returns the summed cross entropy of logits [N, V] against labels [N] (int32),
// skipping IgnoreIndex, and the number of counted labels.
func TokenCrossEntropy(logits, labels *Node) (sum, count *Node) {
	g := logits.Graph()
	N := logits.Shape().Dimensions[0]
	valid := NotEqual(labels, Scalar(g, dtypes.Int32, IgnoreIndex))
	safe := Where(valid, labels, ScalarZero(g, dtypes.Int32))
	mx := StopGradient(ReduceAndKeep(logits, ReduceMax, -1))
	lse := Add(Log(ReduceSum(Exp(Sub(logits, mx)), -1)), Reshape(mx, N))
	rows := Iota(g, shapesInt32(N, 1), 0)
	idx := Concatenate([]*Node{rows, InsertAxes(safe, -1)}, 1) // [N, 2]
	picked := Gather(logits, idx)                              // [N]
	nll := Sub(lse, picked)
	zero := ScalarZero(g, dtypes.Float32)
	sum = ReduceAllSum(Where(valid, nll, zero))
	count = ReduceAllSum(ConvertDType(valid, dtypes.Float32))
	return
}

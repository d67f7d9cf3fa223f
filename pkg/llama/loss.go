package llama

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/loralab/loralab/pkg/mask"
)

// CausalLMLoss is HF's causal-LM cross entropy before averaging: position t's logits predict
// labels[t+1] (the shift happens here, so pass labels aligned with input_ids), and labels equal
// to mask.IgnoreIndex (-100) are skipped. It returns the summed token loss and the number of
// counted tokens (both float32 scalars), so a trainer can normalise over an accumulation window;
// the mean loss of one batch is sum/count (HF's reduction="mean").
//
// logits is [B, T, V] (float32), labels [B, T] (any integer dtype).
func CausalLMLoss(logits, labels *Node) (sum, count *Node) {
	flat, targets := FlatShifted(logits, labels)
	return TokenCrossEntropy(flat, targets)
}

// FlatShifted prepares logits [B, T, V] and labels [B, T] for the per-token loss: the logits as
// [B·T, V] and the targets as [B·T] int32, target[b·T+t] = labels[b, t+1] and mask.IgnoreIndex
// at each row's last position. The small labels are shifted instead of slicing the (much
// larger) logits.
func FlatShifted(logits, labels *Node) (flatLogits, targets *Node) {
	dims := logits.Shape().Dimensions
	if len(dims) != 3 {
		exceptions.Panicf("llama: logits have shape %s, want [batch, seq, vocab]", logits.Shape())
	}
	B, T, V := dims[0], dims[1], dims[2]
	if labels.Rank() != 2 || labels.Shape().Dimensions[0] != B || labels.Shape().Dimensions[1] != T {
		exceptions.Panicf("llama: labels have shape %s, logits %s", labels.Shape(), logits.Shape())
	}
	return Reshape(logits, B*T, V), shiftedTargets(labels)
}

// shiftedTargets returns the targets of labels [B, T] flattened to [B·T] int32:
// target[b·T+t] = labels[b, t+1], mask.IgnoreIndex at each row's last position.
func shiftedTargets(labels *Node) *Node {
	lab := ShiftWithScalar(ConvertDType(labels, dtypes.Int32), 1, ShiftDirLeft, 1, mask.IgnoreIndex)
	return Reshape(lab, labels.Shape().Size())
}

// TokenCrossEntropy returns the summed cross entropy of logits [N, V] against labels [N] (int32),
// skipping mask.IgnoreIndex, and the number of counted labels.
func TokenCrossEntropy(logits, labels *Node) (sum, count *Node) {
	nll, valid := TokenNLL(logits, labels)
	return ReduceAllSum(nll), ReduceAllSum(ConvertDType(valid, dtypes.Float32))
}

// TokenNLL returns, per row of logits [N, V], the negative log-likelihood of labels [N] (int32)
// — 0 where the label is mask.IgnoreIndex — and valid [N] (bool), whether the row counts. It is
// the one cross entropy: TokenCrossEntropy sums it, and an evaluation reads it per token.
func TokenNLL(logits, labels *Node) (nll, valid *Node) {
	g := logits.Graph()
	N := logits.Shape().Dimensions[0]
	valid = NotEqual(labels, Scalar(g, dtypes.Int32, mask.IgnoreIndex))
	safe := Where(valid, labels, ScalarZero(g, dtypes.Int32))
	mx := StopGradient(ReduceAndKeep(logits, ReduceMax, -1))
	lse := Add(Log(ReduceSum(Exp(Sub(logits, mx)), -1)), Reshape(mx, N))
	rows := Iota(g, shapesInt32(N, 1), 0)
	idx := Concatenate([]*Node{rows, InsertAxes(safe, -1)}, 1) // [N, 2]: (row, label)
	picked := Gather(logits, idx)                              // [N]
	nll = Where(valid, Sub(lse, picked), ZerosLike(picked))
	return nll, valid
}

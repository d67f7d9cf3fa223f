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
// larger) logits. Any per-position tensor [B, T, D] is flattened alike (ChunkedCausalLMLoss
// passes the hidden states).
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

// LossRows lists, for a batch's labels [B, T] (flat, row-major, aligned with input_ids as in
// CausalLMLoss), the flat positions b·T+t whose target labels[b, t+1] counts: TrainingLoss's
// rows. The list is padded with position T−1 (the first row's last position, whose target never
// counts) to a multiple of ⌈B·T/8⌉, so that batches of about the same supervision share one
// compiled graph (eight shapes at most). It returns nil when that would be all B·T positions,
// and for labels of another length than B·T.
func LossRows(labels []int32, B, T int) []int32 {
	N := B * T
	if N <= 0 || len(labels) != N {
		return nil
	}
	rows := make([]int32, 0, N)
	for b := range B {
		for t := 0; t+1 < T; t++ {
			if labels[b*T+t+1] != mask.IgnoreIndex {
				rows = append(rows, int32(b*T+t))
			}
		}
	}
	step := (N + 7) / 8
	R := max(1, (len(rows)+step-1)/step) * step
	if R >= N {
		return nil
	}
	for len(rows) < R {
		rows = append(rows, int32(T-1))
	}
	return rows
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
//
// Its gradient is written out: with g the gradient of a row's nll (0 where the row does not
// count) and e = exp(logits − max) from the forward pass, dlogits = e·(g/Σe) − g·onehot(label),
// one product broadcasting a per-row factor and a scatter of N values. (The gradient GoMLX
// derives — broadcast, product, a zero [N, V] tensor scattered into and added — takes four more
// passes over the [N, V] logits: BenchmarkTokenCrossEntropy.) As in batchedDot, the identity
// on the nll records g and the one on the logits, reached later, replaces their gradient; what
// GoMLX derived is left unused.
func TokenNLL(logits, labels *Node) (nll, valid *Node) {
	g := logits.Graph()
	N := logits.Shape().Dimensions[0]
	valid = NotEqual(labels, Scalar(g, dtypes.Int32, mask.IgnoreIndex))
	safe := Where(valid, labels, ScalarZero(g, dtypes.Int32))
	rows := Iota(g, shapesInt32(N, 1), 0)
	idx := Concatenate([]*Node{rows, InsertAxes(safe, -1)}, 1) // [N, 2]: (row, label)
	var gRow, e, sum *Node
	x := IdentityWithCustomGradient(logits, func(_, v *Node) *Node {
		if gRow == nil { // not reached through the nll: keep GoMLX's gradient
			return v
		}
		d := Mul(e, InsertAxes(Div(gRow, sum), -1))
		d = ScatterSum(d, idx, Neg(gRow), true, true)
		gRow = nil
		return d
	})
	mx := StopGradient(ReduceAndKeep(x, ReduceMax, -1))
	e = Exp(Sub(x, mx))
	sum = ReduceSum(e, -1)
	lse := Add(Log(sum), Reshape(mx, N))
	picked := Gather(x, idx) // [N]
	nll = Where(valid, Sub(lse, picked), ZerosLike(picked))
	nll = IdentityWithCustomGradient(nll, func(_, v *Node) *Node {
		gRow = Where(valid, v, ZerosLike(v))
		return v
	})
	return nll, valid
}

// ChunkedCausalLMLoss is CausalLMLoss(LMHead(cfg, w, adapter, hidden), labels) computed
// chunkSize tokens at a time: the lm_head projection, the log-sum-exp and the picked logits of
// one chunk of the flattened [B·T] tokens are built, reduced to the chunk's loss sum and let go
// before the next chunk starts; in the backward pass each chunk's logits are recomputed (a
// GoMLX checkpoint) and the chunks run one after the other, last to first. Peak memory for the
// loss is then about two [chunkSize, vocab] float32 buffers instead of several [B·T, vocab]
// ones, for one more lm_head matmul (the recomputation). hidden is [B, T, hidden] (the output
// of Hidden), labels [B, T]; it returns the summed token loss and the count of supervised
// tokens, as CausalLMLoss does. chunkSize <= 0 or >= B·T computes the loss in one piece.
func ChunkedCausalLMLoss(cfg *Config, w Weights, adapter Adapter, hidden, labels *Node, chunkSize int) (sum, count *Node) {
	h, lab := FlatShifted(hidden, labels) // [B·T, hidden] and the shifted targets [B·T]
	return chunkedTokenLoss(cfg, w, adapter, h, lab, chunkSize)
}

// chunkedTokenLoss is ChunkedCausalLMLoss of flat hidden states h [N, hidden] against their
// targets lab [N] (already shifted).
func chunkedTokenLoss(cfg *Config, w Weights, adapter Adapter, h, lab *Node, chunkSize int) (sum, count *Node) {
	N := h.Shape().Dimensions[0]
	if chunkSize <= 0 || chunkSize >= N {
		return TokenCrossEntropy(LMHead(cfg, w, adapter, h), lab)
	}
	if head := w[headWeightName(cfg, w)]; head != nil && head.DType() != dtypes.Float32 && !adapts(adapter, "lm_head", h) {
		return frozenHeadLoss(head, h, lab, chunkSize)
	}
	numChunks := (N + chunkSize - 1) / chunkSize
	// inGrad[i] is the gradient arriving at chunk i's slice of hidden, captured while the
	// backward graph is built (chunk i+1's before chunk i's: nodes are visited in reverse order).
	inGrad := make([]*Node, numChunks+1)
	var prev *Node // loss sum of the previous chunk
	for i := 0; i < numChunks; i++ {
		start, end := i*chunkSize, min(N, (i+1)*chunkSize)
		hc := Slice(h, AxisRange(start, end), AxisRange())
		hc = IdentityWithCustomGradient(hc, func(_, v *Node) *Node {
			inGrad[i] = v
			return v
		})
		// Forward: one chunk after the other. The barrier also stands between the custom
		// gradient and Checkpoint: GoMLX v0.28.16's OptimizationBarrier.CloneWithInputs (used
		// when the backward pass recomputes) returns the barrier's input node and resets its
		// custom gradient.
		var after []*Node
		if prev != nil {
			after = []*Node{prev}
		}
		hc = SchedulingBarrier(hc, after...).Checkpoint()
		head := anchorWeights(w, hc, "lm_head.", "model.embed_tokens.")
		s, c := TokenCrossEntropy(LMHead(cfg, head, adapter, hc), Slice(lab, AxisRange(start, end)))
		s = s.StopCheckpoint()
		// backward: chunk i's recomputation waits until chunk i+1's gradient is done. (After
		// StopCheckpoint: a custom gradient inside the checkpointed block would recompute the
		// chunk as soon as the loss gradient arrives.)
		s = IdentityWithCustomGradient(s, func(_, v *Node) *Node {
			if next := inGrad[i+1]; next != nil {
				return SchedulingBarrier(v, next)
			}
			return v
		})
		prev = s
		if sum == nil {
			sum, count = s, c
		} else {
			sum, count = Add(sum, s), Add(count, c)
		}
	}
	return sum, count
}

// adapts tells whether the adapter changes the output of the Linear module (an Adapter returns
// y itself for the modules it does not adapt).
func adapts(adapter Adapter, module string, x *Node) bool {
	if adapter == nil {
		return false
	}
	probe := ZerosLike(Slice(x, AxisRange(0, 1), AxisRange(0, 1)))
	return adapter.Linear(module, Slice(x, AxisRange(0, 1), AxisRange()), probe) != probe
}

// headBlockRows is the number of vocabulary rows of a non-float32 lm_head converted at a time.
const headBlockRows = 8192

// frozenHeadLoss is the chunked loss for a frozen lm_head stored in another dtype than float32
// (the bf16 or tied-embedding head of a bf16/NF4 base), which receives no gradient. Its float32
// copy would be the largest buffer of the step (1.7 GB at deepseek-llm-7b), so it is never made
// whole: per chunk of tokens, the head is converted headBlockRows rows at a time, one block after
// the other, to compute the logits; and the gradient with respect to the hidden states,
// (softmax − one-hot)·W, is computed in the same forward pass, block by block again, so that
// nothing of the head is kept for (or recomputed in) the backward pass. Each chunk's loss is
// returned as s + (Σ h·G − stop(Σ h·G)): its value is s exactly, its gradient G.
func frozenHeadLoss(head, h, lab *Node, chunkSize int) (sum, count *Node) {
	g := h.Graph()
	N := h.Shape().Dimensions[0]
	V := head.Shape().Dimensions[0]
	var prev *Node // orders the blocks and chunks one after the other
	after := func(n *Node) *Node {
		if prev == nil {
			return SchedulingBarrier(n)
		}
		return SchedulingBarrier(n, prev)
	}
	block := func(lo, hi int) *Node { // float32 rows [lo, hi) of the head
		return StopGradient(ConvertDType(after(Slice(head, AxisRange(lo, hi), AxisRange())), dtypes.Float32))
	}
	for start := 0; start < N; start += chunkSize {
		end := min(N, start+chunkSize)
		hc := StopGradient(Slice(h, AxisRange(start, end), AxisRange())) // [n, H]
		lc := Slice(lab, AxisRange(start, end))
		var parts []*Node
		for lo := 0; lo < V; lo += headBlockRows {
			y := DotGeneral(hc, []int{1}, nil, block(lo, min(V, lo+headBlockRows)), []int{1}, nil)
			parts = append(parts, y)
			prev = y
		}
		logits := Concatenate(parts, 1) // [n, V]
		nll, valid := TokenNLL(logits, lc)
		s, c := ReduceAllSum(nll), ReduceAllSum(ConvertDType(valid, dtypes.Float32))
		// dnll/dlogits = softmax − one-hot on valid rows, 0 elsewhere.
		mx := ReduceAndKeep(logits, ReduceMax, -1)
		e := Exp(Sub(logits, mx))
		p := Div(e, ReduceAndKeep(e, ReduceSum, -1))
		safe := Where(valid, lc, ZerosLike(lc))
		onehot := ConvertDType(Equal(InsertAxes(safe, -1), Iota(g, shapesInt32(end-start, V), 1)), dtypes.Float32)
		dlogits := Mul(Sub(p, onehot), InsertAxes(ConvertDType(valid, dtypes.Float32), -1))
		prev = dlogits
		var grad *Node // [n, H]
		for lo := 0; lo < V; lo += headBlockRows {
			hi := min(V, lo+headBlockRows)
			d := Slice(dlogits, AxisRange(), AxisRange(lo, hi))
			gb := DotGeneral(d, []int{1}, nil, block(lo, hi), []int{0}, nil)
			if grad == nil {
				grad = gb
			} else {
				grad = Add(grad, gb)
			}
			prev = grad
		}
		hg := Slice(h, AxisRange(start, end), AxisRange())
		dot := ReduceAllSum(Mul(hg, StopGradient(grad)))
		s = Add(s, Sub(dot, StopGradient(dot)))
		prev = s
		if sum == nil {
			sum, count = s, c
		} else {
			sum, count = Add(sum, s), Add(count, c)
		}
	}
	return sum, count
}

package llama

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
)

// MemoryOptions are the memory-lean training switches. Both change how much is held in memory
// between the forward and the backward pass, never the loss or the gradients (beyond float32
// rounding).
type MemoryOptions struct {
	// GradientCheckpointing (HF gradient_checkpointing) keeps only each decoder layer's input
	// from the forward pass and recomputes the layer's activations in the backward pass: one
	// more forward pass of compute for activations of one layer instead of all of them.
	GradientCheckpointing bool
	// LossChunkSize > 0 computes the lm_head and the cross entropy LossChunkSize tokens at a
	// time (see ChunkedCausalLMLoss), so that the [tokens, vocab] float32 logits and their
	// gradient are never held whole. HF TrainingArguments has no such knob (the nearest is
	// use_liger_kernel's fused linear cross entropy).
	LossChunkSize int
}

// TrainingLoss builds the summed causal-LM token loss and the count of supervised tokens of a
// batch (the CausalLMLoss convention: labels aligned with inputIDs, shifted inside), with the
// memory-lean switches of opts. With both switches off it is CausalLMLoss(Forward(…), labels).
func TrainingLoss(cfg *Config, w Weights, adapter Adapter, inputIDs, positionIDs, segmentIDs, labels *Node, opts MemoryOptions) (sum, count *Node) {
	var h *Node
	if opts.GradientCheckpointing {
		h = HiddenCheckpointed(cfg, w, adapter, inputIDs, positionIDs, segmentIDs)
	} else {
		h = Hidden(cfg, w, adapter, inputIDs, positionIDs, segmentIDs, nil, nil)
	}
	if opts.LossChunkSize > 0 {
		return ChunkedCausalLMLoss(cfg, w, adapter, h, labels, opts.LossChunkSize)
	}
	return CausalLMLoss(LMHead(cfg, w, adapter, h), labels)
}

// HiddenCheckpointed is Hidden (without a KV cache) for training with gradient checkpointing
// per decoder layer: each layer's input is a GoMLX checkpoint (Node.Checkpoint) and the layer
// is recomputed from it when the backward pass reaches it, so only one layer's activations are
// alive at a time. Frozen weights of a layer stored in another dtype than float32 (bf16, packed
// 4-bit) are tied to the layer's input, so that their conversion to float32 also happens per
// layer, in the forward pass and again in the backward pass, instead of once for the whole
// model and held in between.
func HiddenCheckpointed(cfg *Config, w Weights, adapter Adapter, inputIDs, positionIDs, segmentIDs *Node) *Node {
	return hidden(cfg, w, adapter, inputIDs, positionIDs, segmentIDs, nil, nil, true)
}

// checkpointedLayer is decoderLayer starting from a checkpoint of x.
func checkpointedLayer(cfg *Config, w Weights, adapter Adapter, l int, x, cos, sin, mask5 *Node) *Node {
	x = x.Checkpoint()
	return decoderLayer(cfg, anchorWeights(w, x, fmt.Sprintf("model.layers.%d.", l)), adapter, l, x, cos, sin, mask5, nil)
}

// anchorWeights returns w where every non-float32 weight whose name starts with one of the
// prefixes is made to depend on anchor (a SchedulingBarrier): whatever the forward pass derives
// from it (a float32 copy, a dequantized matrix) is then computed only once anchor is, and —
// anchor being a checkpoint — recomputed in the backward pass instead of being held from the
// forward pass. float32 weights are used as they are, so nothing changes for them.
func anchorWeights(w Weights, anchor *Node, prefixes ...string) Weights {
	var out Weights
	for name, n := range w {
		if n == nil || n.DType() == dtypes.Float32 || !hasAnyPrefix(name, prefixes) {
			continue
		}
		if out == nil {
			out = make(Weights, len(w))
			for k, v := range w {
				out[k] = v
			}
		}
		out[name] = SchedulingBarrier(n, anchor)
	}
	if out == nil {
		return w
	}
	return out
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
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
	dims := hidden.Shape().Dimensions
	if len(dims) != 3 {
		panic(fmt.Errorf("llama.ChunkedCausalLMLoss: hidden must be [batch, seq, hidden], got shape %s", hidden.Shape()))
	}
	B, T, H := dims[0], dims[1], dims[2]
	if ld := labels.Shape().Dimensions; len(ld) != 2 || ld[0] != B || ld[1] != T {
		panic(fmt.Errorf("llama.ChunkedCausalLMLoss: labels have shape %s, want [%d, %d]", labels.Shape(), B, T))
	}
	N := B * T
	lab := shiftedTargets(labels)
	h := Reshape(hidden, N, H)
	if chunkSize <= 0 || chunkSize >= N {
		return TokenCrossEntropy(LMHead(cfg, w, adapter, h), lab)
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

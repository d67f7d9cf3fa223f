package llama

import (
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
// memory-lean switches of opts. With both switches off and rows nil it is
// CausalLMLoss(Forward(…), labels).
//
// rows, when not nil, is LossRows' [R] int32 list of the flat positions b·T+t whose target
// counts (padded with positions whose target does not): lm_head and the cross entropy then run
// on those R rows only — the same loss and gradients, without the logits of prompt tokens
// (bench-small masks half of them; pkg/bench/NOTES.md).
func TrainingLoss(cfg *Config, w Weights, adapter Adapter, inputIDs, positionIDs, segmentIDs, labels, rows *Node, opts MemoryOptions) (sum, count *Node) {
	var h *Node
	if opts.GradientCheckpointing {
		h = HiddenCheckpointed(cfg, w, adapter, inputIDs, positionIDs, segmentIDs)
	} else {
		h = Hidden(cfg, w, adapter, inputIDs, positionIDs, segmentIDs, nil, nil)
	}
	flat, targets := FlatShifted(h, labels) // [B·T, hidden], [B·T]
	if rows != nil {
		idx := InsertAxes(ConvertDType(rows, dtypes.Int32), -1)
		flat, targets = Gather(flat, idx), Gather(targets, idx)
	}
	if opts.LossChunkSize > 0 {
		return chunkedTokenLoss(cfg, w, adapter, flat, targets, opts.LossChunkSize)
	}
	return TokenCrossEntropy(LMHead(cfg, w, adapter, flat), targets)
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

// CheckpointedAdapter is implemented by adapters that take part in gradient checkpointing (LoRA
// does). Each decoder layer calls BeginCheckpoint with its checkpointed input before the layer's
// Linear modules run. The adapter
//   - makes its random state (dropout) depend on anchor and a checkpoint itself, so that the
//     layer's draws happen when the layer runs and are redrawn — the same numbers, from the same
//     state — when it is recomputed, instead of every layer's masks being drawn up front and held;
//   - returns a function giving the gradients of the adapter tensors that the layer reads (known
//     once the backward pass has been built through the layer). The backward pass of the layer
//     below waits for them, so that they are computed — and the recomputed activations they need
//     freed — layer by layer, not all at the end (a dependency-order schedule puts the small
//     weight gradients, whose path to the outputs is short, last).
type CheckpointedAdapter interface {
	BeginCheckpoint(anchor *Node) (gradients func() []*Node)
}

// checkpointedLayer is decoderLayer starting from a checkpoint of x.
func checkpointedLayer(cfg *Config, w Weights, adapter Adapter, l int, x *Node, rot rope, mask5 *Node) *Node {
	var grads func() []*Node
	x = IdentityWithCustomGradient(x, func(_, v *Node) *Node {
		if grads != nil {
			if g := grads(); len(g) > 0 {
				return SchedulingBarrier(v, g...)
			}
		}
		return v
	})
	// A barrier between the custom gradient and Checkpoint: GoMLX v0.28.16's
	// OptimizationBarrier.CloneWithInputs returns the barrier's input and resets its custom gradient.
	x = SchedulingBarrier(x).Checkpoint()
	if ca, ok := adapter.(CheckpointedAdapter); ok {
		grads = ca.BeginCheckpoint(x)
	}
	return decoderLayer(cfg, withModuleAnchors(w), adapter, l, x, rot, mask5, nil, true)
}

// moduleAnchors is a Weights key (never a parameter name) that makes linear tie each module's
// stored weight to the module's own input: see withModuleAnchors.
const moduleAnchors = "\x00anchor-to-module-input"

// withModuleAnchors returns a copy of w marked so that, in a checkpointed layer, each Linear
// module's non-float32 weight (and its quantization scales) is converted or dequantized only once
// the module's input exists (anchorWeights with the input as anchor): inside a checkpoint that
// also makes the conversion part of what the backward pass recomputes. Anchored to the module
// rather than to the layer's input, the seven float32 copies of a layer (0.8 GB at
// deepseek-llm-7b) are not all made at once when the layer starts.
func withModuleAnchors(w Weights) Weights {
	out := make(Weights, len(w)+1)
	for k, v := range w {
		out[k] = v
	}
	out[moduleAnchors] = nil
	return out
}

// anchorWeights returns w where every entry whose name starts with one of the prefixes — but
// float32 weight matrices — is made to depend on anchor (a SchedulingBarrier): whatever the
// forward pass derives from it (a float32 copy of a bf16 weight, a dequantized matrix, the
// broadcast block scales of a quantized one) is then computed only once anchor is, and — anchor
// being a checkpoint — recomputed in the backward pass instead of being held from the forward
// pass. float32 weight matrices are used as they are (a barrier would copy them).
func anchorWeights(w Weights, anchor *Node, prefixes ...string) Weights {
	var out Weights
	for name, n := range w {
		if n == nil || !hasAnyPrefix(name, prefixes) || (n.DType() == dtypes.Float32 && strings.HasSuffix(name, ".weight")) {
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

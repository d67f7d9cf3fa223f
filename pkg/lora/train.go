package lora

import (
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/loralab/loralab/pkg/llama"
)

// StepGraph is what one training micro-batch contributes, built inside a graph.
type StepGraph struct {
	LossSum, Count *Node   // summed token loss and number of supervised tokens (float32 scalars)
	Grads          []*Node // d(LossSum)/d(trainable[i]) — of the sum, so the trainer divides by its window's count
	RNG            *Node   // the RNG state after dropout (feed it to the next step); nil if none was given
}

// BuildStep builds the causal-LM loss of a micro-batch and its gradients with respect to the
// adapter's tensors only: base weights are plain inputs, never differentiated (frozen).
//
// w must hold the base weights and the adapter's tensors (Plan.ParamSpecs names; adapter entries
// with base names, such as modules_to_save copies, replace the base ones). trainable lists the
// adapter tensor names to differentiate (usually Adapter.Names()). positionIDs and segmentIDs
// may be nil. rng (a GoMLX RNG state) is needed when lora_dropout > 0; with training=false no
// dropout is applied.
func BuildStep(mc *llama.Config, plan *Plan, w llama.Weights, trainable []string,
	inputIDs, positionIDs, segmentIDs, labels, rng *Node, training bool) StepGraph {
	var ad *Bound
	if training {
		ad = BindTraining(plan, w, rng)
	} else {
		ad = &Bound{Plan: plan, W: w}
	}
	logits := llama.Forward(mc, w, ad, inputIDs, positionIDs, segmentIDs)
	sum, count := llama.CausalLMLoss(logits, labels)
	nodes := make([]*Node, len(trainable))
	for i, n := range trainable {
		nodes[i] = ad.get(n)
	}
	out := StepGraph{LossSum: sum, Count: count, RNG: ad.RNG}
	if len(nodes) > 0 {
		out.Grads = Gradient(sum, nodes...)
	}
	return out
}

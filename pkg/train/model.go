package train

import (
	"fmt"
	"sort"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph-building style
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/lora"
)

// Model is what the trainer trains: named parameters and a function that builds the logits in a
// GoMLX graph. It knows nothing of the trainer, so any graph can be plugged in (ToyLM in tests
// and examples; the llama forward pass with a LoRA adapter in the notebooks).
//
// Gradients are taken with respect to Trainable only: Frozen parameters are graph inputs with
// no gradient and no optimizer state. Names are HF/PEFT names; they are ordered by name
// everywhere (graph inputs, checkpoints).
type Model struct {
	// Trainable holds the initial values of the parameters to train (float32 tensors).
	Trainable map[string]*tensors.Tensor
	// Frozen holds the parameters that are read but not trained (the base model). May be nil.
	Frozen map[string]*tensors.Tensor

	// Logits builds the logits [B, T, V] of a batch (float32). It is required: evaluation
	// (loss, perplexity, token accuracy) is computed from it.
	Logits func(in *Inputs) *Node

	// Loss optionally builds the summed token loss and the count of supervised tokens of a
	// batch (float32 scalars), replacing the default llama.CausalLMLoss(Logits(in), in.Labels) in
	// training (e.g. a chunked cross entropy that never materialises all logits). It must
	// follow the HF convention: labels aligned with input_ids, shift inside. It receives
	// Inputs.LossRows, which it may use or ignore.
	Loss func(in *Inputs) (sum, count *Node)
}

// validate checks the parameter sets.
func (m Model) validate() error {
	if m.Logits == nil {
		return fmt.Errorf("train: Model.Logits is nil")
	}
	if len(m.Trainable) == 0 {
		return fmt.Errorf("train: Model.Trainable is empty: nothing to train")
	}
	for name, t := range m.Trainable {
		if t == nil {
			return fmt.Errorf("train: trainable parameter %q is nil", name)
		}
		if t.Shape().DType != dtypes.Float32 {
			return fmt.Errorf("train: trainable parameter %q has dtype %s, want float32", name, t.Shape().DType)
		}
		if _, ok := m.Frozen[name]; ok {
			return fmt.Errorf("train: parameter %q is both trainable and frozen", name)
		}
	}
	for name, t := range m.Frozen {
		if t == nil {
			return fmt.Errorf("train: frozen parameter %q is nil", name)
		}
	}
	return nil
}

// Inputs is what a Model's graph functions receive: the parameters as graph nodes and one batch.
type Inputs struct {
	// Trainable and Frozen are the parameters by name.
	Trainable, Frozen map[string]*Node
	// InputIDs and Labels are [B, T] int32; Labels use mask.IgnoreIndex for unsupervised tokens and
	// are aligned with InputIDs (the loss shifts them).
	InputIDs, Labels *Node
	// PositionIDs and SegmentIDs are [B, T] int32 for packed batches, nil otherwise.
	PositionIDs, SegmentIDs *Node
	// Training is true in training steps (dropout active) and false in evaluation.
	Training bool
	// Memory holds the memory-lean switches of Args (gradient_checkpointing, loss_chunk_size)
	// in training steps; a Model's Loss applies them (LoRAModel and FullModel do).
	Memory llama.MemoryOptions
	// LossRows, in training steps of a Model with a Loss and a batch whose labels skip enough
	// positions, is llama.LossRows' [R] int32 list of the flat positions whose target counts
	// (padded with positions whose target does not); nil otherwise. A Loss may restrict lm_head
	// and the cross entropy to these rows (llama.TrainingLoss does): the loss and gradients are
	// the same.
	LossRows *Node

	rng *Node // RNG state, threaded through Random calls; nil outside training
}

// Param returns the parameter called name, trainable or frozen. It panics (inside graph
// building, which Exec turns into an error) if there is none.
func (in *Inputs) Param(name string) *Node {
	if n, ok := in.Trainable[name]; ok {
		return n
	}
	if n, ok := in.Frozen[name]; ok {
		return n
	}
	exceptions.Panicf("train: the model asked for parameter %q, which is neither trainable nor frozen", name)
	return nil
}

// Params returns all parameters, trainable ones replacing frozen ones of the same name: the
// map a forward function such as llama's Weights expects.
func (in *Inputs) Params() map[string]*Node {
	out := make(map[string]*Node, len(in.Trainable)+len(in.Frozen))
	for k, v := range in.Frozen {
		out[k] = v
	}
	for k, v := range in.Trainable {
		out[k] = v
	}
	return out
}

// RNG returns the current RNG state node (nil outside training), for graph code that threads
// its own state, such as lora.BindTraining; give the advanced state back with SetRNG.
func (in *Inputs) RNG() *Node { return in.rng }

// SetRNG replaces the RNG state node by one derived from RNG() (after drawing random numbers
// from it), so that the step carries it to the next one and into checkpoints.
func (in *Inputs) SetRNG(state *Node) {
	if in.rng == nil {
		exceptions.Panicf("train: SetRNG called outside training (Inputs.Training is false)")
	}
	in.rng = state
}

// Dropout zeroes each element of x with probability rate and scales the rest by 1/(1−rate)
// (torch.nn.Dropout, lora.Dropout) in training, drawing from the trainer's RNG; it returns x
// unchanged in evaluation or when rate is 0.
func (in *Inputs) Dropout(x *Node, rate float64) *Node {
	if !in.Training {
		return x
	}
	var y *Node
	in.rng, y = lora.Dropout(in.rng, x, rate)
	return y
}

// sortedNames returns the keys of m, sorted.
func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

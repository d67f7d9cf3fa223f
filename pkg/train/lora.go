package train

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/lora"
)

// LoRAModel makes the trainer's Model for LoRA fine-tuning of base with adapter: the adapter's
// tensors (LoRA A/B, modules_to_save copies, trainable biases) are trained, every other base
// weight is frozen. lora_dropout draws from the trainer's RNG, only in training. adapter keeps
// its initial tensors and can no longer be saved: save TrainedAdapter's copy.
func LoRAModel(base *llama.Model, adapter *lora.Adapter) Model {
	adapter.HandTo("train.LoRAModel") // its tensors stay the initial ones: Save refuses them
	trainable := map[string]*tensors.Tensor{}
	for _, nt := range adapter.AdapterTensors() {
		trainable[nt.Name] = nt.Tensor
	}
	frozen := map[string]*tensors.Tensor{}
	for _, nt := range base.Tensors() { // HF names; a quantized weight as its parts
		if _, ok := trainable[nt.Name]; !ok {
			frozen[nt.Name] = nt.Tensor
		}
	}
	cfg := base.Config
	return Model{Trainable: trainable, Frozen: frozen,
		Logits: func(in *Inputs) *Node {
			w := llama.Weights(in.Params())
			if !in.Training {
				return llama.Forward(cfg, w, adapter.Bind(w), in.InputIDs, in.PositionIDs, in.SegmentIDs)
			}
			hook := lora.BindTraining(adapter.Plan, w, in.RNG())
			logits := llama.Forward(cfg, w, hook, in.InputIDs, in.PositionIDs, in.SegmentIDs)
			in.SetRNG(hook.RNG)
			return logits
		},
		Loss: func(in *Inputs) (sum, count *Node) {
			w := llama.Weights(in.Params())
			hook := lora.BindTraining(adapter.Plan, w, in.RNG())
			sum, count = llama.TrainingLoss(cfg, w, hook, in.InputIDs, in.PositionIDs, in.SegmentIDs, in.Labels, in.LossRows, in.Memory)
			in.SetRNG(hook.RNG)
			return sum, count
		}}
}

// FullModel makes the trainer's Model for full fine-tuning (or pretraining) of m: every weight
// is trainable.
func FullModel(m *llama.Model) Model {
	cfg := m.Config
	return Model{Trainable: m.Weights, Frozen: map[string]*tensors.Tensor{},
		Logits: func(in *Inputs) *Node {
			return llama.Forward(cfg, llama.Weights(in.Params()), nil, in.InputIDs, in.PositionIDs, in.SegmentIDs)
		},
		Loss: func(in *Inputs) (sum, count *Node) {
			return llama.TrainingLoss(cfg, llama.Weights(in.Params()), nil, in.InputIDs, in.PositionIDs, in.SegmentIDs, in.Labels, in.LossRows, in.Memory)
		}}
}

// TrainedAdapter returns a copy of adapter holding the trainer's current parameters, ready to
// Save as a PEFT adapter, Merge, or use in a llama.Runner.
func TrainedAdapter(t *Trainer, adapter *lora.Adapter) (*lora.Adapter, error) {
	params, err := t.Params()
	if err != nil {
		return nil, err
	}
	out := adapter.Clone()
	for name := range out.Tensors {
		p, ok := params[name]
		if !ok {
			return nil, fmt.Errorf("trained adapter: the trainer has no parameter %q", name)
		}
		out.Tensors[name] = p
	}
	return out, out.Check()
}

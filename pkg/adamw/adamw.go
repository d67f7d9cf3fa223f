// Package adamw is LoRA Lab's optimizer: AdamW with PyTorch semantics, parameter groups in the
// way HF's Trainer and PEFT's LoRA+ build them, global-norm gradient clipping and the learning
// rate schedules of HF transformers' get_scheduler.
//
// Names follow HF TrainingArguments (learning_rate, adam_beta1, adam_beta2, adam_epsilon,
// weight_decay, max_grad_norm, lr_scheduler_type, warmup_steps, warmup_ratio) and PEFT
// (loraplus_lr_ratio, loraplus_lr_embedding), with the same defaults.
//
// The update is torch.optim.AdamW's (torch 1.13 _single_tensor_adamw), for parameter p with
// gradient g at step t = 1, 2, …:
//
//	p = p · (1 − lr·wd)                       decoupled weight decay, before the Adam update
//	m = β1·m + (1−β1)·g
//	v = β2·v + (1−β2)·g²
//	p = p − lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + ε)
//
// which is p − lr·m̂/(sqrt(v̂)+ε) with m̂ = m/(1−β1^t), v̂ = v/(1−β2^t): ε sits outside the
// square root. The scalar coefficients are computed in float64, as torch does in Python.
//
// There are two ways to use it:
//
//   - UpdateGraph (and ClipGradNorm) build the update inside a GoMLX graph, so a trainer runs
//     forward, backward, clipping and the update fused in one Exec.
//   - Optimizer holds the moments and the step count keyed by parameter name, runs its own
//     compiled Exec on named tensors, and exports/imports its state for checkpoints.
//
// Schedule gives the learning rate for each optimizer step.
//
// Coupled weight decay (Config.CoupledWeightDecay) turns AdamW into Adam with L2
// regularisation, torch.optim.Adam(weight_decay=wd): the decay is added to the gradient,
// g = g + wd·p, before the moments, instead of shrinking p directly. Adam then divides it by
// sqrt(v̂) like the rest of the gradient, so parameters with large past gradients are
// regularised less — the coupling that Loshchilov & Hutter (Decoupled Weight Decay
// Regularization, ICLR 2019) remove with AdamW.
//
// Parity: testdata/gen_golden.py runs torch.optim.AdamW (two HF groups with clipping, and
// four LoRA+ groups) for 50 steps on stored gradients; Optimizer matches it within
// 1e-6 + 1e-5·|x| (largest parameter difference seen: 1.2e-7). testdata/gen_adam_l2.py runs
// torch.optim.Adam(weight_decay=…) on the same kind of scenarios for CoupledWeightDecay.
// testdata/gen_schedules.py
// restates HF's schedule lambdas; Schedule matches them at every step within 1e-12.
package adamw

import (
	"fmt"
	"math"
)

// HF TrainingArguments / PEFT defaults.
const (
	DefaultLearningRate        = 5e-5 // TrainingArguments.learning_rate
	DefaultAdamBeta1           = 0.9  // TrainingArguments.adam_beta1
	DefaultAdamBeta2           = 0.999
	DefaultAdamEpsilon         = 1e-8
	DefaultWeightDecay         = 0.0
	DefaultMaxGradNorm         = 1.0  // TrainingArguments.max_grad_norm
	DefaultLoRAPlusLREmbedding = 1e-6 // PEFT create_loraplus_optimizer(loraplus_lr_embedding=1e-6)
)

// Config holds AdamW's hyperparameters and the rules that split parameters into groups.
// Start from DefaultConfig: the zero value is not the HF default (β2 = 0 would be accepted).
type Config struct {
	// LearningRate is the base (peak) learning rate, HF learning_rate. The rate a step uses is
	// given to each step (it comes from a Schedule); LearningRate only turns the absolute
	// LoRAPlusLREmbedding into a multiplier of that rate.
	LearningRate float64 `json:"learning_rate"`

	AdamBeta1   float64 `json:"adam_beta1"`
	AdamBeta2   float64 `json:"adam_beta2"`
	AdamEpsilon float64 `json:"adam_epsilon"`

	// WeightDecay is applied to the parameters of decaying groups (HF weight_decay, default 0).
	WeightDecay float64 `json:"weight_decay"`

	// CoupledWeightDecay applies WeightDecay as L2 regularisation added to the gradient,
	// g ← g + wd·p before the moments (torch.optim.Adam(weight_decay=wd), i.e. Adam with
	// decoupled_weight_decay=False), instead of AdamW's decoupled p ← p·(1 − lr·wd). The groups
	// decide which parameters decay, as for AdamW. No TrainingArguments field selects it: HF's
	// optimizers with weight decay are AdamW.
	CoupledWeightDecay bool `json:"coupled_weight_decay,omitempty"`

	// MaxGradNorm clips the global gradient norm before each Optimizer.Step (HF max_grad_norm,
	// default 1.0); 0 or less disables clipping. UpdateGraph does not clip: call ClipGradNorm.
	MaxGradNorm float64 `json:"max_grad_norm"`

	// NoDecay tells which parameters get no weight decay. Nil means HFNoDecay (biases and
	// norm weights, by name, as HF's Trainer). See also NoDecayOneDim.
	NoDecay func(name string, dims []int) bool `json:"-"`

	// LoRAPlusLRRatio > 0 enables LoRA+ (PEFT create_loraplus_optimizer): lora_B weights and
	// 1-D parameters learn at ratio × the learning rate. Typical values are 2–16.
	LoRAPlusLRRatio float64 `json:"loraplus_lr_ratio,omitempty"`
	// LoRAPlusLREmbedding is the absolute learning rate of LoRA embedding parameters
	// (lora_embedding_A, lora_embedding_B) under LoRA+, scaled by the schedule like the rest.
	LoRAPlusLREmbedding float64 `json:"loraplus_lr_embedding,omitempty"`

	// Groups, when not empty, replaces the default grouping: each parameter goes to the first
	// group whose Match accepts it, and it is an error if none does.
	Groups []Group `json:"-"`
}

// DefaultConfig returns HF TrainingArguments' defaults: learning_rate 5e-5, adam_beta1 0.9,
// adam_beta2 0.999, adam_epsilon 1e-8, weight_decay 0, max_grad_norm 1.0; LoRA+ off, with
// PEFT's loraplus_lr_embedding default 1e-6 ready for when it is turned on.
func DefaultConfig() Config {
	return Config{
		LearningRate:        DefaultLearningRate,
		AdamBeta1:           DefaultAdamBeta1,
		AdamBeta2:           DefaultAdamBeta2,
		AdamEpsilon:         DefaultAdamEpsilon,
		WeightDecay:         DefaultWeightDecay,
		MaxGradNorm:         DefaultMaxGradNorm,
		LoRAPlusLREmbedding: DefaultLoRAPlusLREmbedding,
	}
}

// Validate checks the ranges torch.optim.AdamW checks, plus the LoRA+ and group settings.
func (c Config) Validate() error {
	finite := func(name string, v float64) error {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("adamw: %s = %v is not a finite number", name, v)
		}
		return nil
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"learning_rate", c.LearningRate}, {"adam_beta1", c.AdamBeta1}, {"adam_beta2", c.AdamBeta2},
		{"adam_epsilon", c.AdamEpsilon}, {"weight_decay", c.WeightDecay}, {"max_grad_norm", c.MaxGradNorm},
		{"loraplus_lr_ratio", c.LoRAPlusLRRatio}, {"loraplus_lr_embedding", c.LoRAPlusLREmbedding}} {
		if err := finite(f.name, f.v); err != nil {
			return err
		}
	}
	switch {
	case c.LearningRate < 0:
		return fmt.Errorf("adamw: learning_rate = %g must be >= 0", c.LearningRate)
	case c.AdamBeta1 < 0 || c.AdamBeta1 >= 1:
		return fmt.Errorf("adamw: adam_beta1 = %g must be in [0, 1)", c.AdamBeta1)
	case c.AdamBeta2 < 0 || c.AdamBeta2 >= 1:
		return fmt.Errorf("adamw: adam_beta2 = %g must be in [0, 1)", c.AdamBeta2)
	case c.AdamEpsilon < 0:
		return fmt.Errorf("adamw: adam_epsilon = %g must be >= 0", c.AdamEpsilon)
	case c.WeightDecay < 0:
		return fmt.Errorf("adamw: weight_decay = %g must be >= 0", c.WeightDecay)
	case c.LoRAPlusLRRatio < 0:
		return fmt.Errorf("adamw: loraplus_lr_ratio = %g must be >= 0 (0 turns LoRA+ off)", c.LoRAPlusLRRatio)
	case c.LoRAPlusLRRatio > 0 && c.LoRAPlusLREmbedding < 0:
		return fmt.Errorf("adamw: loraplus_lr_embedding = %g must be >= 0", c.LoRAPlusLREmbedding)
	case c.LoRAPlusLRRatio > 0 && len(c.Groups) > 0:
		return fmt.Errorf("adamw: loraplus_lr_ratio and explicit Groups are exclusive: put the LoRA+ rates in the groups")
	}
	for i, g := range c.Groups {
		if err := g.validate(); err != nil {
			return fmt.Errorf("adamw: group %d (%q): %w", i, g.Name, err)
		}
	}
	return nil
}

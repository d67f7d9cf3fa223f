package adamw

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Hyper is what its group decides for one parameter: the parameter learns at
// LRScale × the step's learning rate and decays with WeightDecay. It is one torch param_group,
// with its lr written relative to the base learning rate so that a schedule scales every group
// alike (as torch's LambdaLR does).
type Hyper struct {
	Group       string  // group name, for reports
	LRScale     float64 // multiplier on the step's learning rate
	WeightDecay float64 // decoupled weight decay of the group
}

// Group is an explicit parameter group. Config.Groups lists them in order; a parameter goes to
// the first group whose Match accepts it.
type Group struct {
	Name string
	// Match selects the group's parameters by HF/PEFT name and dimensions; nil matches all.
	Match func(name string, dims []int) bool
	// LRScale multiplies the step's learning rate; 0 means 1 (the base rate). To freeze a
	// parameter leave it out of the optimizer instead.
	LRScale     float64
	WeightDecay float64
}

func (g Group) validate() error {
	if math.IsNaN(g.LRScale) || math.IsInf(g.LRScale, 0) || g.LRScale < 0 {
		return fmt.Errorf("LRScale = %v must be a finite number >= 0", g.LRScale)
	}
	if math.IsNaN(g.WeightDecay) || math.IsInf(g.WeightDecay, 0) || g.WeightDecay < 0 {
		return fmt.Errorf("WeightDecay = %v must be a finite number >= 0", g.WeightDecay)
	}
	return nil
}

// HFNoDecay is HF Trainer's rule for parameters without weight decay
// (Trainer.get_decay_parameter_names): the lower-cased name contains "bias", "layernorm" or
// "rmsnorm", or has a path segment "norm" or one ending in "_norm". So `…q_proj.bias`,
// `model.layers.0.input_layernorm.weight`, `…post_attention_layernorm.weight`,
// `model.norm.weight` and `…self_attn.q_norm.weight` get no decay, while every other weight
// does — including 1-D ones that are not biases or norms (see NoDecayOneDim). HF additionally
// exempts parameters of nn.LayerNorm modules by type; with Llama-style names the name test
// covers them.
func HFNoDecay(name string, dims []int) bool {
	low := strings.ToLower(name)
	if strings.Contains(low, "bias") || strings.Contains(low, "layernorm") || strings.Contains(low, "rmsnorm") {
		return true
	}
	for _, seg := range strings.Split(low, ".") {
		if seg == "norm" || strings.HasSuffix(seg, "_norm") {
			return true
		}
	}
	return false
}

// NoDecayOneDim is HFNoDecay plus every parameter with fewer than two dimensions: the other
// common rule (nanoGPT, many PyTorch recipes), which also exempts scales and gains.
func NoDecayOneDim(name string, dims []int) bool {
	return len(dims) < 2 || HFNoDecay(name, dims)
}

// Assign returns the group settings of the parameter called name with the given dimensions:
//
//   - With Config.Groups: the first group that matches; an error if none does.
//   - With LoRA+ (LoRAPlusLRRatio > 0), PEFT's create_loraplus_optimizer groups:
//     "embedding" for lora_embedding_A / lora_embedding_B (absolute rate LoRAPlusLREmbedding,
//     default 1e-6, with weight decay), "groupB" / "groupB_no_decay" for names containing
//     "lora_B" and for 1-D parameters (rate × LoRAPlusLRRatio; decay unless NoDecay or the
//     name contains "bias"), and "groupA" for the rest (base rate, with weight decay).
//   - Otherwise HF Trainer's two groups: "decay" (WeightDecay) and "no_decay" (0), by NoDecay.
//
// Two notes on PEFT. Its embedding group is the LoRA Embedding module's parameters; PEFT before
// huggingface/peft#3503 (merged 2026-08) never filled it, so embedding LoRA weights trained at
// the base rate. And PEFT's own decay list comes from transformers'
// get_parameter_names(model, ALL_LAYERNORM_LAYERS) minus "bias", which exempts nn.LayerNorm
// but not Llama's RMSNorm; here the one NoDecay rule (default HFNoDecay) is used in all modes.
// For PEFT's exact behaviour on a Llama model set NoDecay to BiasNoDecay.
func (c Config) Assign(name string, dims []int) (Hyper, error) {
	noDecay := c.NoDecay
	if noDecay == nil {
		noDecay = HFNoDecay
	}
	if len(c.Groups) > 0 {
		for _, g := range c.Groups {
			if g.Match == nil || g.Match(name, dims) {
				scale := g.LRScale
				if scale == 0 {
					scale = 1
				}
				return Hyper{Group: g.Name, LRScale: scale, WeightDecay: g.WeightDecay}, nil
			}
		}
		return Hyper{}, fmt.Errorf("adamw: parameter %q (dims %v) matches none of the %d groups", name, dims, len(c.Groups))
	}
	if c.LoRAPlusLRRatio > 0 {
		switch {
		case strings.Contains(name, "lora_embedding_A") || strings.Contains(name, "lora_embedding_B"):
			embLR := c.LoRAPlusLREmbedding
			if embLR == 0 {
				embLR = DefaultLoRAPlusLREmbedding
			}
			if c.LearningRate <= 0 {
				return Hyper{}, fmt.Errorf("adamw: parameter %q: LoRA+ embedding rate %g needs learning_rate > 0 to become a multiplier, got %g",
					name, embLR, c.LearningRate)
			}
			return Hyper{Group: "embedding", LRScale: embLR / c.LearningRate, WeightDecay: c.WeightDecay}, nil
		case strings.Contains(name, "lora_B") || len(dims) == 1:
			if noDecay(name, dims) || strings.Contains(name, "bias") {
				return Hyper{Group: "groupB_no_decay", LRScale: c.LoRAPlusLRRatio}, nil
			}
			return Hyper{Group: "groupB", LRScale: c.LoRAPlusLRRatio, WeightDecay: c.WeightDecay}, nil
		default:
			return Hyper{Group: "groupA", LRScale: 1, WeightDecay: c.WeightDecay}, nil
		}
	}
	if noDecay(name, dims) {
		return Hyper{Group: "no_decay", LRScale: 1}, nil
	}
	return Hyper{Group: "decay", LRScale: 1, WeightDecay: c.WeightDecay}, nil
}

// BiasNoDecay exempts only names containing "bias": with LoRA+ this reproduces PEFT's
// create_loraplus_optimizer on Llama models, whose RMSNorm weights PEFT decays.
func BiasNoDecay(name string, dims []int) bool {
	return strings.Contains(name, "bias")
}

// AssignAll assigns every parameter (names[i] with dims[i]) and returns their settings in order.
func (c Config) AssignAll(names []string, dims [][]int) ([]Hyper, error) {
	if len(names) != len(dims) {
		return nil, fmt.Errorf("adamw: %d names but %d dimension lists", len(names), len(dims))
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	out := make([]Hyper, len(names))
	var errs []error
	for i, n := range names {
		h, err := c.Assign(n, dims[i])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[i] = h
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// DescribeGroups assigns the parameters and returns a small table, one line per group in
// order of first appearance: group name, number of tensors, number of values, learning-rate
// multiplier and weight decay. Notebooks print it before training.
func (c Config) DescribeGroups(names []string, dims [][]int) (string, error) {
	hypers, err := c.AssignAll(names, dims)
	if err != nil {
		return "", err
	}
	type row struct {
		h       Hyper
		tensors int
		values  int
	}
	var order []string
	rows := map[string]*row{}
	for i, h := range hypers {
		key := fmt.Sprintf("%s\x00%g\x00%g", h.Group, h.LRScale, h.WeightDecay)
		r, ok := rows[key]
		if !ok {
			r = &row{h: h}
			rows[key] = r
			order = append(order, key)
		}
		n := 1
		for _, d := range dims[i] {
			n *= d
		}
		r.tensors++
		r.values += n
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-16s %7s %12s %8s %12s\n", "group", "tensors", "values", "lr×", "weight_decay")
	for _, key := range order {
		r := rows[key]
		fmt.Fprintf(&sb, "%-16s %7d %12d %8.4g %12.4g\n", r.h.Group, r.tensors, r.values, r.h.LRScale, r.h.WeightDecay)
	}
	return sb.String(), nil
}

package train

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"

	"github.com/loralab/loralab/pkg/adamw"
	"github.com/loralab/loralab/pkg/llama"
)

// Args are the training options, named (JSON tags) and defaulted as HF TrainingArguments.
// Start from DefaultArgs.
type Args struct {
	OutputDir string `json:"output_dir"`

	LearningRate float64 `json:"learning_rate"`
	// The batch sizes are those of the loaders NewFromExamples builds; a Loader given to New
	// makes its own batches.
	PerDeviceTrainBatchSize   int `json:"per_device_train_batch_size"`
	PerDeviceEvalBatchSize    int `json:"per_device_eval_batch_size"`
	GradientAccumulationSteps int `json:"gradient_accumulation_steps"`
	// NumTrainEpochs may be fractional; MaxSteps > 0 overrides it.
	NumTrainEpochs float64 `json:"num_train_epochs"`
	MaxSteps       int     `json:"max_steps"`

	LRSchedulerType string  `json:"lr_scheduler_type"`
	WarmupRatio     float64 `json:"warmup_ratio"`
	WarmupSteps     int     `json:"warmup_steps"`
	// MinLRRate is the floor of cosine_with_min_lr as a fraction of learning_rate
	// (HF lr_scheduler_kwargs={"min_lr_rate": …}).
	MinLRRate float64 `json:"min_lr_rate,omitempty"`

	WeightDecay float64 `json:"weight_decay"`
	AdamBeta1   float64 `json:"adam_beta1"`
	AdamBeta2   float64 `json:"adam_beta2"`
	AdamEpsilon float64 `json:"adam_epsilon"`
	MaxGradNorm float64 `json:"max_grad_norm"`
	// CoupledWeightDecay applies weight_decay as L2 added to the gradient, as
	// torch.optim.Adam(weight_decay=…) does, instead of AdamW's decoupled decay (no
	// TrainingArguments field; see adamw.Config.CoupledWeightDecay).
	CoupledWeightDecay bool `json:"coupled_weight_decay,omitempty"`
	// LoRAPlusLRRatio > 0 trains lora_B weights at ratio × the learning rate (LoRA+, PEFT).
	LoRAPlusLRRatio float64 `json:"loraplus_lr_ratio,omitempty"`

	Seed int64 `json:"seed"`

	// LoggingSteps: a history row is kept for every step; the progress line is printed (outside
	// a terminal or notebook) every LoggingSteps steps.
	LoggingSteps int `json:"logging_steps"`
	// With an eval Loader, evaluation runs at the end of training and, when EvalSteps > 0,
	// every EvalSteps steps.
	EvalSteps int `json:"eval_steps"`
	// SaveSteps > 0 writes a checkpoint every SaveSteps steps; with an OutputDir a checkpoint is
	// also written at the end. Without OutputDir nothing is saved.
	SaveSteps int `json:"save_steps"`
	// SaveTotalLimit > 0 keeps only the newest checkpoints.
	SaveTotalLimit int `json:"save_total_limit"`
	// DisableTQDM turns the progress line off (HF disable_tqdm).
	DisableTQDM bool `json:"disable_tqdm"`

	// GradientCheckpointing recomputes each decoder layer's activations in the backward pass
	// instead of keeping them from the forward pass (HF gradient_checkpointing).
	GradientCheckpointing bool `json:"gradient_checkpointing"`
	// LossChunkSize > 0 computes the lm_head and the loss that many tokens at a time, so that the
	// [tokens, vocab] logits and their gradient are never held whole (llama.ChunkedCausalLMLoss;
	// TrainingArguments has no such field, the nearest is use_liger_kernel).
	LossChunkSize int `json:"loss_chunk_size,omitempty"`
}

// DefaultArgs returns HF TrainingArguments' defaults: learning_rate 5e-5, batch size 8,
// accumulation 1, 3 epochs, linear schedule without warmup, AdamW (0.9, 0.999, 1e-8), no weight
// decay, max_grad_norm 1, seed 42, logging/eval/save every 500 steps.
func DefaultArgs() Args {
	return Args{
		LearningRate:              adamw.DefaultLearningRate,
		PerDeviceTrainBatchSize:   8,
		PerDeviceEvalBatchSize:    8,
		GradientAccumulationSteps: 1,
		NumTrainEpochs:            3,
		MaxSteps:                  -1,
		LRSchedulerType:           adamw.Linear,
		WeightDecay:               adamw.DefaultWeightDecay,
		AdamBeta1:                 adamw.DefaultAdamBeta1,
		AdamBeta2:                 adamw.DefaultAdamBeta2,
		AdamEpsilon:               adamw.DefaultAdamEpsilon,
		MaxGradNorm:               adamw.DefaultMaxGradNorm,
		Seed:                      42,
		LoggingSteps:              500,
		EvalSteps:                 500,
		SaveSteps:                 500,
	}
}

// Validate checks the options that the trainer uses.
func (a Args) Validate() error {
	switch {
	case a.GradientAccumulationSteps < 1:
		return fmt.Errorf("train: gradient_accumulation_steps = %d must be >= 1", a.GradientAccumulationSteps)
	case a.MaxSteps <= 0 && (a.NumTrainEpochs <= 0 || math.IsNaN(a.NumTrainEpochs) || math.IsInf(a.NumTrainEpochs, 0)):
		return fmt.Errorf("train: set max_steps > 0 or num_train_epochs > 0 (got %d, %v)", a.MaxSteps, a.NumTrainEpochs)
	case a.LossChunkSize < 0:
		return fmt.Errorf("train: loss_chunk_size = %d must be >= 0 (0: the whole batch at once)", a.LossChunkSize)
	case a.LoggingSteps < 0 || a.EvalSteps < 0 || a.SaveSteps < 0 || a.SaveTotalLimit < 0:
		return fmt.Errorf("train: logging_steps, eval_steps, save_steps and save_total_limit must be >= 0")
	}
	if err := a.OptimizerConfig().Validate(); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return a.Schedule(1).Validate()
}

// OptimizerConfig returns the AdamW configuration of these arguments.
func (a Args) OptimizerConfig() adamw.Config {
	c := adamw.DefaultConfig()
	c.LearningRate = a.LearningRate
	c.AdamBeta1, c.AdamBeta2, c.AdamEpsilon = a.AdamBeta1, a.AdamBeta2, a.AdamEpsilon
	c.WeightDecay = a.WeightDecay
	c.MaxGradNorm = a.MaxGradNorm
	c.CoupledWeightDecay = a.CoupledWeightDecay
	c.LoRAPlusLRRatio = a.LoRAPlusLRRatio
	return c
}

// MemoryOptions returns the memory-lean switches of these arguments (gradient_checkpointing,
// loss_chunk_size), which the training steps hand to the Model in Inputs.Memory.
func (a Args) MemoryOptions() llama.MemoryOptions {
	return llama.MemoryOptions{GradientCheckpointing: a.GradientCheckpointing, LossChunkSize: a.LossChunkSize}
}

// Schedule returns the learning-rate schedule for a run of totalSteps optimizer steps.
func (a Args) Schedule(totalSteps int) adamw.Schedule {
	return adamw.Schedule{Type: a.LRSchedulerType, BaseLR: a.LearningRate, WarmupSteps: a.WarmupSteps,
		WarmupRatio: a.WarmupRatio, TotalSteps: totalSteps, MinLRRate: a.MinLRRate}
}

// StepsPerEpoch returns the optimizer steps of an epoch of numBatches micro-batches: the last
// accumulation window of an epoch may be shorter (its loss is still normalised by its tokens).
func (a Args) StepsPerEpoch(numBatches int) int {
	acc := max(1, a.GradientAccumulationSteps)
	return max(1, (numBatches+acc-1)/acc)
}

// TotalSteps returns the number of optimizer steps of a run over numBatches micro-batches per
// epoch: MaxSteps when > 0, else ceil(NumTrainEpochs × StepsPerEpoch).
func (a Args) TotalSteps(numBatches int) int {
	if a.MaxSteps > 0 {
		return a.MaxSteps
	}
	return max(1, int(math.Ceil(a.NumTrainEpochs*float64(a.StepsPerEpoch(numBatches))-1e-9)))
}

// Apply sets the fields named by the keys of overrides (HF names, the JSON tags of Args, e.g.
// "learning_rate", "gradient_accumulation_steps") and returns the overrides it did not know,
// for the caller to apply elsewhere (LoRA's "r", "lora_alpha", "target_modules", …). Numbers
// are converted to the field's type (an integer field rejects 2.5).
func (a *Args) Apply(overrides map[string]any) (rest map[string]any, err error) {
	v := reflect.ValueOf(a).Elem()
	fields := map[string]int{}
	for i := 0; i < v.NumField(); i++ {
		tag := strings.Split(v.Type().Field(i).Tag.Get("json"), ",")[0]
		if tag != "" && tag != "-" {
			fields[tag] = i
		}
	}
	rest = map[string]any{}
	keys := sortedNames(overrides)
	for _, k := range keys {
		val := overrides[k]
		i, ok := fields[k]
		if !ok {
			rest[k] = val
			continue
		}
		// Round-trip through JSON: converts float64/int/json.Number/string alike.
		raw, err := json.Marshal(val)
		if err != nil {
			return nil, fmt.Errorf("train: override %s = %v: %w", k, val, err)
		}
		ptr := reflect.New(v.Field(i).Type())
		if err := json.Unmarshal(raw, ptr.Interface()); err != nil {
			return nil, fmt.Errorf("train: override %s = %v does not fit %s: %w", k, val, v.Field(i).Type(), err)
		}
		v.Field(i).Set(ptr.Elem())
	}
	return rest, nil
}

// String returns the non-default options as `name=value` pairs, sorted.
func (a Args) String() string {
	raw, _ := json.Marshal(a)
	def, _ := json.Marshal(DefaultArgs())
	var m, d map[string]any
	_ = json.Unmarshal(raw, &m)
	_ = json.Unmarshal(def, &d)
	var parts []string
	for k, val := range m {
		if !reflect.DeepEqual(val, d[k]) {
			parts = append(parts, fmt.Sprintf("%s=%v", k, val))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

package adamw

import (
	"fmt"
	"math"
	"strings"
)

// Schedule types, named as HF's lr_scheduler_type (transformers.SchedulerType).
const (
	Constant           = "constant"
	ConstantWithWarmup = "constant_with_warmup"
	Linear             = "linear"
	Cosine             = "cosine"
	CosineWithMinLR    = "cosine_with_min_lr"
	InverseSqrt        = "inverse_sqrt"
)

// ScheduleTypes lists the schedule types Schedule knows.
var ScheduleTypes = []string{Constant, ConstantWithWarmup, Linear, Cosine, CosineWithMinLR, InverseSqrt}

// Schedule is a learning-rate schedule with the semantics of HF transformers'
// get_scheduler: a multiplier on BaseLR, a function of the optimizer step s = 0, 1, 2, …
// (the Trainer steps its LambdaLR after each optimizer step, so step s runs with
// BaseLR·Multiplier(s); the first step of a warmup runs at rate 0).
//
// With w warmup steps and T = TotalSteps, every type but constant starts with the linear
// warmup s/max(1, w) for s < w; then, with p = (s − w)/max(1, T − w):
//
//	constant              1 (HF ignores warmup for this type)
//	constant_with_warmup  1
//	linear                max(0, (T − s)/max(1, T − w))
//	cosine                max(0, ½(1 + cos(π·2c·p)))             c = NumCycles, default 0.5
//	cosine_with_min_lr    max(0, ½(1 + cos(π·2c·p))·(1 − r) + r)  r = MinLRRate or MinLR/BaseLR
//	inverse_sqrt          1/sqrt((s + τ − w)/τ)                  τ = Timescale, default w or 10000
//
// Each is the lambda of transformers/optimization.py of the same name
// (_get_linear_schedule_with_warmup_lr_lambda, _get_cosine_schedule_with_warmup_lr_lambda,
// _get_inverse_sqrt_schedule_lr_lambda, …).
type Schedule struct {
	// Type is the lr_scheduler_type; "" means "linear", HF's default.
	Type string `json:"lr_scheduler_type"`
	// BaseLR is the peak learning rate, HF learning_rate.
	BaseLR float64 `json:"learning_rate"`
	// WarmupSteps, when > 0, is the number of warmup steps; otherwise warmup is
	// ceil(WarmupRatio·TotalSteps) (TrainingArguments.get_warmup_steps).
	WarmupSteps int     `json:"warmup_steps"`
	WarmupRatio float64 `json:"warmup_ratio"`
	// TotalSteps is the number of optimizer steps of the run (num_training_steps), required
	// by linear and the cosines, and by any type whose warmup is given as a ratio.
	TotalSteps int `json:"num_training_steps"`
	// NumCycles is the cosines' num_cycles; 0 means HF's 0.5 (a half cosine down to the floor).
	NumCycles float64 `json:"num_cycles,omitempty"`
	// MinLR or MinLRRate (exactly one, for cosine_with_min_lr only) set the floor of the cosine:
	// an absolute rate, or a fraction of BaseLR.
	MinLR     float64 `json:"min_lr,omitempty"`
	MinLRRate float64 `json:"min_lr_rate,omitempty"`
	// Timescale of inverse_sqrt; 0 means HF's default: the warmup steps, or 10000 without warmup.
	Timescale int `json:"timescale,omitempty"`
}

func (s Schedule) typ() string {
	if s.Type == "" {
		return Linear
	}
	return s.Type
}

// Validate reports a schedule that HF would reject or that cannot be evaluated: unknown type
// (the error lists the known ones), negative or non-finite values, a missing TotalSteps, or
// min_lr settings that do not fit the type.
func (s Schedule) Validate() error {
	typ := s.typ()
	known := false
	for _, k := range ScheduleTypes {
		if typ == k {
			known = true
		}
	}
	if !known {
		return fmt.Errorf("adamw: unknown lr_scheduler_type %q; known types: %s", s.Type, strings.Join(ScheduleTypes, ", "))
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"learning_rate", s.BaseLR}, {"warmup_ratio", s.WarmupRatio}, {"num_cycles", s.NumCycles},
		{"min_lr", s.MinLR}, {"min_lr_rate", s.MinLRRate}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			return fmt.Errorf("adamw: schedule %s: %s = %v must be a finite number >= 0", typ, f.name, f.v)
		}
	}
	switch {
	case s.WarmupSteps < 0:
		return fmt.Errorf("adamw: schedule %s: warmup_steps = %d must be >= 0", typ, s.WarmupSteps)
	case s.WarmupRatio > 1:
		return fmt.Errorf("adamw: schedule %s: warmup_ratio = %g must be in [0, 1]", typ, s.WarmupRatio)
	case s.TotalSteps < 0:
		return fmt.Errorf("adamw: schedule %s: num_training_steps = %d must be >= 0", typ, s.TotalSteps)
	case s.Timescale < 0:
		return fmt.Errorf("adamw: schedule %s: timescale = %d must be >= 0", typ, s.Timescale)
	}
	needsTotal := typ == Linear || typ == Cosine || typ == CosineWithMinLR
	if needsTotal && s.TotalSteps == 0 {
		return fmt.Errorf("adamw: schedule %s requires num_training_steps (TotalSteps) > 0", typ)
	}
	if s.WarmupSteps == 0 && s.WarmupRatio > 0 && s.TotalSteps == 0 && typ != Constant {
		return fmt.Errorf("adamw: schedule %s: warmup_ratio %g needs num_training_steps (TotalSteps) > 0", typ, s.WarmupRatio)
	}
	if typ == CosineWithMinLR {
		switch {
		case s.MinLR != 0 && s.MinLRRate != 0:
			return fmt.Errorf("adamw: schedule %s: set only one of min_lr (%g) and min_lr_rate (%g)", typ, s.MinLR, s.MinLRRate)
		case s.MinLR == 0 && s.MinLRRate == 0:
			return fmt.Errorf("adamw: schedule %s: set min_lr or min_lr_rate (for a floor of 0 use %q)", typ, Cosine)
		case s.MinLR != 0 && s.BaseLR == 0:
			return fmt.Errorf("adamw: schedule %s: min_lr %g needs learning_rate > 0", typ, s.MinLR)
		}
	} else if s.MinLR != 0 || s.MinLRRate != 0 {
		return fmt.Errorf("adamw: schedule %s: min_lr and min_lr_rate apply only to %s", typ, CosineWithMinLR)
	}
	if s.Timescale != 0 && typ != InverseSqrt {
		return fmt.Errorf("adamw: schedule %s: timescale applies only to %s", typ, InverseSqrt)
	}
	return nil
}

// Warmup returns the number of warmup steps: WarmupSteps if > 0, else
// ceil(TotalSteps·WarmupRatio), as TrainingArguments.get_warmup_steps (so float noise rounds
// up: 100 steps at ratio 0.07 warm up for 8 steps). The constant type ignores it.
func (s Schedule) Warmup() int {
	if s.WarmupSteps > 0 {
		return s.WarmupSteps
	}
	return int(math.Ceil(float64(s.TotalSteps) * s.WarmupRatio))
}

// Multiplier returns the factor on BaseLR for optimizer step `step` (0-based). For a schedule
// that fails Validate it returns NaN (which a trainer's NaN check stops on): validate first.
func (s Schedule) Multiplier(step int) float64 {
	if s.Validate() != nil {
		return math.NaN()
	}
	typ := s.typ()
	if typ == Constant {
		return 1
	}
	w, total := s.Warmup(), s.TotalSteps
	if step < w {
		return float64(step) / float64(max(1, w))
	}
	switch typ {
	case ConstantWithWarmup:
		return 1
	case Linear:
		return math.Max(0, float64(total-step)/float64(max(1, total-w)))
	case Cosine, CosineWithMinLR:
		cycles := s.NumCycles
		if cycles == 0 {
			cycles = 0.5
		}
		rate := s.MinLRRate
		if s.MinLR != 0 {
			rate = s.MinLR / s.BaseLR
		}
		progress := float64(step-w) / float64(max(1, total-w))
		factor := 0.5 * (1 + math.Cos(math.Pi*cycles*2*progress))
		return math.Max(0, factor*(1-rate)+rate)
	case InverseSqrt:
		tau := s.Timescale
		if tau == 0 {
			tau = w
			if tau == 0 {
				tau = 10_000
			}
		}
		return 1 / math.Sqrt(float64(step+tau-w)/float64(tau))
	}
	return math.NaN() // unreachable: Validate knows the types
}

// LR returns the learning rate of optimizer step `step` (0-based): BaseLR·Multiplier(step).
func (s Schedule) LR(step int) float64 {
	return s.BaseLR * s.Multiplier(step)
}

// LRs returns the learning rates of steps 0 … n−1, for plots and tables.
func (s Schedule) LRs(n int) ([]float64, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("adamw: LRs(%d): negative count", n)
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = s.LR(i)
	}
	return out, nil
}

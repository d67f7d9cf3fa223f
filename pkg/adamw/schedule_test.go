package adamw

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type scheduleCase struct {
	Type           string    `json:"type"`
	BaseLR         float64   `json:"base_lr"`
	TotalSteps     int       `json:"total_steps"`
	WarmupSteps    int       `json:"warmup_steps"`
	WarmupRatio    float64   `json:"warmup_ratio"`
	MinLR          float64   `json:"min_lr"`
	MinLRRate      float64   `json:"min_lr_rate"`
	ResolvedWarmup int       `json:"resolved_warmup"`
	Multiplier     []float64 `json:"multiplier"`
	LR             []float64 `json:"lr"`
}

func (c scheduleCase) schedule() Schedule {
	return Schedule{Type: c.Type, BaseLR: c.BaseLR, TotalSteps: c.TotalSteps, WarmupSteps: c.WarmupSteps,
		WarmupRatio: c.WarmupRatio, MinLR: c.MinLR, MinLRRate: c.MinLRRate}
}

// TestSchedulesMatchHF compares every step (0 … T+2) of every golden case — six types, nine
// (T, warmup) combinations, min_lr and min_lr_rate — with HF's formulas. Both sides compute
// in float64 with the same operations, so the tolerance is 1e-12 (relative).
func TestSchedulesMatchHF(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "schedules_golden.json"))
	if err != nil {
		t.Fatalf("reading golden file (regenerate with /usr/bin/python3 pkg/adamw/testdata/gen_schedules.py): %v", err)
	}
	var golden struct {
		Cases []scheduleCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &golden); err != nil {
		t.Fatalf("parsing schedules_golden.json: %v", err)
	}
	if len(golden.Cases) < 60 {
		t.Fatalf("only %d golden cases", len(golden.Cases))
	}
	types := map[string]bool{}
	for _, c := range golden.Cases {
		types[c.Type] = true
		name := fmt.Sprintf("%s/T=%d,w=%d,r=%g,min=%g,rate=%g", c.Type, c.TotalSteps, c.WarmupSteps, c.WarmupRatio, c.MinLR, c.MinLRRate)
		t.Run(name, func(t *testing.T) {
			s := c.schedule()
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			if s.Type != Constant && s.Warmup() != c.ResolvedWarmup {
				t.Errorf("warmup %d, HF %d", s.Warmup(), c.ResolvedWarmup)
			}
			for step, want := range c.Multiplier {
				if got := s.Multiplier(step); math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
					t.Errorf("step %d: multiplier %.17g, HF %.17g", step, got, want)
				}
				if got, wantLR := s.LR(step), c.LR[step]; math.Abs(got-wantLR) > 1e-12*math.Abs(wantLR)+1e-20 {
					t.Errorf("step %d: lr %.17g, HF %.17g", step, got, wantLR)
				}
			}
		})
	}
	for _, typ := range ScheduleTypes {
		if !types[typ] {
			t.Errorf("no golden case for %q", typ)
		}
	}
}

// TestScheduleFacts checks the values DESIGN.md and the tutorial quote, independently of the
// golden file.
func TestScheduleFacts(t *testing.T) {
	tests := []struct {
		s    Schedule
		step int
		want float64
	}{
		{Schedule{Type: Linear, BaseLR: 1, WarmupSteps: 10, TotalSteps: 110}, 0, 0},
		{Schedule{Type: Linear, BaseLR: 1, WarmupSteps: 10, TotalSteps: 110}, 5, 0.5},
		{Schedule{Type: Linear, BaseLR: 1, WarmupSteps: 10, TotalSteps: 110}, 10, 1},
		{Schedule{Type: Linear, BaseLR: 1, WarmupSteps: 10, TotalSteps: 110}, 60, 0.5},
		{Schedule{Type: Linear, BaseLR: 1, WarmupSteps: 10, TotalSteps: 110}, 200, 0},
		{Schedule{Type: Cosine, BaseLR: 1, WarmupSteps: 10, TotalSteps: 110}, 60, 0.5},
		{Schedule{Type: Cosine, BaseLR: 1, WarmupSteps: 10, TotalSteps: 110}, 110, 0},
		{Schedule{Type: CosineWithMinLR, BaseLR: 1, MinLRRate: 0.1, TotalSteps: 100}, 100, 0.1},
		{Schedule{Type: CosineWithMinLR, BaseLR: 2e-4, MinLR: 2e-5, TotalSteps: 100}, 100, 0.1},
		{Schedule{Type: InverseSqrt, BaseLR: 1, WarmupSteps: 4}, 4, 1},
		{Schedule{Type: InverseSqrt, BaseLR: 1, WarmupSteps: 4}, 16, 0.5},  // 1/sqrt(16/4)
		{Schedule{Type: InverseSqrt, BaseLR: 1}, 30_000, 0.5},              // timescale 10000
		{Schedule{Type: InverseSqrt, BaseLR: 1, Timescale: 100}, 300, 0.5}, // explicit timescale
		{Schedule{Type: Constant, BaseLR: 1, WarmupSteps: 10}, 0, 1},       // HF: no warmup
		{Schedule{Type: ConstantWithWarmup, BaseLR: 1, WarmupSteps: 4}, 1, 0.25},
		{Schedule{BaseLR: 1, WarmupRatio: 0.07, TotalSteps: 100}, 7, 7.0 / 8}, // "" = linear; ceil(7.000000000000001) = 8
	}
	for _, tc := range tests {
		if got := tc.s.Multiplier(tc.step); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%+v step %d: %v, want %v", tc.s, tc.step, got, tc.want)
		}
	}
}

func TestScheduleValidate(t *testing.T) {
	tests := []struct {
		s       Schedule
		errPart string
	}{
		{Schedule{Type: "cosine_with_restarts", TotalSteps: 10}, "known types: constant, constant_with_warmup, linear, cosine, cosine_with_min_lr, inverse_sqrt"},
		{Schedule{Type: Linear}, "requires num_training_steps"},
		{Schedule{Type: Cosine, TotalSteps: 10, WarmupSteps: -1}, "warmup_steps"},
		{Schedule{Type: Cosine, TotalSteps: 10, WarmupRatio: 1.5}, "warmup_ratio"},
		{Schedule{Type: ConstantWithWarmup, WarmupRatio: 0.1}, "needs num_training_steps"},
		{Schedule{Type: CosineWithMinLR, TotalSteps: 10}, "set min_lr or min_lr_rate"},
		{Schedule{Type: CosineWithMinLR, TotalSteps: 10, MinLR: 1e-5, MinLRRate: 0.1}, "only one"},
		{Schedule{Type: CosineWithMinLR, TotalSteps: 10, MinLR: 1e-5}, "needs learning_rate"},
		{Schedule{Type: Cosine, TotalSteps: 10, MinLRRate: 0.1}, "apply only to cosine_with_min_lr"},
		{Schedule{Type: Linear, TotalSteps: 10, Timescale: 5}, "timescale applies only"},
		{Schedule{Type: Linear, TotalSteps: 10, BaseLR: math.NaN()}, "learning_rate"},
	}
	for _, tc := range tests {
		err := tc.s.Validate()
		if err == nil {
			t.Errorf("%+v: no error", tc.s)
			continue
		}
		if !strings.Contains(err.Error(), tc.errPart) {
			t.Errorf("%+v: error %q does not mention %q", tc.s, err, tc.errPart)
		}
		if m := tc.s.Multiplier(0); !math.IsNaN(m) {
			t.Errorf("%+v: invalid schedule gave multiplier %v, want NaN", tc.s, m)
		}
		if _, err := tc.s.LRs(3); err == nil {
			t.Errorf("%+v: LRs gave no error", tc.s)
		}
	}
	lrs, err := Schedule{Type: Linear, BaseLR: 1, TotalSteps: 4}.LRs(5)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{1, 0.75, 0.5, 0.25, 0}
	for i := range want {
		if math.Abs(lrs[i]-want[i]) > 1e-15 {
			t.Errorf("LRs[%d] = %v, want %v", i, lrs[i], want[i])
		}
	}
}

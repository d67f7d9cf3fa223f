package lab

import (
	"math"
	"strings"
	"testing"

	"github.com/loralab/loralab/datasets"
	"github.com/loralab/loralab/pkg/lora"
	"github.com/loralab/loralab/pkg/train"
)

// fakeRun is a finished run with these evaluations (step, loss) and LoRA options.
func fakeRun(name string, r int, alpha float64, rslora bool, evals ...float64) *Run {
	c := lora.DefaultConfig()
	c.R, c.LoraAlpha, c.UseRSLoRA = r, alpha, rslora
	run := &Run{Name: name, LoRA: c, Status: train.StatusDone}
	for i := 0; i+1 < len(evals); i += 2 {
		run.Evals = append(run.Evals, train.EvalResult{Step: int(evals[i]), Loss: evals[i+1]})
		run.History = append(run.History, train.Record{Step: int(evals[i]), Loss: evals[i+1] - 0.5})
	}
	run.Summary.FinalEvalLoss = run.FinalEval().Loss
	return run
}

// The verdict follows the measurements: the rule whose early losses vary least with the rank.
func TestScalingStudyVerdict(t *testing.T) {
	for _, tc := range []struct {
		name          string
		rs16, rs64    float64 // early eval loss of the rsLoRA runs at r=16 and r=64
		std16, std64  float64 // and of the alpha/r runs
		stable        int
		words, faster string
		control       float64 // final eval loss of alpha/r at r=16, lora_alpha=64: scaling × r = 64, as rsLoRA's at r=64
		controlWords  string
	}{
		{"alpha/r rank-independent", 0.8, 0.6, 1.05, 1.0, 0, "Adam first-step heuristic", "faster", 0.31, "goes with the step size"},
		{"alpha/sqrt(r) rank-independent", 1.0, 0.98, 1.3, 1.6, 1, "rsLoRA paper (1/√r", "slower", 0.39, "does not explain it"},
	} {
		s := &ScalingStudy{Ranks: []int{4, 16, 64}, Alpha: 16, RSAlpha: 8, Alphas: []float64{16, 64}, EarlyStep: 8}
		s.Runs = Runs{fakeRun("r=4,alpha=16", 4, 16, false, 0, 3, 8, 1.0, 48, 0.40),
			fakeRun("r=16,alpha=16", 16, 16, false, 0, 3, 8, tc.std16, 48, 0.39),
			fakeRun("r=64,alpha=16", 64, 16, false, 0, 3, 8, tc.std64, 48, 0.38),
			fakeRun("rslora,r=16,alpha=8", 16, 8, true, 0, 3, 8, tc.rs16, 48, 0.35),
			fakeRun("rslora,r=64,alpha=8", 64, 8, true, 0, 3, 8, tc.rs64, 48, 0.30),
			fakeRun("r=16,alpha=64", 16, 64, false, 0, 3, 8, 0.7, 48, tc.control)}
		s.measure()
		if s.Stable != tc.stable || !strings.Contains(s.Verdict.En, tc.words) || !strings.Contains(s.Verdict.En, "largest rank learns "+tc.faster) ||
			!strings.Contains(s.Verdict.En, "is reproduced") || strings.Contains(s.Verdict.En+s.Verdict.Zh, "%!") || s.ControlName != "r=16,alpha=64" || !strings.Contains(s.Verdict.En, tc.controlWords) {
			t.Errorf("%s: stable %d, verdict %q", tc.name, s.Stable, s.Verdict.En)
		}
		if got := s.Early[1]; got[0] != 1.0 || got[1] != tc.rs16 || got[2] != tc.rs64 {
			t.Errorf("%s: rsLoRA early losses %v (the smallest rank's run serves both rules)", tc.name, got)
		}
		if g := s.Gain[1]; math.Abs(g-0.10) > 1e-12 {
			t.Errorf("%s: rsLoRA gain %g, want 0.10", tc.name, g)
		}
		if sc := s.Runs.Get("rslora,r=64,alpha=8").Scaling(); sc != 1 {
			t.Errorf("rsLoRA scaling at r=64, alpha=8: %g, want 8/√64 = 1", sc)
		}
	}
}

func TestSpreadAndEvalAt(t *testing.T) {
	if s := Spread([]float64{0.5, 0.2, 0.4}); math.Abs(s-0.3) > 1e-12 {
		t.Errorf("spread %g", s)
	}
	if !math.IsNaN(Spread(nil)) || !math.IsNaN(Spread([]float64{1, math.NaN()})) {
		t.Error("spread of nothing or of a NaN is a number")
	}
	r := fakeRun("x", 8, 16, false, 0, 3, 4, 2, 8, 1)
	if r.EvalAt(3) != 2 || r.EvalAt(8) != 1 || !math.IsNaN(r.EvalAt(9)) {
		t.Errorf("EvalAt: %g %g %g", r.EvalAt(3), r.EvalAt(8), r.EvalAt(9))
	}
}

// The ScalingStudy trains what it says: both rules per rank (the smallest shared) and the alpha
// sweep at the middle rank, at equal tokens.
func TestScalingStudyRuns(t *testing.T) {
	LiveCharts = false
	e := Experiment{Dataset: datasets.SFTIdentity, Train: DataOptions{MaxLength: 64, Limit: 16}, Eval: DataOptions{MaxLength: 64, Limit: 4},
		LoRA: LoRA(Set{"target_modules": []string{"q_proj", "v_proj"}}),
		Args: Args(Set{"learning_rate": 1e-2, "max_steps": 2, "eval_steps": 1, "per_device_train_batch_size": 4, "disable_tqdm": true})}
	s := e.ScalingStudy([]int{1, 4, 16}, 4, []float64{1}, 1)
	var names []string
	for _, r := range s.Runs {
		names = append(names, r.Name)
		if r.Summary.Tokens != s.Runs[0].Summary.Tokens {
			t.Errorf("%s: %d tokens, %s %d", r.Name, r.Summary.Tokens, s.Runs[0].Name, s.Runs[0].Summary.Tokens)
		}
	}
	if got := strings.Join(names, " "); got != "r=1,alpha=4 r=4,alpha=4 r=16,alpha=4 rslora,r=4,alpha=4 rslora,r=16,alpha=4 r=4,alpha=1" {
		t.Errorf("runs %s", got)
	}
	if sc := s.Runs.Get("rslora,r=16,alpha=4").Scaling(); sc != 1 {
		t.Errorf("rsLoRA scaling %g, want 4/√16", sc)
	}
	if len(s.Charts()) != 3 || len(s.AlphaSweep()) != 2 || math.IsNaN(s.EarlySpread[0]) || math.IsNaN(s.Final[1][2]) {
		t.Errorf("study: %+v", s)
	}
	if msg := failed(t, func() { e.ScalingStudy([]int{8, 2}, 4, nil, 1) }); !strings.Contains(msg, "ascending") {
		t.Errorf("unsorted ranks: %q", msg)
	}
}

// Fit's training loss is the adapter's loss with dropout off: on the evaluation set itself it
// equals the run's final eval loss, which the trainer measured in another way (in training,
// before the adapter was saved and read back).
func TestFit(t *testing.T) {
	LiveCharts = false
	base := Load("", "")
	set := base.Examples(datasets.SFTIdentity, datasets.Train, DataOptions{MaxLength: 64, Limit: 8})
	run := base.FineTune("fit", LoRA(Set{"r": 8, "lora_alpha": 16, "lora_dropout": 0.3}),
		Args(Set{"learning_rate": 1e-2, "max_steps": 6, "eval_steps": 3, "per_device_train_batch_size": 4, "disable_tqdm": true}), set, set)
	f := run.Fit(set)
	if math.Abs(f.TrainLoss-f.FinalEval) > 1e-4 || math.Abs(f.Gap) > 1e-4 {
		t.Errorf("same set: train loss %g, final eval %g", f.TrainLoss, f.FinalEval)
	}
	if f.BestEval > f.FinalEval || f.BestStep == 0 && f.BestEval != run.BaseEval().Loss {
		t.Errorf("best %g at %d, final %g", f.BestEval, f.BestStep, f.FinalEval)
	}
	c := Runs{run}.FitCurves("fit")
	if c == nil {
		t.Fatal("no chart")
	}
	if msg := failed(t, func() { (&Run{Name: "x", Status: train.StatusDiverged}).Fit(set) }); !strings.Contains(msg, "diverged") {
		t.Errorf("diverged run: %q", msg)
	}
}

func TestSayAndPick(t *testing.T) {
	w := Pick(0.3 < 0.2, Words{"更低", "lower"}, Words{"更高", "higher"})
	got := Say("损失 %.2f，%s", "loss %.2f, %s", 0.25, w)
	if got.Zh != "损失 0.25，更高" || got.En != "loss 0.25, higher" {
		t.Errorf("%+v", got)
	}
}

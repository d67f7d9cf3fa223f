package train

import (
	"bytes"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loralab/loralab/pkg/table"
)

func TestGridAndRandomSearch(t *testing.T) {
	g := Grid(map[string][]any{"learning_rate": {1e-3, 1e-2}, "r": {4, 8, 16}})
	if len(g) != 6 {
		t.Fatalf("grid of 2×3 has %d trials", len(g))
	}
	if g[0].TrialName() != "learning_rate=0.001,r=4" || g[1].TrialName() != "learning_rate=0.001,r=8" {
		t.Errorf("grid order: %q, %q", g[0].TrialName(), g[1].TrialName())
	}
	names := map[string]bool{}
	for _, tr := range g {
		names[tr.TrialName()] = true
	}
	if len(names) != 6 {
		t.Errorf("grid names not unique: %v", names)
	}
	space := map[string]Dist{"learning_rate": LogUniform(1e-5, 1e-2), "lora_dropout": Uniform(0, 0.1),
		"r": IntUniform(4, 16), "lr_scheduler_type": Choice("linear", "cosine")}
	a, b := RandomSearch(space, 20, 3), RandomSearch(space, 20, 3)
	for i := range a {
		if a[i].TrialName() != b[i].TrialName() {
			t.Fatalf("random search not reproducible at %d", i)
		}
		lr, r, d := a[i].Float("learning_rate"), a[i].Params["r"].(int), a[i].Float("lora_dropout")
		if lr < 1e-5 || lr >= 1e-2 || r < 4 || r > 16 || d < 0 || d >= 0.1 {
			t.Errorf("trial %d out of range: %v", i, a[i].Params)
		}
	}
	if c := RandomSearch(space, 20, 4); c[0].TrialName() == a[0].TrialName() {
		t.Errorf("seeds 3 and 4 drew the same first trial")
	}
}

func TestArgsApply(t *testing.T) {
	for _, tc := range []struct {
		in       map[string]any
		wantRest []string
		check    func(a Args) bool
		fails    bool
	}{
		{map[string]any{"learning_rate": 1e-3, "r": 8, "gradient_accumulation_steps": 4.0}, []string{"r"},
			func(a Args) bool { return a.LearningRate == 1e-3 && a.GradientAccumulationSteps == 4 }, false},
		{map[string]any{"lr_scheduler_type": "cosine", "target_modules": []string{"q_proj"}}, []string{"target_modules"},
			func(a Args) bool { return a.LRSchedulerType == "cosine" }, false},
		{map[string]any{"coupled_weight_decay": true, "weight_decay": 0.5}, nil,
			func(a Args) bool { c := a.OptimizerConfig(); return c.CoupledWeightDecay && c.WeightDecay == 0.5 }, false},
		{map[string]any{"per_device_train_batch_size": 2.5}, nil, nil, true},
		{map[string]any{"learning_rate": "fast"}, nil, nil, true},
	} {
		a := DefaultArgs()
		rest, err := a.Apply(tc.in)
		if tc.fails {
			if err == nil {
				t.Errorf("Apply(%v) succeeded", tc.in)
			}
			continue
		}
		if err != nil || !tc.check(a) || len(rest) != len(tc.wantRest) {
			t.Errorf("Apply(%v): %v, rest %v, args %s", tc.in, err, rest, a)
		}
		for _, k := range tc.wantRest {
			if _, ok := rest[k]; !ok {
				t.Errorf("Apply(%v): %q not returned", tc.in, k)
			}
		}
	}
}

// sweepBuild builds toy trainers: learning_rate (and other Args) from the trial, "dim" and
// "dropout" for the model.
func sweepBuild(t *testing.T, builds *int) func(Trial, string) (*Trainer, error) {
	return func(trial Trial, dir string) (*Trainer, error) {
		*builds++
		args := toyArgs()
		args.MaxSteps = 6
		args.EvalSteps = 3
		args.SaveSteps = 3
		rest, err := args.Apply(trial.Params)
		if err != nil {
			return nil, err
		}
		dim := toyDim
		if v, ok := rest["dim"]; ok {
			dim = int(toFloat(v))
		}
		model := ToyLM(ToyLMConfig{Vocab: toyVocab, Dim: dim, Seed: 1})
		if rest["poison"] == true {
			model = poisonModel() // NaN logits on token 15, which the toy data contains
		}
		train := &ExampleLoader{Examples: ToyExamples(32, toyVocab, 2), BatchSize: args.PerDeviceTrainBatchSize, Shuffle: true, Seed: args.Seed, PadToMultipleOf: 8}
		eval := &ExampleLoader{Examples: ToyExamples(8, toyVocab, 3), BatchSize: 4, PadToMultipleOf: 8}
		return New(testBackend(t), model, args, train, eval)
	}
}

func TestSweepResumableWithResultsAndPlots(t *testing.T) {
	dir := t.TempDir()
	trials := Grid(map[string][]any{"learning_rate": {1e-3, 3e-2}, "dim": {4, 8}})
	trials = append(trials, Trial{Name: "poisoned", Params: map[string]any{"learning_rate": 3e-2, "poison": true}})
	builds := 0
	var out bytes.Buffer
	res, err := Sweep(SweepOptions{OutputDir: dir, Trials: trials, Build: sweepBuild(t, &builds), Progress: &out})
	if err != nil {
		t.Fatal(err)
	}
	if builds != 5 || len(res.Trials) != 5 {
		t.Fatalf("%d builds, %d results; want 5", builds, len(res.Trials))
	}
	statuses := map[string]int{}
	for _, r := range res.Trials {
		statuses[r.Status]++
		if r.Status == StatusDone && (r.Steps != 6 || math.IsNaN(r.BestEvalLoss) || r.TokensPerSecond <= 0 || len(res.Histories[r.Name]) != 6) {
			t.Errorf("trial %s: %+v", r.Name, r)
		}
	}
	// The poisoned trial's NaN loss is recorded as diverged, and the sweep goes on.
	if statuses[StatusDone] != 4 || statuses[StatusDiverged] != 1 || !strings.Contains(res.Trials[4].Error, "step 1") {
		t.Errorf("statuses %v (table:\n%s)", statuses, res.Table())
	}
	t.Logf("sweep results:\n%s", res.Table())
	best, ok := res.Best()
	if !ok || best.Param("learning_rate") != 3e-2 {
		t.Errorf("best trial %+v, want learning_rate 0.03", best)
	}
	if !strings.Contains(out.String(), "best: "+best.Name) {
		t.Errorf("progress output lacks the best trial:\n%s", out.String())
	}

	// Re-running skips finished trials; deleting one trial's row re-runs (resumes) just it.
	builds = 0
	res2, err := Sweep(SweepOptions{OutputDir: dir, Trials: trials, Build: sweepBuild(t, &builds), Progress: &out})
	if err != nil {
		t.Fatal(err)
	}
	if builds != 0 || len(res2.Trials) != 5 || len(res2.Histories[best.Name]) != 6 {
		t.Fatalf("re-run: %d builds, %d results, %d history rows of the best", builds, len(res2.Trials), len(res2.Histories[best.Name]))
	}
	rows, err := table.ReadCSV[TrialResult](filepath.Join(dir, ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	var kept []TrialResult
	for _, r := range rows {
		if r.Name != best.Name {
			kept = append(kept, r)
		}
	}
	if err := table.WriteCSV(filepath.Join(dir, ResultsFile), kept); err != nil {
		t.Fatal(err)
	}
	builds = 0
	res3, err := Sweep(SweepOptions{OutputDir: dir, Trials: trials, Build: sweepBuild(t, &builds), Progress: &out})
	if err != nil {
		t.Fatal(err)
	}
	if builds != 1 {
		t.Errorf("after forgetting one row: %d builds, want 1", builds)
	}
	b3, _ := res3.Best()
	if b3.Name != best.Name || b3.BestEvalLoss != best.BestEvalLoss {
		t.Errorf("resumed trial: %+v, want %+v", b3, best)
	}
}

func TestLRFind(t *testing.T) {
	args := toyArgs()
	args.MaxSteps = 100
	tr := newToyTrainer(t, args, 0)
	before, _ := tr.Params()
	res, err := tr.LRFind(LRFindOptions{MinLR: 1e-5, MaxLR: 1e3, Steps: 60})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("LR range test: %d points, suggested %.3g (steepest %.3g, min-loss rate %.3g)", len(res.LRs), res.Suggested, res.Steepest, res.MinLoss)
	if !res.Diverged || len(res.LRs) >= 60 || len(res.LRs) < 10 {
		t.Errorf("the test ran %d of 60 steps, diverged=%v; want an early stop", len(res.LRs), res.Diverged)
	}
	for i := 1; i < len(res.LRs); i++ {
		if !(res.LRs[i] > res.LRs[i-1]) {
			t.Fatalf("learning rates not increasing at %d: %v", i, res.LRs[i-1:i+1])
		}
	}
	if res.Suggested < 1e-5 || res.Suggested > 10 || res.Suggested > res.MinLoss {
		t.Errorf("suggested %g (steepest %g, min-loss rate %g)", res.Suggested, res.Steepest, res.MinLoss)
	}
	// State restored: same parameters, step 0, and training still works.
	after, _ := tr.Params()
	for n := range before {
		if !slices.Equal(f32(before[n]), f32(after[n])) {
			t.Errorf("parameter %s changed by LRFind", n)
		}
	}
	if tr.Step() != 0 {
		t.Errorf("step %d after LRFind", tr.Step())
	}
	tr.Args.MaxSteps = 2
	tr.totalSteps = 2
	if err := tr.Train(); err != nil {
		t.Fatal(err)
	}
}

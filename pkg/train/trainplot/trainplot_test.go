package trainplot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/plot"
	"github.com/loralab/loralab/pkg/train"
)

// The charts of a small sweep (and of an LR range test) build and save, with log axes, a
// heatmap, bars and per-turn series.
func TestChartsSave(t *testing.T) {
	if _, err := plot.EChartsJS(); err != nil {
		t.Skip(err)
	}
	newTrainer := func(args train.Args) (*train.Trainer, error) {
		model := train.ToyLM(train.ToyLMConfig{Vocab: 16, Dim: 8, Seed: 1})
		data := &train.ExampleLoader{Examples: train.ToyExamples(32, 16, 2), BatchSize: 4, Shuffle: true, Seed: 1, PadToMultipleOf: 8}
		eval := &train.ExampleLoader{Examples: train.ToyExamples(8, 16, 3), BatchSize: 4, PadToMultipleOf: 8}
		return train.New(backend.MustDefault(), model, args, data, eval)
	}
	build := func(trial train.Trial, dir string) (*train.Trainer, error) {
		args := train.DefaultArgs()
		args.PerDeviceTrainBatchSize, args.MaxSteps, args.EvalSteps, args.SaveSteps, args.DisableTQDM = 4, 6, 3, 0, true
		if _, err := args.Apply(trial.Params); err != nil {
			return nil, err
		}
		return newTrainer(args)
	}
	dir := t.TempDir()
	res, err := train.Sweep(train.SweepOptions{OutputDir: dir, Build: build,
		Trials: train.Grid(map[string][]any{"learning_rate": {1e-3, 3e-2}, "weight_decay": {0.0, 0.1}})})
	if err != nil {
		t.Fatal(err)
	}
	best, ok := res.Best()
	if !ok {
		t.Fatalf("no trial finished:\n%s", res.Table())
	}
	args := train.DefaultArgs()
	args.PerDeviceTrainBatchSize, args.MaxSteps, args.DisableTQDM = 4, 100, true
	tr, err := newTrainer(args)
	if err != nil {
		t.Fatal(err)
	}
	lr, err := tr.LRFind(train.LRFindOptions{MinLR: 1e-5, MaxLR: 1e3, Steps: 30})
	if err != nil {
		t.Fatal(err)
	}
	charts := []plot.Chart{
		SweepCurvesChart("eval loss", res, true),
		SweepCurvesChart("train loss", res, false),
		LossVsParamChart("final loss vs learning rate", res, "learning_rate", true),
		ParamHeatmap("final loss", res, "weight_decay", "learning_rate"),
		LossChart("best", res.Histories[best.Name], res.Evals[best.Name]),
		LRChart("lr", res.Histories[best.Name]),
		TurnChart("per turn", res.Evals[best.Name][len(res.Evals[best.Name])-1]),
		TurnCurvesChart("per turn", res.Evals[best.Name]),
		LRFindChart("lr range test", lr),
	}
	page := filepath.Join(dir, "sweep.html")
	if err := plot.SaveHTML(page, "sweep", charts...); err != nil {
		t.Fatal(err)
	}
	html, _ := os.ReadFile(page)
	for _, want := range []string{`"type":"log"`, `"heatmap"`, `"bar"`, best.Name, "turn 1", "suggested lr"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("sweep page lacks %s", want)
		}
	}
}

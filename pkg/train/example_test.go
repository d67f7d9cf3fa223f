package train_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/train"
)

// Train the toy model for 40 steps with accumulation, warmup and a cosine schedule, evaluating
// every 20 steps.
func Example() {
	model := train.ToyLM(train.ToyLMConfig{Vocab: 16, Dim: 8, Seed: 1})
	args := train.DefaultArgs()
	args.LearningRate = 3e-2
	args.PerDeviceTrainBatchSize = 4
	args.GradientAccumulationSteps = 2
	args.MaxSteps = 40
	args.WarmupRatio = 0.1
	args.LRSchedulerType = "cosine"
	args.EvalSteps = 20
	args.DisableTQDM = true
	tr, err := train.NewFromExamples(backend.MustDefault(), model, args, train.ToyExamples(64, 16, 1), train.ToyExamples(16, 16, 2), 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := tr.Train(); err != nil {
		fmt.Println(err)
		return
	}
	evals := tr.EvalHistory()
	fmt.Println("steps:", len(tr.History()), "evaluations:", len(evals))
	fmt.Println("eval loss went down:", evals[1].Loss < evals[0].Loss)
	fmt.Println("turns evaluated:", len(evals[1].PerTurn))
	// Output:
	// steps: 40 evaluations: 2
	// eval loss went down: true
	// turns evaluated: 2
}

// Hooks follow a run from outside the trainer: here one logs every other step and the
// evaluations, and stops the run early (an OnStep error ends Train).
func ExampleTrainer_Attach() {
	args := train.DefaultArgs()
	args.LearningRate, args.PerDeviceTrainBatchSize, args.MaxSteps, args.EvalSteps = 3e-2, 4, 20, 3
	tr, err := train.NewFromExamples(backend.MustDefault(), train.ToyLM(train.ToyLMConfig{Vocab: 16, Dim: 8, Seed: 1}),
		args, train.ToyExamples(64, 16, 1), train.ToyExamples(16, 16, 2), 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	errEnough := errors.New("enough")
	tr.Attach(train.Hook{
		OnStep: func(t *train.Trainer, r train.Record) error {
			if r.Step%2 == 0 {
				fmt.Printf("step %d of %d\n", r.Step, t.TotalSteps())
			}
			if r.Step == 6 {
				return errEnough
			}
			return nil
		},
		OnEval: func(_ *train.Trainer, e train.EvalResult) { fmt.Println("evaluated at step", e.Step) },
		OnEnd: func(t *train.Trainer, err error) {
			fmt.Println("stopped after", t.Step(), "steps:", errors.Is(err, errEnough))
		},
	})
	_ = tr.Train()
	// Output:
	// step 2 of 20
	// evaluated at step 3
	// step 4 of 20
	// evaluated at step 6
	// step 6 of 20
	// stopped after 6 steps: true
}

func ExampleGrid() {
	for _, t := range train.Grid(map[string][]any{"learning_rate": {1e-4, 2e-4}, "r": {8, 16}}) {
		fmt.Println(t.TrialName())
	}
	// Output:
	// learning_rate=0.0001,r=8
	// learning_rate=0.0001,r=16
	// learning_rate=0.0002,r=8
	// learning_rate=0.0002,r=16
}

func ExampleArgs_Apply() {
	args := train.DefaultArgs()
	rest, err := args.Apply(map[string]any{"learning_rate": 2e-4, "gradient_accumulation_steps": 4, "r": 16})
	fmt.Println(args.LearningRate, args.GradientAccumulationSteps, rest, err)
	// Output: 0.0002 4 map[r:16] <nil>
}

// A resumable sweep over the learning rate and the toy model's width; the sweep directory keeps
// each trial's checkpoints and history, and a re-run skips finished trials.
func ExampleSweep() {
	dir, _ := os.MkdirTemp("", "sweep")
	defer os.RemoveAll(dir)
	build := func(trial train.Trial, outputDir string) (*train.Trainer, error) {
		args := train.DefaultArgs()
		args.PerDeviceTrainBatchSize, args.MaxSteps, args.EvalSteps = 4, 10, 5
		args.DisableTQDM = true
		args.OutputDir = outputDir
		rest, err := args.Apply(trial.Params) // learning_rate
		if err != nil {
			return nil, err
		}
		dim := 8
		if d, ok := rest["dim"].(int); ok {
			dim = d
		}
		model := train.ToyLM(train.ToyLMConfig{Vocab: 16, Dim: dim, Seed: 1})
		data := train.NewExampleLoader(train.ToyExamples(32, 16, 1), args.PerDeviceTrainBatchSize, args.Seed)
		eval := &train.ExampleLoader{Examples: train.ToyExamples(8, 16, 2), BatchSize: 8}
		return train.New(backend.MustDefault(), model, args, data, eval)
	}
	trials := train.Grid(map[string][]any{"learning_rate": {1e-3, 3e-2}, "dim": {4, 8}})
	res, err := train.Sweep(train.SweepOptions{OutputDir: dir, Trials: trials, Build: build, Progress: new(discard)})
	if err != nil {
		fmt.Println(err)
		return
	}
	best, _ := res.Best()
	fmt.Println("trials:", len(res.Trials), "best:", best.Name)
	_, err = os.Stat(filepath.Join(dir, train.ResultsFile))
	fmt.Println("results table saved:", err == nil)
	// Output:
	// trials: 4 best: dim=8,learning_rate=0.03
	// results table saved: true
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

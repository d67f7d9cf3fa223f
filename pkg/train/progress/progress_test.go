package progress

import (
	"bytes"
	"strings"
	"testing"

	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/train"
)

func toyTrainer(t *testing.T, args train.Args) *train.Trainer {
	t.Helper()
	model := train.ToyLM(train.ToyLMConfig{Vocab: 16, Dim: 8, Seed: 1})
	data := &train.ExampleLoader{Examples: train.ToyExamples(32, 16, 2), BatchSize: 4, Shuffle: true, Seed: 1, PadToMultipleOf: 8}
	eval := &train.ExampleLoader{Examples: train.ToyExamples(8, 16, 3), BatchSize: 4, PadToMultipleOf: 8}
	tr, err := train.New(backend.MustDefault(), model, args, data, eval)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// Outside a terminal or notebook, Attach writes a line every logging_steps steps and at the
// end, with the latest evaluation; the trainer alone writes nothing.
func TestAttachLines(t *testing.T) {
	args := train.DefaultArgs()
	args.LearningRate, args.PerDeviceTrainBatchSize = 3e-2, 4
	args.LoggingSteps, args.MaxSteps, args.EvalSteps, args.SaveSteps = 5, 12, 6, 0
	tr := toyTrainer(t, args)
	var out bytes.Buffer
	Attach(tr, &out)
	if err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if strings.HasPrefix(l, "step ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "step 5/12 ") || !strings.HasPrefix(lines[2], "step 12/12 ") {
		t.Fatalf("progress lines:\n%s", out.String())
	}
	for _, want := range []string{"loss ", "lr ", "tok/s", "ETA ", "eval loss"} {
		if !strings.Contains(lines[2], want) {
			t.Errorf("last line %q lacks %q", lines[2], want)
		}
	}
	if !strings.Contains(out.String(), "eval at step 6:") {
		t.Errorf("no eval line:\n%s", out.String())
	}
	if strings.Contains(out.String(), "\r") {
		t.Errorf("carriage returns written to a non-terminal")
	}

	args.DisableTQDM = true
	quiet := toyTrainer(t, args)
	var none bytes.Buffer
	Attach(quiet, &none)
	if err := quiet.Train(); err != nil || none.Len() != 0 {
		t.Errorf("disable_tqdm: wrote %q, err %v", none.String(), err)
	}
}

// AttachSweep writes the sweep's lines and each trial's progress to the same writer.
func TestAttachSweep(t *testing.T) {
	build := func(trial train.Trial, dir string) (*train.Trainer, error) {
		args := train.DefaultArgs()
		args.PerDeviceTrainBatchSize, args.MaxSteps, args.LoggingSteps, args.EvalSteps, args.SaveSteps = 4, 4, 2, 0, 0
		if _, err := args.Apply(trial.Params); err != nil {
			return nil, err
		}
		return toyTrainer(t, args), nil
	}
	opts := train.SweepOptions{OutputDir: t.TempDir(), Trials: train.Grid(map[string][]any{"learning_rate": {1e-3, 3e-2}}), Build: build}
	var out bytes.Buffer
	AttachSweep(&opts, &out)
	if _, err := train.Sweep(opts); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"trial 1/2 learning_rate=0.001: running", "step 4/4 ", "trial 2/2 learning_rate=0.03: done", "best: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("sweep output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestLine(t *testing.T) {
	recent := []train.Record{{Step: 1, StepSeconds: 100}, {Step: 2, StepSeconds: 2}, {Step: 3, StepSeconds: 4}}
	got := Line(train.Record{Step: 3, Epoch: 0.5, Loss: 1.25, LearningRate: 1e-4, TokensPerSecond: 1000, ElapsedSeconds: 106}, 13, recent)
	// ETA: 10 steps left × 3 s (the first step compiles and is left out).
	want := "step 3/13 | epoch 0.50 | loss 1.2500 | lr 0.0001 | 1000 tok/s | elapsed 1:46 | ETA 0:30"
	if got != want {
		t.Errorf("Line = %q\nwant   %q", got, want)
	}
}

package train

import (
	"math"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/tensors"
)

// killChildEnv, when set to a directory, makes TestKillAndResume act as the child process that
// trains into that directory (the os/exec tests' way of re-running the test binary).
const killChildEnv = "LORALAB_TRAIN_KILL_CHILD"

func killTestArgs(dir string) Args {
	args := toyArgs()
	args.OutputDir = dir
	args.MaxSteps = 20 // 8 batches per epoch: the run crosses two epoch boundaries
	args.SaveSteps = 1
	args.SaveTotalLimit = 3
	args.WarmupRatio = 0.1
	return args
}

// A run killed with SIGKILL mid-training resumes from its last checkpoint to the same loss curve
// and parameters as a run that was never interrupted (dropout and shuffling included).
func TestKillAndResume(t *testing.T) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		tr := newToyTrainer(t, killTestArgs(dir), 0.1)
		tr.Attach(Hook{OnStep: func(*Trainer, Record) error { time.Sleep(40 * time.Millisecond); return nil }})
		if err := tr.Train(); err != nil {
			t.Fatal(err)
		}
		return
	}
	if testing.Short() {
		t.Skip("starts a subprocess")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillAndResume$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	killedAt := 0
	for {
		steps, err := Checkpoints(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(steps) > 0 && steps[len(steps)-1] >= 6 {
			killedAt = steps[len(steps)-1]
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("the child wrote no checkpoint 6 within 60 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
		t.Fatal(err)
	}
	_ = cmd.Wait()
	steps, _ := Checkpoints(dir)
	if len(steps) == 0 || steps[len(steps)-1] >= 20 {
		t.Fatalf("checkpoints after the kill: %v; the child was not killed mid-training", steps)
	}
	t.Logf("killed after checkpoint %d; checkpoints on disk %v", killedAt, steps)

	resumed := newToyTrainer(t, killTestArgs(dir), 0.1)
	ok, err := resumed.Resume("")
	if err != nil || !ok {
		t.Fatalf("Resume: %v, %v", ok, err)
	}
	from := resumed.Step()
	if err := resumed.Train(); err != nil {
		t.Fatal(err)
	}

	whole := newToyTrainer(t, killTestArgs(t.TempDir()), 0.1)
	if err := whole.Train(); err != nil {
		t.Fatal(err)
	}
	a, b := losses(resumed.History()), losses(whole.History())
	if len(a) != 20 || len(b) != 20 {
		t.Fatalf("history lengths %d and %d, want 20", len(a), len(b))
	}
	exact := true
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-6 {
			t.Errorf("step %d (resumed from %d): loss %v, uninterrupted %v", i+1, from, a[i], b[i])
		}
		exact = exact && a[i] == b[i]
	}
	pa, _ := resumed.Params()
	pb, _ := whole.Params()
	for n := range pa {
		x, y := tensors.MustCopyFlatData[float32](pa[n]), tensors.MustCopyFlatData[float32](pb[n])
		for i := range x {
			if math.Abs(float64(x[i]-y[i])) > 1e-6 {
				t.Fatalf("%s[%d]: resumed %v, uninterrupted %v", n, i, x[i], y[i])
			}
			exact = exact && x[i] == y[i]
		}
	}
	t.Logf("resumed from step %d; loss curve and parameters bit-identical: %v", from, exact)
}

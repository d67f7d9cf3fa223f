package train

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/loralab/loralab/pkg/adamw"
	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/mask"
	"github.com/loralab/loralab/pkg/table"
)

const toyVocab, toyDim = 16, 8

func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// toyArgs are small-run arguments: no progress output, no saving.
func toyArgs() Args {
	a := DefaultArgs()
	a.LearningRate = 3e-2
	a.PerDeviceTrainBatchSize = 4
	a.MaxSteps = 12
	a.LoggingSteps, a.EvalSteps, a.SaveSteps = 0, 0, 0
	a.DisableTQDM = true
	return a
}

func newToyTrainer(t testing.TB, args Args, dropout float64) *Trainer {
	t.Helper()
	model := ToyLM(ToyLMConfig{Vocab: toyVocab, Dim: toyDim, Dropout: dropout, Seed: 1})
	train := &ExampleLoader{Examples: ToyExamples(32, toyVocab, 2), BatchSize: args.PerDeviceTrainBatchSize,
		Shuffle: true, Seed: args.Seed, PadToMultipleOf: 8}
	eval := &ExampleLoader{Examples: ToyExamples(8, toyVocab, 3), BatchSize: 4, PadToMultipleOf: 8}
	tr, err := New(testBackend(t), model, args, train, eval)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func losses(h []Record) []float64 {
	out := make([]float64, len(h))
	for i, r := range h {
		out[i] = r.Loss
	}
	return out
}

func TestTrainLearnsAndFollowsSchedule(t *testing.T) {
	args := toyArgs()
	args.WarmupSteps = 3
	args.LRSchedulerType = adamw.Cosine
	args.MaxSteps = 30
	tr := newToyTrainer(t, args, 0)
	before, err := tr.EvaluateLoader(tr.EvalData)
	if err != nil {
		t.Fatal(err)
	}
	frozenBefore := tensors.MustCopyFlatData[float32](tr.Model.Frozen["lm_head.bias"])
	if err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	h := tr.History()
	if len(h) != 30 {
		t.Fatalf("history has %d records, want 30", len(h))
	}
	sched := tr.Schedule()
	for i, r := range h {
		if r.Step != i+1 || r.LearningRate != sched.LR(i) {
			t.Errorf("record %d: step %d lr %g, want step %d lr %g", i, r.Step, r.LearningRate, i+1, sched.LR(i))
		}
		if r.SupervisedTokens <= 0 || r.Tokens < r.SupervisedTokens {
			t.Errorf("record %d: supervised %d of %d tokens", i, r.SupervisedTokens, r.Tokens)
		}
	}
	after := tr.EvalHistory()
	if len(after) != 1 || after[0].Step != 30 {
		t.Fatalf("eval history %+v, want one evaluation at the end", after)
	}
	if !(after[0].Loss < before.Loss-0.3) {
		t.Errorf("eval loss %g -> %g: did not learn", before.Loss, after[0].Loss)
	}
	if got := tensors.MustCopyFlatData[float32](tr.Model.Frozen["lm_head.bias"]); !slices.Equal(got, frozenBefore) {
		t.Errorf("frozen parameter changed")
	}
	// The model given to New is not modified.
	p, _ := tr.Params()
	if slices.Equal(tensors.MustCopyFlatData[float32](p["mlp.weight"]), tensors.MustCopyFlatData[float32](tr.Model.Trainable["mlp.weight"])) {
		t.Errorf("trained parameter equals the initial one")
	}
	s := tr.Summary()
	if s.Steps != 30 || s.FinalEvalLoss != after[0].Loss || s.TokensPerSecond <= 0 {
		t.Errorf("summary %+v", s)
	}
}

func TestSeededReproducibility(t *testing.T) {
	run := func(seed int64) []float64 {
		args := toyArgs()
		args.Seed = seed
		tr := newToyTrainer(t, args, 0.2) // dropout draws from the seeded RNG
		if err := tr.Train(); err != nil {
			t.Fatal(err)
		}
		return losses(tr.History())
	}
	a, b, c := run(7), run(7), run(8)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, step %d: loss %v vs %v", i+1, a[i], b[i])
		}
	}
	same := true
	for i := range a {
		same = same && a[i] == c[i]
	}
	if same {
		t.Errorf("seeds 7 and 8 gave the same loss curve %v", a)
	}
}

// unequalWindow returns two micro-batches with very different numbers of supervised tokens.
func unequalWindow() []mask.Batch {
	mk := func(rows [][]int32, sup []int) mask.Batch {
		var b mask.Batch
		for r, row := range rows {
			lab := make([]int32, len(row))
			for i := range lab {
				lab[i] = mask.IgnoreIndex
				if i >= len(row)-sup[r] {
					lab[i] = row[i]
				}
			}
			b.InputIDs = append(b.InputIDs, row)
			b.Labels = append(b.Labels, lab)
		}
		return b
	}
	return []mask.Batch{
		mk([][]int32{{1, 2, 3, 4, 5, 6, 7, 8}, {3, 4, 5, 6, 7, 8, 9, 10}}, []int{1, 1}),     // 2 tokens
		mk([][]int32{{9, 8, 7, 6, 5, 4, 3, 2}, {11, 12, 13, 14, 15, 1, 2, 3}}, []int{7, 6}), // 13 tokens
	}
}

func concatBatches(bs []mask.Batch) mask.Batch {
	var out mask.Batch
	for _, b := range bs {
		out.InputIDs = append(out.InputIDs, b.InputIDs...)
		out.Labels = append(out.Labels, b.Labels...)
	}
	return out
}

// The loss of an accumulation window is its summed token loss over its supervised tokens, so it
// and its gradient equal the full batch's, while the mean of micro-batch means differs.
func TestAccumulationNormalisesByWindowTokens(t *testing.T) {
	tr := newToyTrainer(t, toyArgs(), 0)
	window := unequalWindow()
	accLoss, accTokens, accGrads, err := tr.Gradients(window)
	if err != nil {
		t.Fatal(err)
	}
	fullLoss, fullTokens, fullGrads, err := tr.Gradients([]mask.Batch{concatBatches(window)})
	if err != nil {
		t.Fatal(err)
	}
	if accTokens != 15 || fullTokens != 15 {
		t.Fatalf("tokens: window %d, full %d, want 15", accTokens, fullTokens)
	}
	if math.Abs(accLoss-fullLoss) > 1e-5 {
		t.Errorf("window loss %v != full-batch loss %v", accLoss, fullLoss)
	}
	for name, g := range fullGrads {
		a, f := tensors.MustCopyFlatData[float32](accGrads[name]), tensors.MustCopyFlatData[float32](g)
		for i := range f {
			if math.Abs(float64(a[i]-f[i])) > 1e-5 {
				t.Fatalf("gradient %s[%d]: window %v, full batch %v", name, i, a[i], f[i])
			}
		}
	}
	// Mean of micro-batch means: what HF did before transformers 4.46 (and what naive loops do).
	var meanOfMeans float64
	for _, b := range window {
		l, _, _, err := tr.Gradients([]mask.Batch{b})
		if err != nil {
			t.Fatal(err)
		}
		meanOfMeans += l / float64(len(window))
	}
	if math.Abs(meanOfMeans-fullLoss) < 1e-3 {
		t.Errorf("mean of micro-batch means %v should differ from the token-normalised loss %v", meanOfMeans, fullLoss)
	}

	// A training step with accumulation over the window equals one step on the full batch.
	stepWith := func(acc int, batches []mask.Batch) ([]Record, map[string]*tensors.Tensor) {
		args := toyArgs()
		args.GradientAccumulationSteps, args.MaxSteps = acc, 2
		args.MaxGradNorm = 0.05 // clipping active: the clipped norm must be the window's
		model := ToyLM(ToyLMConfig{Vocab: toyVocab, Dim: toyDim, Seed: 1})
		tr, err := New(testBackend(t), model, args, &BatchLoader{Batches: batches}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Train(); err != nil {
			t.Fatal(err)
		}
		p, _ := tr.Params()
		return tr.History(), p
	}
	hA, pA := stepWith(2, window)
	hF, pF := stepWith(1, []mask.Batch{concatBatches(window)})
	for i := range hA {
		if math.Abs(hA[i].Loss-hF[i].Loss) > 1e-5 || math.Abs(hA[i].GradNorm-hF[i].GradNorm) > 1e-5 {
			t.Errorf("step %d: accumulated loss %v norm %v, full batch loss %v norm %v", i+1, hA[i].Loss, hA[i].GradNorm, hF[i].Loss, hF[i].GradNorm)
		}
	}
	for name := range pA {
		a, f := tensors.MustCopyFlatData[float32](pA[name]), tensors.MustCopyFlatData[float32](pF[name])
		for i := range a {
			if math.Abs(float64(a[i]-f[i])) > 1e-6 {
				t.Fatalf("after 2 steps %s[%d]: accumulated %v, full batch %v", name, i, a[i], f[i])
			}
		}
	}
}

// The fused step (forward, backward, clipping and AdamW in one graph) equals Gradients followed
// by adamw.Optimizer.Step, with clipping on the global norm.
func TestFusedStepEqualsOptimizer(t *testing.T) {
	for _, maxNorm := range []float64{0, 0.01} {
		args := toyArgs()
		args.MaxSteps = 1
		args.MaxGradNorm = maxNorm
		args.AdamEpsilon = 0.1 // large ε makes the update depend on the gradient scale, so clipping shows
		args.WeightDecay = 0.1
		args.LRSchedulerType = adamw.Constant
		args.GradientAccumulationSteps = 2
		window := unequalWindow()
		model := ToyLM(ToyLMConfig{Vocab: toyVocab, Dim: toyDim, Seed: 1})
		tr, err := New(testBackend(t), model, args, &BatchLoader{Batches: window}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _, grads, err := tr.Gradients(window)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Train(); err != nil {
			t.Fatal(err)
		}
		fused, _ := tr.Params()
		opt, err := adamw.New(testBackend(t), args.OptimizerConfig())
		if err != nil {
			t.Fatal(err)
		}
		params := map[string]*tensors.Tensor{}
		for k, v := range model.Trainable {
			params[k] = v
		}
		info, err := opt.Step(params, grads, args.LearningRate)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(info.GradNorm-tr.History()[0].GradNorm) > 1e-5 {
			t.Errorf("max_grad_norm %g: grad norm fused %v, optimizer %v", maxNorm, tr.History()[0].GradNorm, info.GradNorm)
		}
		if maxNorm > 0 && !info.Clipped {
			t.Errorf("max_grad_norm %g: expected clipping (norm %v)", maxNorm, info.GradNorm)
		}
		for name, p := range params {
			a, b := tensors.MustCopyFlatData[float32](fused[name]), tensors.MustCopyFlatData[float32](p)
			for i := range a {
				if math.Abs(float64(a[i]-b[i])) > 1e-6 {
					t.Fatalf("max_grad_norm %g: %s[%d]: fused %v, optimizer %v", maxNorm, name, i, a[i], b[i])
				}
			}
		}
	}
}

func TestNaNStopsAndKeepsLastGoodCheckpoint(t *testing.T) {
	dir := t.TempDir()
	args := toyArgs()
	args.OutputDir = dir
	args.SaveSteps = 2
	args.MaxSteps = 6
	clean := unequalWindow()[0]
	bad := unequalWindow()[1]
	bad.InputIDs = [][]int32{{9, 8, 7, 15, 5, 4, 3, 2}, {11, 12, 13, 14, 15, 1, 2, 3}}
	batches := []mask.Batch{clean, clean, clean, bad, clean, clean}
	tr, err := New(testBackend(t), poisonModel(), args, &BatchLoader{Batches: batches}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = tr.Train()
	if err == nil {
		t.Fatal("training on a NaN batch succeeded")
	}
	if !errors.Is(err, ErrNonFinite) {
		t.Errorf("error %v does not wrap ErrNonFinite", err)
	}
	for _, want := range []string{"step 4", "batch 3 of 6", "checkpoint-2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if tr.Step() != 3 || len(tr.History()) != 3 {
		t.Errorf("after the failure: step %d, %d records; want 3", tr.Step(), len(tr.History()))
	}
	p, _ := tr.Params()
	for name, x := range p {
		for _, v := range tensors.MustCopyFlatData[float32](x) {
			if math.IsNaN(float64(v)) {
				t.Fatalf("parameter %s became NaN", name)
			}
		}
	}
	steps, err := Checkpoints(dir)
	if err != nil || len(steps) != 1 || steps[0] != 2 {
		t.Errorf("checkpoints %v (%v), want [2]", steps, err)
	}
	// The checkpoint loads.
	tr2, err := New(testBackend(t), poisonModel(), args, &BatchLoader{Batches: batches}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := tr2.Resume(""); !ok || err != nil || tr2.Step() != 2 {
		t.Errorf("Resume: %v %v step %d", ok, err, tr2.Step())
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	dir := t.TempDir()
	args := toyArgs()
	args.OutputDir = dir
	args.SaveSteps = 5
	args.SaveTotalLimit = 1
	args.MaxSteps = 10
	args.EvalSteps = 5
	tr := newToyTrainer(t, args, 0.1)
	if err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	if steps, _ := Checkpoints(dir); len(steps) != 1 || steps[0] != 10 {
		t.Errorf("checkpoints %v, want [10] (save_total_limit 1)", steps)
	}
	tr2 := newToyTrainer(t, args, 0.1)
	ok, err := tr2.Resume("")
	if !ok || err != nil {
		t.Fatalf("Resume: %v, %v", ok, err)
	}
	if tr2.Step() != 10 || len(tr2.History()) != 10 || len(tr2.EvalHistory()) != 2 {
		t.Errorf("resumed step %d, %d records, %d evals", tr2.Step(), len(tr2.History()), len(tr2.EvalHistory()))
	}
	if got, want := tr2.EvalHistory()[1], tr.EvalHistory()[1]; got.Loss != want.Loss || len(got.PerTurn) != len(want.PerTurn) {
		t.Errorf("eval after resume %+v, want %+v", got, want)
	}
	p1, _ := tr.Params()
	p2, _ := tr2.Params()
	for n := range p1 {
		if !slices.Equal(tensors.MustCopyFlatData[float32](p1[n]), tensors.MustCopyFlatData[float32](p2[n])) {
			t.Errorf("parameter %s differs after the round trip", n)
		}
	}
	for i, r := range tr2.History() {
		if r != tr.History()[i] {
			t.Errorf("record %d: %+v vs %+v", i, r, tr.History()[i])
		}
	}
	for _, f := range []string{"history.csv", "history.parquet", "eval_history.csv", "eval_history.parquet"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	rows, err := table.ReadParquet[Record](filepath.Join(dir, "history.parquet"))
	if err != nil || len(rows) != 10 || rows[9] != tr.History()[9] {
		t.Errorf("history.parquet: %d rows, %v", len(rows), err)
	}
	// A trainer with another run length refuses the checkpoint.
	args.MaxSteps = 11
	tr3 := newToyTrainer(t, args, 0.1)
	if _, err := tr3.Resume(""); err == nil {
		t.Error("resuming a 10-step checkpoint into an 11-step run succeeded")
	}
}

// TrainSteps in pieces gives exactly the run Train gives in one go.
func TestTrainStepsEqualsTrain(t *testing.T) {
	run := func(pieces []int) []Record {
		args := toyArgs()
		exs := ToyExamples(24, 32, 5)
		tr, err := NewFromExamples(testBackend(t), ToyLM(ToyLMConfig{Vocab: 32, Dim: 16, Seed: 1}), args, exs, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if pieces == nil {
			if err := tr.Train(); err != nil {
				t.Fatal(err)
			}
		}
		for _, n := range pieces {
			if err := tr.TrainSteps(n); err != nil {
				t.Fatal(err)
			}
		}
		return tr.History()
	}
	whole, parts := run(nil), run([]int{5, 1, 100})
	if len(whole) != len(parts) || len(whole) != toyArgs().MaxSteps {
		t.Fatalf("%d steps in one go, %d in pieces, want %d", len(whole), len(parts), toyArgs().MaxSteps)
	}
	for i := range whole {
		if whole[i].Loss != parts[i].Loss || whole[i].LearningRate != parts[i].LearningRate {
			t.Fatalf("step %d: loss/lr %v/%v in one go, %v/%v in pieces", i+1, whole[i].Loss, whole[i].LearningRate, parts[i].Loss, parts[i].LearningRate)
		}
	}
}

package train

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph-building style
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/loralab/loralab/pkg/adamw"
	"github.com/loralab/loralab/pkg/mask"
)

// Trainer trains a Model with AdamW on a Loader's micro-batches. Parameters, AdamW moments and
// the dropout RNG state stay in device buffers between steps (donated to each step's graph).
//
// A Trainer is not safe for concurrent use.
type Trainer struct {
	Args    Args
	Model   Model
	Backend compute.Backend
	// TrainData gives the training micro-batches; EvalData (optional) the evaluation batches.
	TrainData, EvalData Loader

	hooks []Hook

	st         *stepper
	params     []*tensors.Tensor // trainable, by st.names
	frozen     []*tensors.Tensor // by st.frozen
	m, v       []*tensors.Tensor
	rng        *tensors.Tensor
	step       int // optimizer steps done
	history    []Record
	evals      []EvalResult
	warm       map[string]bool
	lastCkpt   string
	totalSteps int
	stopAt     int // when > 0, Train returns once this many steps are done (TrainSteps)
}

// Hook follows a run from outside the trainer, as GoMLX's train.Loop attaches its progress bar:
// progress lines and bars (package train/progress), live charts (package train/trainplot),
// logging, early stopping. The trainer knows nothing of terminals or notebooks. Nil fields are
// skipped; hooks run in the order they were attached.
type Hook struct {
	// OnStart is called when Train starts running steps (also after Resume); an error stops
	// the run before its first step.
	OnStart func(t *Trainer) error
	// OnStep is called after each optimizer step, once its evaluation and checkpoint (if any)
	// are done, with its record; an error stops the run (returned by Train, wrapped).
	OnStep func(t *Trainer, r Record) error
	// OnEval is called after each evaluation (Evaluate) with its result.
	OnEval func(t *Trainer, e EvalResult)
	// OnEnd is called when Train returns, with the error it returns (nil when the run ended
	// or TrainSteps' steps are done).
	OnEnd func(t *Trainer, err error)
}

// Attach adds a hook to the trainer.
func (t *Trainer) Attach(h Hook) { t.hooks = append(t.hooks, h) }

// ErrNonFinite is wrapped by the errors that report a NaN or ±Inf loss, gradient norm, parameter
// or optimizer moment (Train, SaveCheckpoint, LoadCheckpoint).
var ErrNonFinite = errors.New("non-finite value")

// New returns a Trainer for model on the backend b (backend.MustDefault() in notebooks). The
// model's tensors are copied: the Model given is not modified by training.
func New(b compute.Backend, model Model, args Args, trainData, evalData Loader) (*Trainer, error) {
	if b == nil {
		return nil, fmt.Errorf("train.New: nil backend")
	}
	if err := model.validate(); err != nil {
		return nil, err
	}
	if err := args.Validate(); err != nil {
		return nil, err
	}
	if trainData == nil || trainData.NumBatches() == 0 {
		return nil, fmt.Errorf("train.New: no training batches: the training data is empty (examples from mask.BuildAll: its Options.Dropped counts what max_length removed)")
	}
	st, err := newStepper(b, model, args.OptimizerConfig())
	if err != nil {
		return nil, err
	}
	st.memory = args.MemoryOptions()
	t := &Trainer{Args: args, Model: model, Backend: b, TrainData: trainData, EvalData: evalData, st: st,
		warm: map[string]bool{}}
	t.totalSteps = args.TotalSteps(trainData.NumBatches())
	if err := t.Schedule().Validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	for _, n := range st.names {
		c, err := model.Trainable[n].LocalClone()
		if err != nil {
			return nil, fmt.Errorf("train: copying parameter %q: %w", n, err)
		}
		t.params = append(t.params, c)
		t.m = append(t.m, tensors.FromShape(c.Shape()))
		t.v = append(t.v, tensors.FromShape(c.Shape()))
	}
	for _, n := range st.frozen {
		t.frozen = append(t.frozen, model.Frozen[n])
	}
	if t.rng, err = RNGStateFromSeed(args.Seed); err != nil {
		return nil, fmt.Errorf("train: RNG state: %w", err)
	}
	return t, nil
}

// NewFromExamples is New with loaders built from examples and the arguments: training batches
// of per_device_train_batch_size examples reshuffled each epoch from seed, evaluation batches
// of per_device_eval_batch_size in order (evalExamples may be nil), each padded to its longest
// example (rounded up to a multiple of 8, to limit recompilations) with padID.
func NewFromExamples(b compute.Backend, model Model, args Args, trainExamples, evalExamples []mask.Example, padID int32) (*Trainer, error) {
	if args.PerDeviceTrainBatchSize <= 0 {
		return nil, fmt.Errorf("train: per_device_train_batch_size = %d must be > 0", args.PerDeviceTrainBatchSize)
	}
	trainData := &ExampleLoader{Examples: trainExamples, BatchSize: args.PerDeviceTrainBatchSize, Shuffle: true,
		Seed: args.Seed, PadID: padID, PadToMultipleOf: 8}
	var evalData Loader
	if len(evalExamples) > 0 {
		bs := args.PerDeviceEvalBatchSize
		if bs <= 0 {
			bs = args.PerDeviceTrainBatchSize
		}
		evalData = &ExampleLoader{Examples: evalExamples, BatchSize: bs, PadID: padID, PadToMultipleOf: 8}
	}
	return New(b, model, args, trainData, evalData)
}

// TrainSteps runs at most n more optimizer steps of the run (fewer when it ends first), exactly
// as Train would run them: same schedule, evaluation and checkpoints. For stepping through a
// run from a notebook cell, and for benchmarks.
func (t *Trainer) TrainSteps(n int) error {
	if n <= 0 {
		return fmt.Errorf("train: TrainSteps(%d): n must be > 0", n)
	}
	t.stopAt = t.step + n
	defer func() { t.stopAt = 0 }()
	return t.Train()
}

// Schedule returns the learning-rate schedule of the run.
func (t *Trainer) Schedule() adamw.Schedule { return t.Args.Schedule(t.totalSteps) }

// TotalSteps returns the number of optimizer steps of the run.
func (t *Trainer) TotalSteps() int { return t.totalSteps }

// Step returns the number of optimizer steps done.
func (t *Trainer) Step() int { return t.step }

// History returns one record per optimizer step done (from the start of the run, also across
// a resume).
func (t *Trainer) History() []Record { return append([]Record(nil), t.history...) }

// EvalHistory returns the evaluations done so far.
func (t *Trainer) EvalHistory() []EvalResult { return append([]EvalResult(nil), t.evals...) }

// LastCheckpoint returns the directory of the last checkpoint written or loaded, or "".
func (t *Trainer) LastCheckpoint() string { return t.lastCkpt }

// Params returns copies of the trainable parameters by name, as trained so far.
func (t *Trainer) Params() (map[string]*tensors.Tensor, error) {
	out := make(map[string]*tensors.Tensor, len(t.params))
	for i, n := range t.st.names {
		c, err := t.params[i].LocalClone()
		if err != nil {
			return nil, fmt.Errorf("train: copying parameter %q: %w", n, err)
		}
		out[n] = c
	}
	return out, nil
}

// window returns, for optimizer step s (0-based), the epoch and the micro-batch indices of its
// accumulation window: the data position is a function of the step.
func (t *Trainer) window(s int) (epoch int, batches []int) {
	nb := t.TrainData.NumBatches()
	spe := t.Args.StepsPerEpoch(nb)
	acc := t.Args.GradientAccumulationSteps
	epoch, w := s/spe, s%spe
	for i := w * acc; i < min((w+1)*acc, nb); i++ {
		batches = append(batches, i)
	}
	return epoch, batches
}

// windowBatches loads the training micro-batches idx of epoch.
func (t *Trainer) windowBatches(epoch int, idx []int) ([]mask.Batch, error) {
	batches := make([]mask.Batch, len(idx))
	for j, i := range idx {
		b, err := t.TrainData.Batch(epoch, i)
		if err != nil {
			return nil, fmt.Errorf("loading epoch %d batch %d: %w", epoch, i, err)
		}
		batches[j] = b
	}
	return batches, nil
}

// stepResult is what one optimizer step reports.
type stepResult struct {
	loss, sum, count, norm float64
	tokens                 int
}

// shapeKey names a compiled graph and batch shape (rows: the count of its loss rows); buffers
// are donated only to graphs that ran once.
func shapeKey(k stepKind, b mask.Batch, rows int) string {
	B, T := b.Dims()
	return fmt.Sprintf("%v/%d/%d/%d", k, B, T, rows)
}

func (t *Trainer) donate(x *tensors.Tensor, ok bool) any {
	if !ok {
		return x
	}
	d, err := DonateTensorBuffer(x, t.Backend, 0)
	if err != nil {
		return x
	}
	return d
}

// runWindow runs the micro-batches of one accumulation window and, if update, the AdamW update
// with learning rate lr as optimizer step number stepNum (1-based). Without update it returns
// the accumulated (unnormalised) gradients. where names a micro-batch in error messages.
func (t *Trainer) runWindow(batches []mask.Batch, update bool, stepNum int, lr float64, where func(j int) string) (stepResult, []*tensors.Tensor, error) {
	var res stepResult
	var acc stepIO[*tensors.Tensor] // the window's accumulators, from the previous micro-batch
	for j, b := range batches {
		final := update && j == len(batches)-1
		k := stepKind{hasAcc: j > 0, final: final, packed: b.PositionIDs != nil}
		var in stepIO[any]
		if err := setBatch(&in, b); err != nil {
			return res, nil, fmt.Errorf("train: %s: %w", where(j), err)
		}
		res.tokens += b.Tokens()
		rows := t.st.setLossRows(&k, &in, b)
		key := shapeKey(k, b, rows)
		warm := t.warm[key]
		donate := func(xs []*tensors.Tensor, ok bool) []any {
			out := make([]any, len(xs))
			for i, x := range xs {
				out[i] = t.donate(x, ok)
			}
			return out
		}
		in.Params, in.Frozen, in.RNG = donate(t.params, warm && final), anys(t.frozen), t.rng
		if k.hasAcc {
			in.Acc, in.AccSum, in.AccCount = donate(acc.Acc, warm), acc.AccSum, acc.AccCount
		}
		if final {
			in.M, in.V, in.Step, in.LR = donate(t.m, warm), donate(t.v, warm), float64(stepNum), lr
		}
		out, err := t.st.call(k, in)
		if err != nil {
			return res, nil, fmt.Errorf("train: %s: %w", where(j), err)
		}
		t.warm[key] = true
		t.rng = out.RNG
		micro := float64(out.MicroSum.Value().(float32))
		if math.IsNaN(micro) || math.IsInf(micro, 0) {
			return res, nil, fmt.Errorf("%s: summed token loss is %v: %w", where(j), micro, ErrNonFinite)
		}
		if !final {
			acc = out
			continue
		}
		t.params, t.m, t.v = out.Params, out.M, out.V
		res.loss = float64(out.Loss.Value().(float32))
		res.sum = float64(out.AccSum.Value().(float32))
		res.count = float64(out.AccCount.Value().(float32))
		res.norm = out.Norm.Value().(float64)
		switch {
		case math.IsNaN(res.loss) || math.IsInf(res.loss, 0):
			return res, nil, fmt.Errorf("%s: window loss is %v: %w", where(j), res.loss, ErrNonFinite)
		case math.IsNaN(res.norm) || math.IsInf(res.norm, 0):
			return res, nil, fmt.Errorf("%s: gradient norm is %v (loss %g): %w", where(j), res.norm, res.loss, ErrNonFinite)
		}
		finite, err := tensors.CopyFlatData[bool](out.Finite)
		if err != nil {
			return res, nil, fmt.Errorf("train: %s: reading the update check: %w", where(j), err)
		}
		for i, ok := range finite {
			if !ok {
				return res, nil, fmt.Errorf("%s: the AdamW update (learning rate %g) made parameter %q or its moments non-finite, so nothing was updated: %w",
					where(j), lr, t.st.names[i], ErrNonFinite)
			}
		}
	}
	if !update {
		res.sum = float64(acc.AccSum.Value().(float32))
		res.count = float64(acc.AccCount.Value().(float32))
		res.loss = res.sum / math.Max(1, res.count)
	}
	return res, acc.Acc, nil
}

// Gradients returns the loss and the gradients of the trainable parameters over one
// accumulation window of micro-batches, without updating anything: the window's summed token
// loss divided by its supervised tokens, and its gradient — equal to the full-batch loss and
// gradient, however unevenly the tokens fall into micro-batches. It runs the graphs Train runs.
func (t *Trainer) Gradients(window []mask.Batch) (loss float64, tokens int, grads map[string]*tensors.Tensor, err error) {
	if len(window) == 0 {
		return 0, 0, nil, fmt.Errorf("train.Gradients: empty window")
	}
	res, acc, err := t.runWindow(window, false, 0, 0, func(j int) string { return fmt.Sprintf("micro-batch %d", j) })
	if err != nil {
		return 0, 0, nil, err
	}
	denom := float32(math.Max(1, res.count))
	grads = make(map[string]*tensors.Tensor, len(acc))
	for i, name := range t.st.names {
		flat, err := tensors.CopyFlatData[float32](acc[i])
		if err != nil {
			return 0, 0, nil, fmt.Errorf("train: reading gradient of %q: %w", name, err)
		}
		for k := range flat {
			flat[k] /= denom
		}
		grads[name] = tensors.FromFlatDataAndDimensions(flat, acc[i].Shape().Dimensions...)
	}
	return res.loss, int(res.count), grads, nil
}

// Train runs optimizer steps until TotalSteps, evaluating every EvalSteps and saving every
// SaveSteps (and both at the end). After Resume it continues from the checkpoint.
//
// A NaN or Inf loss (or gradient norm) stops the run with an error naming the step, the epoch
// and the micro-batch, wrapping ErrNonFinite; the parameters stay those of the last good step
// and the checkpoints on disk are left as they were.
func (t *Trainer) Train() (err error) {
	for _, h := range t.hooks {
		if h.OnStart != nil {
			if err := h.OnStart(t); err != nil {
				return fmt.Errorf("train: OnStart: %w", err)
			}
		}
	}
	defer func() {
		for _, h := range t.hooks {
			if h.OnEnd != nil {
				h.OnEnd(t, err)
			}
		}
	}()
	sched := t.Schedule()
	nb := t.TrainData.NumBatches()
	for t.step < t.totalSteps && (t.stopAt == 0 || t.step < t.stopAt) {
		s := t.step
		epoch, idx := t.window(s)
		start := time.Now()
		batches, err := t.windowBatches(epoch, idx)
		if err != nil {
			return fmt.Errorf("train: step %d: %w", s+1, err)
		}
		lr := sched.LR(s)
		where := func(j int) string {
			return fmt.Sprintf("step %d (epoch %d, batch %d of %d, micro-batch %d of %d in the accumulation window)",
				s+1, epoch, idx[j], nb, j+1, len(idx))
		}
		res, _, err := t.runWindow(batches, true, s+1, lr, where)
		if err != nil {
			if errors.Is(err, ErrNonFinite) {
				ck := t.lastCkpt
				if ck == "" {
					ck = "none"
				}
				return fmt.Errorf("train: %w; stopped with the parameters of step %d, last good checkpoint: %s", err, s, ck)
			}
			return err
		}
		secs := time.Since(start).Seconds()
		t.step++
		rec := Record{Step: t.step, Epoch: float64(epoch) + float64(idx[len(idx)-1]+1)/float64(nb),
			Loss: res.loss, LearningRate: lr, GradNorm: res.norm, SupervisedTokens: int64(res.count),
			Tokens: int64(res.tokens), StepSeconds: secs, TokensPerSecond: float64(res.tokens) / secs}
		if len(t.history) > 0 {
			rec.ElapsedSeconds = t.history[len(t.history)-1].ElapsedSeconds
		}
		rec.ElapsedSeconds += secs
		t.history = append(t.history, rec)
		last := t.step == t.totalSteps
		if t.EvalData != nil && ((t.Args.EvalSteps > 0 && t.step%t.Args.EvalSteps == 0) || last) {
			if _, err := t.Evaluate(); err != nil {
				return err
			}
		}
		if t.Args.OutputDir != "" && ((t.Args.SaveSteps > 0 && t.step%t.Args.SaveSteps == 0) || last) {
			if _, err := t.SaveCheckpoint(); err != nil {
				return err
			}
		}
		for _, h := range t.hooks {
			if h.OnStep != nil {
				if err := h.OnStep(t, rec); err != nil {
					return fmt.Errorf("train: step %d: OnStep: %w", t.step, err)
				}
			}
		}
	}
	return nil
}

// Summary describes a run: final and best losses, throughput and time.
type Summary struct {
	Steps          int     `json:"steps"`
	FinalTrainLoss float64 `json:"final_train_loss"`
	FinalEvalLoss  float64 `json:"final_eval_loss"` // NaN without evaluation
	BestEvalLoss   float64 `json:"best_eval_loss"`  // NaN without evaluation
	BestEvalStep   int     `json:"best_eval_step"`
	Tokens         int64   `json:"tokens"`
	// TokensPerSecond is the throughput of every step but the first (which compiles the
	// graphs), or of the first when it is the only one.
	TokensPerSecond float64 `json:"tokens_per_second"`
	WallSeconds     float64 `json:"wall_seconds"`
}

// Summary summarises the run so far.
func (t *Trainer) Summary() Summary {
	s := Summary{Steps: t.step, FinalTrainLoss: math.NaN(), FinalEvalLoss: math.NaN(), BestEvalLoss: math.NaN()}
	if len(t.history) > 0 {
		s.FinalTrainLoss = t.history[len(t.history)-1].Loss
		s.WallSeconds = t.history[len(t.history)-1].ElapsedSeconds
	}
	var tok int64
	var secs float64
	for i, r := range t.history {
		s.Tokens += r.Tokens
		if i > 0 || len(t.history) == 1 {
			tok += r.Tokens
			secs += r.StepSeconds
		}
	}
	if secs > 0 {
		s.TokensPerSecond = float64(tok) / secs
	}
	for _, e := range t.evals {
		s.FinalEvalLoss = e.Loss
		if math.IsNaN(s.BestEvalLoss) || e.Loss < s.BestEvalLoss {
			s.BestEvalLoss, s.BestEvalStep = e.Loss, e.Step
		}
	}
	return s
}

// FormatDuration formats seconds as h:mm:ss or m:ss ("?" when negative or NaN).
func FormatDuration(secs float64) string {
	if secs < 0 || secs != secs {
		return "?"
	}
	d := time.Duration(secs * float64(time.Second)).Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

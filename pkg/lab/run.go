package lab

import (
	"bytes"
	"cmp"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/loralab/loralab/pkg/atomicfile"
	"github.com/loralab/loralab/pkg/lora"
	"github.com/loralab/loralab/pkg/mask"
	"github.com/loralab/loralab/pkg/plot"
	"github.com/loralab/loralab/pkg/train"
	"github.com/loralab/loralab/pkg/train/progress"
	"github.com/loralab/loralab/pkg/train/trainplot"
)

// Set holds options by their Hugging Face names: TrainingArguments names ("learning_rate",
// "per_device_train_batch_size", "max_steps", "lr_scheduler_type", …) and PEFT LoraConfig names
// ("r", "lora_alpha", "lora_dropout", "target_modules", "use_rslora", "bias", …).
type Set map[string]any

// Args returns HF's TrainingArguments defaults with the options of s. A name that is not a
// training argument ends the cell.
func Args(s Set) train.Args {
	a, _ := Apply(s, train.DefaultArgs(), lora.Config{}, false)
	return a
}

// LoRA returns PEFT's LoraConfig defaults with the options of s. A name that is not a
// LoraConfig field ends the cell.
func LoRA(s Set) lora.Config {
	_, c := Apply(s, train.Args{}, lora.DefaultConfig(), true)
	return c
}

// Apply sets the options of s on args (training arguments) and cfg (LoRA options): what a
// sweep's trial overrides. Without lora, every name must be a training argument.
func Apply(s Set, args train.Args, cfg lora.Config, withLoRA bool) (train.Args, lora.Config) {
	rest, err := args.Apply(s)
	check(err, "training arguments")
	if len(rest) == 0 {
		return args, cfg
	}
	if !withLoRA && len(rest) > 0 {
		Fail(fmt.Errorf("%q: not a training argument", slices.Sorted(maps.Keys(rest))))
	}
	raw, err := json.Marshal(cfg)
	check(err, "LoraConfig")
	var m map[string]any
	check(json.Unmarshal(raw, &m), "LoraConfig")
	for _, k := range slices.Sorted(maps.Keys(rest)) {
		if _, ok := m[k]; !ok {
			Fail(fmt.Errorf("%q is neither a training argument nor a LoraConfig field", k))
		}
		m[k] = rest[k]
	}
	raw, err = json.Marshal(m)
	check(err, "LoraConfig")
	cfg, err = lora.ParseConfig(raw)
	check(err, "LoraConfig %s", raw)
	return args, cfg
}

// Run is one fine-tuning run: what it was asked, what it measured and the trained adapter.
type Run struct {
	Name string
	// ParamsJSON is the options a sweep trial set (Params decodes it).
	ParamsJSON string
	LoRA       lora.Config
	// Args are the training arguments as run (batch sizes fitted to the vocabulary, see FitBatches).
	Args train.Args
	// Status is train.StatusDone, or train.StatusDiverged when a loss or gradient became NaN/Inf.
	Status  string
	Error   string
	History []train.Record
	// Evals are the evaluations; with an eval set, Evals[0] is the base model at step 0
	// (lora_B starts at zero, so the adapter does not change it yet).
	Evals   []train.EvalResult
	Summary train.Summary
	// RealTokens counts the tokens of the training batches without their padding (the
	// history's Tokens count B×T positions, padding included).
	RealTokens int64
	Counts     lora.Counts
	// Dir is the run's folder: run.gob and adapter/ (PEFT files).
	Dir string

	base    *Base
	adapter *lora.Adapter
	fresh   bool // trained by this process (not read back)
}

// Params are the options a sweep trial set.
func (r *Run) Params() Set {
	var s Set
	if r.ParamsJSON != "" {
		_ = json.Unmarshal([]byte(r.ParamsJSON), &s)
	}
	return s
}

// FinalEval is the last evaluation (zero without an eval set).
func (r *Run) FinalEval() train.EvalResult {
	if len(r.Evals) == 0 {
		return train.EvalResult{}
	}
	return r.Evals[len(r.Evals)-1]
}

// BaseEval is the evaluation at step 0: the base model before training.
func (r *Run) BaseEval() train.EvalResult {
	if len(r.Evals) == 0 {
		return train.EvalResult{}
	}
	return r.Evals[0]
}

// Adapter is the trained adapter (read from the run's PEFT folder when the run was kept).
func (r *Run) Adapter() *lora.Adapter {
	if r.adapter == nil {
		if r.Status != train.StatusDone {
			Fail(fmt.Errorf("run %s: %s, no trained adapter", r.Name, r.Status))
		}
		r.adapter = Must(lora.Load(filepath.Join(r.Dir, "adapter"), r.base.Model.Config))
	}
	return r.adapter
}

// SaveAdapter writes the trained adapter as a PEFT folder (adapter_config.json and
// adapter_model.safetensors), which PEFT's PeftModel.from_pretrained and vLLM load.
func (r *Run) SaveAdapter(dir string) {
	check(r.Adapter().Save(dir), "run %s: saving the adapter", r.Name)
}

// LossChart draws the run's training loss and its eval loss.
func (r *Run) LossChart(title string) plot.Chart {
	return trainplot.LossChart(title, r.History, r.Evals)
}

// LiveCharts draws the loss curves of a run while it trains (in a notebook), and removes them
// when it ends: a cell keeps the charts it draws itself (Run.LossChart, Runs.Curves, …), so
// what a notebook shows does not depend on which runs were read back.
var LiveCharts = true

// FineTune trains a LoRA adapter with cfg on the base model, with the training arguments args,
// on trainSet, evaluating on evalSet (may be nil) at step 0, every eval_steps and at the end.
// The run is kept: the same call in a later cell (same base, data, cfg and args) returns it
// without training again. A run whose loss turns NaN/Inf is returned with Status "diverged".
func (b *Base) FineTune(name string, cfg lora.Config, args train.Args, trainSet, evalSet *Examples) *Run {
	return b.fineTune(name, nil, cfg, args, trainSet, evalSet, LiveCharts)
}

func (b *Base) fineTune(name string, params Set, cfg lora.Config, args train.Args, trainSet, evalSet *Examples, live bool) *Run {
	if trainSet == nil {
		Fail(fmt.Errorf("run %s: no training examples", name))
	}
	dir := filepath.Join(Dir(), "run-"+Key(b.Name, trainSet.key(), evalSet.key(), cfg, args))
	if r, err := readRun(dir); err == nil {
		r.Name, r.base = name, b
		return r
	} else if !errors.Is(err, os.ErrNotExist) {
		check(err, "run %s", name)
	}
	r := &Run{Name: name, LoRA: cfg, Dir: dir, base: b, fresh: true}
	if params != nil {
		p, err := json.Marshal(params)
		check(err, "run %s", name)
		r.ParamsJSON = string(p)
	}
	var note string
	r.Args, note = FitBatches(args, b.Model.Config.VocabSize, trainSet.MaxLen(), evalSet.MaxLen())
	if note != "" {
		fmt.Printf("%s: %s\n", name, note)
	}
	adapter, err := lora.New(cfg, b.Model, uint64(args.Seed))
	check(err, "run %s: LoRA", name)
	r.Counts = adapter.Plan.Count()
	trainData := &countingLoader{ExampleLoader: b.loader(trainSet, r.Args.PerDeviceTrainBatchSize, true, r.Args.Seed)}
	var evalData train.Loader
	if evalSet != nil {
		evalData = b.loader(evalSet, r.Args.PerDeviceEvalBatchSize, false, 0)
	}
	tr, err := train.New(Backend(), train.LoRAModel(b.Model, adapter), r.Args, trainData, evalData)
	check(err, "run %s", name)
	progress.Attach(tr, nil)
	if live && plot.InNotebook() {
		// Loss curves redrawn while training (at most every 2 s), cleared at the end: the cell draws what it keeps.
		chart, last := plot.NewLive(), time.Time{}
		tr.Attach(train.Hook{
			OnStep: func(t *train.Trainer, _ train.Record) error {
				if time.Since(last) > 2*time.Second {
					last = time.Now()
					return chart.Update(trainplot.LossChart(name+" (live)", t.History(), t.EvalHistory()))
				}
				return nil
			},
			OnEnd: func(*train.Trainer, error) { chart.HTML("") },
		})
	}
	if evalSet != nil {
		_, err := tr.Evaluate()
		check(err, "run %s: evaluating the base model", name)
	}
	r.Status = train.StatusDone
	if err := tr.Train(); errors.Is(err, train.ErrNonFinite) {
		r.Status, r.Error = train.StatusDiverged, err.Error()
	} else {
		check(err, "run %s", name)
	}
	r.History, r.Evals, r.Summary, r.RealTokens = tr.History(), tr.EvalHistory(), tr.Summary(), trainData.tokens
	if r.Status == train.StatusDone {
		r.adapter, err = train.TrainedAdapter(tr, adapter)
		check(err, "run %s", name)
		check(r.adapter.Save(filepath.Join(dir, "adapter")), "run %s: saving the adapter", name)
	}
	var buf bytes.Buffer
	check(gob.NewEncoder(&buf).Encode(r), "run %s: keeping it", name)
	check(os.MkdirAll(dir, 0o755), "run %s", name)
	check(atomicfile.Write(filepath.Join(dir, "run.gob"), buf.Bytes()), "run %s: keeping it", name)
	return r
}

// readRun reads a kept run.
func readRun(dir string) (*Run, error) {
	b, err := os.ReadFile(filepath.Join(dir, "run.gob"))
	if err != nil {
		return nil, err
	}
	r := &Run{}
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(r); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return r, nil
}

// loader batches a set's examples, padded with the base's pad id to a multiple of 8.
func (b *Base) loader(set *Examples, batch int, shuffle bool, seed int64) *train.ExampleLoader {
	l := train.NewExampleLoader(set.Examples, batch, seed)
	l.Shuffle, l.PadID, l.PadToMultipleOf = shuffle, b.PadID(), 8
	return l
}

// countingLoader counts the real (unpadded) tokens of the batches it gives.
type countingLoader struct {
	*train.ExampleLoader
	tokens int64
}

func (c *countingLoader) Batch(epoch, i int) (mask.Batch, error) {
	order := c.Order(epoch)
	for _, j := range order[i*c.BatchSize : min((i+1)*c.BatchSize, len(order))] {
		c.tokens += int64(len(c.Examples[j].InputIDs))
	}
	return c.ExampleLoader.Batch(epoch, i)
}

// LogitsBudget is the most memory one batch's logits may take, in bytes (float32: batch ×
// length × vocabulary × 4 bytes; training keeps their gradient too). FitBatches keeps batches
// under it: at a 150k vocabulary one 192-token row of logits alone takes 117 MB, and the loss
// and its gradient hold several tensors of that size. Measured on notebook 01's setup (a
// 33.5M-parameter model with DeepSeek-V3's 129,280-token vocabulary, batch 8, eval batch 32,
// samples up to 192 tokens; Go backend, 2-core machine shared with other jobs): peak RSS
// 8.3 GB without fitting, 7.7 GB with a 1 GiB budget, 2.9 GB with this one.
var LogitsBudget int64 = 256 << 20

// FitBatches returns args with batch sizes that keep the logits of one batch under
// LogitsBudget for a vocabulary of vocab tokens and samples of up to trainLen / evalLen tokens:
// per_device_train_batch_size is halved (and gradient_accumulation_steps doubled, so the
// effective batch stays) while logits and their gradient exceed it; per_device_eval_batch_size
// shrinks to what fits. The note says what changed ("" when nothing did).
func FitBatches(args train.Args, vocab, trainLen, evalLen int) (train.Args, string) {
	pad := func(n int) int64 { return int64((max(n, 1) + 7) / 8 * 8) }
	rowTrain := 2 * pad(trainLen) * int64(vocab) * 4 // logits and their gradient
	rowEval := pad(evalLen) * int64(vocab) * 4
	var note string
	b, acc := args.PerDeviceTrainBatchSize, max(args.GradientAccumulationSteps, 1)
	for b > 1 && b%2 == 0 && int64(b)*rowTrain > LogitsBudget {
		b, acc = b/2, acc*2
	}
	if b != args.PerDeviceTrainBatchSize {
		note = fmt.Sprintf("per_device_train_batch_size %d → %d × gradient_accumulation_steps %d", args.PerDeviceTrainBatchSize, b, acc)
		args.PerDeviceTrainBatchSize, args.GradientAccumulationSteps = b, acc
	}
	if e := args.PerDeviceEvalBatchSize; evalLen > 0 && e > 1 && int64(e)*rowEval > LogitsBudget {
		args.PerDeviceEvalBatchSize = int(max(1, LogitsBudget/rowEval))
		if note != "" {
			note += "; "
		}
		note += fmt.Sprintf("per_device_eval_batch_size %d → %d", e, args.PerDeviceEvalBatchSize)
	}
	if note != "" {
		note += fmt.Sprintf(" (logits of a %d-token vocabulary kept under %d MiB)", vocab, LogitsBudget>>20)
	}
	return args, note
}

// Trainer returns a trainer of a fresh adapter (cfg) on the base with the training arguments
// args, for what FineTune does not do: an LR range test, gradients of given batches. Its
// batch sizes are fitted to the vocabulary as FineTune's are.
func (b *Base) Trainer(cfg lora.Config, args train.Args, trainSet, evalSet *Examples) *train.Trainer {
	args, _ = FitBatches(args, b.Model.Config.VocabSize, trainSet.MaxLen(), evalSet.MaxLen())
	adapter, err := lora.New(cfg, b.Model, uint64(args.Seed))
	check(err, "LoRA")
	var evalData train.Loader
	if evalSet != nil {
		evalData = b.loader(evalSet, args.PerDeviceEvalBatchSize, false, 0)
	}
	return Must(train.New(Backend(), train.LoRAModel(b.Model, adapter), args, b.loader(trainSet, args.PerDeviceTrainBatchSize, true, args.Seed), evalData))
}

// First returns the set's first n examples, as a set of their own.
func (e *Examples) First(n int) *Examples {
	f := *e
	f.Examples = e.Examples[:min(n, len(e.Examples))]
	f.Name = fmt.Sprintf("%s[:%d]", e.Name, len(f.Examples))
	return &f
}

// Runs are the runs of a sweep, in order.
type Runs []*Run

// Sweep fine-tunes one run per trial: each trial's options (HF training and LoraConfig names,
// see train.Grid and train.RandomSearch) override args and cfg. Runs kept from earlier cells
// are read back; while new ones train, a chart overlays their loss curves (cleared at the
// end: the cell draws the charts it keeps, e.g. with Curves or Report).
func (b *Base) Sweep(trials []train.Trial, cfg lora.Config, args train.Args, trainSet, evalSet *Examples) Runs {
	var runs Runs
	live := plot.NewLive()
	trained := false
	for _, t := range trials {
		a, c := Apply(Set(t.Params), args, cfg, true)
		r := b.fineTune(t.TrialName(), t.Params, c, a, trainSet, evalSet, false)
		runs = append(runs, r)
		if trained = trained || r.fresh; trained {
			check(live.Update(runs.Curves("sweep: training loss (live)", false)), "sweep chart")
		}
	}
	live.HTML("") // the live chart was for watching: the cell draws what it keeps
	return runs
}

// Get returns the run with that name, or ends the cell.
func (rs Runs) Get(name string) *Run {
	for _, r := range rs {
		if r.Name == name {
			return r
		}
	}
	Fail(fmt.Errorf("no run named %q", name))
	return nil
}

// Pick returns the runs with these names, in this order.
func (rs Runs) Pick(names ...string) Runs {
	out := make(Runs, len(names))
	for i, n := range names {
		out[i] = rs.Get(n)
	}
	return out
}

// Best is the finished run with the lowest final eval loss (nil if none finished).
func (rs Runs) Best() *Run {
	best, ok := rs.Results().Best()
	if !ok {
		return nil
	}
	return rs.Get(best.Name)
}

// Results are the runs as a train.SweepResult (results table, histories, evaluations).
func (rs Runs) Results() *train.SweepResult {
	s := &train.SweepResult{Histories: map[string][]train.Record{}, Evals: map[string][]train.EvalResult{}}
	for _, r := range rs {
		s.Trials = append(s.Trials, train.TrialResult{Name: r.Name, Status: r.Status, Error: r.Error, ParamsJSON: r.ParamsJSON,
			Steps: r.Summary.Steps, FinalTrainLoss: r.Summary.FinalTrainLoss, FinalEvalLoss: r.Summary.FinalEvalLoss,
			BestEvalLoss: r.Summary.BestEvalLoss, BestEvalStep: r.Summary.BestEvalStep, Tokens: r.Summary.Tokens,
			TokensPerSecond: r.Summary.TokensPerSecond, WallSeconds: r.Summary.WallSeconds})
		s.Histories[r.Name], s.Evals[r.Name] = r.History, r.Evals
	}
	return s
}

// Table is the results table: one line per run.
func (rs Runs) Table() string { return rs.Results().Table() }

// Series are the runs' training loss curves (eval false) or eval loss curves (eval true).
func (rs Runs) Series(eval bool) []plot.Series {
	var out []plot.Series
	for _, r := range rs {
		s := plot.Series{Name: r.Name}
		if eval {
			for _, e := range r.Evals {
				s.X, s.Y = append(s.X, float64(e.Step)), append(s.Y, e.Loss)
			}
		} else {
			for _, h := range r.History {
				s.X, s.Y = append(s.X, float64(h.Step)), append(s.Y, h.Loss)
			}
		}
		out = append(out, s)
	}
	return out
}

// Curves overlays the runs' training loss (eval false) or eval loss (eval true).
func (rs Runs) Curves(title string, eval bool) plot.Chart {
	return trainplot.SweepCurvesChart(title, rs.Results(), eval)
}

// Heatmap draws the final eval loss over two options of the runs (e.g. "r", "lora_alpha").
func (rs Runs) Heatmap(title, xKey, yKey string) plot.Chart {
	return trainplot.ParamHeatmap(title, rs.Results(), xKey, yKey)
}

// Varied are the options whose values differ between the runs, sorted.
func (rs Runs) Varied() []string {
	seen := map[string]map[string]bool{}
	for _, r := range rs {
		for k, v := range r.Params() {
			if seen[k] == nil {
				seen[k] = map[string]bool{}
			}
			seen[k][fmt.Sprint(v)] = true
		}
	}
	var keys []string
	for k, vs := range seen {
		if len(vs) > 1 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// Report shows what a sweep found: the results table (best first), each finished run's drop
// of eval loss from the base model, a heatmap when the runs vary two options, and the best
// run's training arguments and LoraConfig.
func (rs Runs) Report() {
	fmt.Print(rs.Table())
	keys := rs.Varied()
	ranked := slices.Clone(rs)
	slices.SortStableFunc(ranked, func(a, b *Run) int { return cmpScore(a, b) })
	var names []string
	drop := plot.BarSeries{Name: "eval loss drop"}
	for _, r := range ranked {
		if r.Status != train.StatusDone {
			fmt.Printf("%s: %s %s\n", r.Name, r.Status, r.Error)
			continue
		}
		var vals []string
		for _, k := range keys {
			vals = append(vals, fmt.Sprint(r.Params()[k]))
		}
		names = append(names, strings.Join(vals, " · "))
		drop.Values = append(drop.Values, math.Round((r.BaseEval().Loss-r.FinalEval().Loss)*1e4)/1e4)
	}
	best := rs.Best()
	if best == nil {
		fmt.Println("no run finished")
		return
	}
	charts := []plot.Chart{plot.Bars(plot.BarOptions{Title: "eval loss drop from the base model (best first) / 验证损失下降",
		Subtitle: fmt.Sprintf("base model eval loss %.4f", best.BaseEval().Loss), XName: strings.Join(keys, " · "), Labels: true}, names, drop)}
	if len(keys) == 2 {
		charts = append(charts, rs.Heatmap("final eval loss: "+keys[0]+" × "+keys[1], keys[0], keys[1]))
	}
	Show(charts...)
	c := best.LoRA
	targets := string(Must(json.Marshal(c.TargetModules)))
	if !c.TargetModules.Set {
		targets = "null (PEFT's default for llama: q_proj, v_proj)"
	}
	fmt.Printf("best / 最佳: %s — eval loss %.4f (train loss %.4f), %.0f tokens/s, %s\n  training arguments: %s\n"+
		"  LoraConfig: r=%d lora_alpha=%g lora_dropout=%g target_modules=%s use_rslora=%v use_dora=%v bias=%s\n",
		best.Name, best.Summary.BestEvalLoss, best.Summary.FinalTrainLoss, best.Summary.TokensPerSecond,
		train.FormatDuration(best.Summary.WallSeconds), best.Args.String(),
		c.R, c.LoraAlpha, c.LoraDropout, targets, c.UseRSLoRA, c.UseDora, c.Bias)
}

// cmpScore orders runs by final eval loss, unfinished last.
func cmpScore(a, b *Run) int {
	sa, sb := math.Inf(1), math.Inf(1)
	if a.Status == train.StatusDone && !math.IsNaN(a.Summary.FinalEvalLoss) {
		sa = a.Summary.FinalEvalLoss
	}
	if b.Status == train.StatusDone && !math.IsNaN(b.Summary.FinalEvalLoss) {
		sb = b.Summary.FinalEvalLoss
	}
	return cmp.Compare(sa, sb)
}

// Override returns args with the training options of s set (HF names).
func Override(args train.Args, s Set) train.Args {
	a, _ := Apply(s, args, lora.Config{}, false)
	return a
}

// SupervisedTokens is the number of supervised tokens the run trained on (summed over its steps).
func (r *Run) SupervisedTokens() int64 {
	var n int64
	for _, h := range r.History {
		n += h.SupervisedTokens
	}
	return n
}

package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/loralab/loralab/pkg/table"
)

// Trial is one configuration of a sweep: overrides of a base configuration, by name. Names
// that are Args fields (HF names: "learning_rate", "gradient_accumulation_steps", …) can be
// applied with Args.Apply; the others ("r", "lora_alpha", "lora_dropout", "target_modules",
// …) are for the sweep's Build callback.
type Trial struct {
	// Name identifies the trial: its directory under the sweep's OutputDir and its row in the
	// results. Empty means a name made from the parameters (see TrialName).
	Name   string
	Params map[string]any
}

// TrialName returns t.Name or, when empty, "key=value" pairs of the parameters sorted by key
// and joined with ",", with characters other than letters, digits and ._=,+- replaced by "_".
func (t Trial) TrialName() string {
	if t.Name != "" {
		return t.Name
	}
	keys := sortedNames(t.Params)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, t.Params[k])
	}
	return unsafeChars.ReplaceAllString(strings.Join(parts, ","), "_")
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._=,+-]`)

// Float returns parameter key as a float64 (NaN if absent or not a number).
func (t Trial) Float(key string) float64 { return toFloat(t.Params[key]) }

func toFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case float32:
		return float64(x)
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case json.Number:
		f, err := x.Float64()
		if err == nil {
			return f
		}
	case string:
		f, err := strconv.ParseFloat(x, 64)
		if err == nil {
			return f
		}
	}
	return math.NaN()
}

// Grid returns every combination of the values in space (the cartesian product), the keys
// taken in sorted order with the last key varying fastest.
func Grid(space map[string][]any) []Trial {
	keys := sortedNames(space)
	trials := []Trial{{Params: map[string]any{}}}
	for _, k := range keys {
		var next []Trial
		for _, t := range trials {
			for _, v := range space[k] {
				p := make(map[string]any, len(t.Params)+1)
				for kk, vv := range t.Params {
					p[kk] = vv
				}
				p[k] = v
				next = append(next, Trial{Params: p})
			}
		}
		trials = next
	}
	if len(keys) == 0 {
		return nil
	}
	return trials
}

// Dist is a distribution to draw a parameter from in RandomSearch.
type Dist interface {
	Sample(r *rand.Rand) any
}

type choice []any

func (c choice) Sample(r *rand.Rand) any { return c[r.IntN(len(c))] }

// Choice draws one of values uniformly (values of any type: schedules, target-module sets, …).
func Choice(values ...any) Dist { return choice(values) }

type logUniform struct{ lo, hi float64 }

func (d logUniform) Sample(r *rand.Rand) any {
	return math.Exp(math.Log(d.lo) + r.Float64()*(math.Log(d.hi)-math.Log(d.lo)))
}

// LogUniform draws a float64 whose logarithm is uniform in [log lo, log hi) (learning rates).
func LogUniform(lo, hi float64) Dist { return logUniform{lo, hi} }

type uniform struct{ lo, hi float64 }

func (d uniform) Sample(r *rand.Rand) any { return d.lo + r.Float64()*(d.hi-d.lo) }

// Uniform draws a float64 uniform in [lo, hi) (dropout).
func Uniform(lo, hi float64) Dist { return uniform{lo, hi} }

type intUniform struct{ lo, hi int }

func (d intUniform) Sample(r *rand.Rand) any { return d.lo + r.IntN(d.hi-d.lo+1) }

// IntUniform draws an int uniform in [lo, hi], both included.
func IntUniform(lo, hi int) Dist { return intUniform{lo, hi} }

// RandomSearch returns n trials drawn from space with a seeded generator (the same seed gives
// the same trials).
func RandomSearch(space map[string]Dist, n int, seed uint64) []Trial {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	keys := sortedNames(space)
	trials := make([]Trial, n)
	for i := range trials {
		p := make(map[string]any, len(keys))
		for _, k := range keys {
			p[k] = space[k].Sample(r)
		}
		trials[i] = Trial{Params: p}
	}
	return trials
}

// Trial statuses.
const (
	StatusDone     = "done"
	StatusDiverged = "diverged" // stopped on a NaN/Inf loss: a result (the learning rate is too high)
	StatusFailed   = "failed"   // an error; re-running the sweep retries it
)

// TrialResult is one row of a sweep's results table (sweep_results.csv).
type TrialResult struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Error  string `json:"error"`
	// ParamsJSON is the trial's parameters as JSON (numbers come back as float64).
	ParamsJSON      string  `json:"params"`
	Steps           int     `json:"steps"`
	FinalTrainLoss  float64 `json:"final_train_loss"`
	FinalEvalLoss   float64 `json:"final_eval_loss"`
	BestEvalLoss    float64 `json:"best_eval_loss"`
	BestEvalStep    int     `json:"best_eval_step"`
	Tokens          int64   `json:"tokens"`
	TokensPerSecond float64 `json:"tokens_per_second"`
	WallSeconds     float64 `json:"wall_seconds"`
}

// Params decodes ParamsJSON.
func (r TrialResult) Params() map[string]any {
	var p map[string]any
	_ = json.Unmarshal([]byte(r.ParamsJSON), &p)
	return p
}

// Param returns one parameter as a float64 (NaN if absent or not a number).
func (r TrialResult) Param(key string) float64 { return toFloat(r.Params()[key]) }

// Score is the value a sweep minimises: the best eval loss, or the final train loss of a run
// without evaluation; +Inf for trials that did not finish.
func (r TrialResult) Score() float64 {
	if r.Status != StatusDone {
		return math.Inf(1)
	}
	if !math.IsNaN(r.BestEvalLoss) {
		return r.BestEvalLoss
	}
	if math.IsNaN(r.FinalTrainLoss) {
		return math.Inf(1)
	}
	return r.FinalTrainLoss
}

// SweepOptions configure Sweep.
type SweepOptions struct {
	// OutputDir holds one directory per trial (checkpoints, history) and sweep_results.csv.
	OutputDir string
	Trials    []Trial
	// Build returns the trainer of a trial: typically it copies a base Args, calls Args.Apply
	// with the trial's parameters, builds the model from the rest (LoRA r, alpha, …) and calls
	// New. The sweep sets the trainer's Args.OutputDir to outputDir (the trial's directory) and
	// resumes it from its last checkpoint if there is one.
	Build func(trial Trial, outputDir string) (*Trainer, error)
	// Progress, if set, receives one line per trial event (progress.AttachSweep sets it, and
	// shows it in a notebook).
	Progress io.Writer
	// OnTrialStart, if set, is called with each trial's trainer before it runs, to attach hooks
	// (progress.AttachSweep attaches the progress line).
	OnTrialStart func(trial Trial, tr *Trainer)
	// OnTrial, if set, is called after each trial (run or skipped), e.g. to redraw a chart
	// (trainplot.AttachSweepLive).
	OnTrial func(r TrialResult, sweep *SweepResult)
}

// SweepResult is the outcome of a sweep.
type SweepResult struct {
	Trials []TrialResult
	// Histories and Evals hold each trial's step records and evaluations, by trial name.
	Histories map[string][]Record
	Evals     map[string][]EvalResult
}

// Best returns the finished trial with the lowest Score; ok is false when none finished.
func (s *SweepResult) Best() (best TrialResult, ok bool) {
	for _, r := range s.Trials {
		if r.Status == StatusDone && (!ok || r.Score() < best.Score()) {
			best, ok = r, true
		}
	}
	return best, ok
}

// ResultsFile is the name of a sweep's results table in its OutputDir.
const ResultsFile = "sweep_results.csv"

// Sweep runs the trials one after the other. It is resumable: trials recorded as done or
// diverged in OutputDir/sweep_results.csv are skipped (their histories are read back from
// their directories), an interrupted trial resumes from its last checkpoint, and failed trials
// are retried. The results table is rewritten atomically after each trial. A trial's error
// does not stop the sweep: it is recorded in its row.
func Sweep(opts SweepOptions) (*SweepResult, error) {
	if opts.OutputDir == "" {
		return nil, fmt.Errorf("train.Sweep: OutputDir is required")
	}
	if opts.Build == nil {
		return nil, fmt.Errorf("train.Sweep: Build is required")
	}
	seen := map[string]int{}
	for i, t := range opts.Trials {
		n := t.TrialName()
		if n == "" {
			return nil, fmt.Errorf("train.Sweep: trial %d has no name and no parameters", i)
		}
		if j, dup := seen[n]; dup {
			return nil, fmt.Errorf("train.Sweep: trials %d and %d are both named %q", j, i, n)
		}
		seen[n] = i
	}
	if err := os.MkdirAll(opts.OutputDir, 0o755); err != nil {
		return nil, fmt.Errorf("train.Sweep: %w", err)
	}
	resultsPath := filepath.Join(opts.OutputDir, ResultsFile)
	previous := map[string]TrialResult{}
	if _, err := os.Stat(resultsPath); err == nil {
		rows, err := table.ReadCSV[TrialResult](resultsPath)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			previous[r.Name] = r
		}
	}
	line := func(msg string) {
		if opts.Progress != nil {
			fmt.Fprintln(opts.Progress, msg)
		}
	}
	res := &SweepResult{Histories: map[string][]Record{}, Evals: map[string][]EvalResult{}}
	onTrial := func(r TrialResult) {
		if opts.OnTrial != nil {
			opts.OnTrial(r, res)
		}
	}
	for i, trial := range opts.Trials {
		name := trial.TrialName()
		dir := filepath.Join(opts.OutputDir, name)
		paramsJSON, err := json.Marshal(trial.Params)
		if err != nil {
			return res, fmt.Errorf("train.Sweep: trial %q parameters: %w", name, err)
		}
		if prev, ok := previous[name]; ok && (prev.Status == StatusDone || prev.Status == StatusDiverged) {
			res.Trials = append(res.Trials, prev)
			res.Histories[name], res.Evals[name], _ = ReadHistory(dir)
			line(fmt.Sprintf("trial %d/%d %s: %s before (score %.4g), skipped", i+1, len(opts.Trials), name, prev.Status, prev.Score()))
			onTrial(prev)
			continue
		}
		line(fmt.Sprintf("trial %d/%d %s: running", i+1, len(opts.Trials), name))
		row := runTrial(opts, trial, dir, res)
		row.Name, row.ParamsJSON = name, string(paramsJSON)
		res.Trials = append(res.Trials, row)
		if err := writeResults(resultsPath, res.Trials, previous, opts.Trials); err != nil {
			return res, err
		}
		msg := fmt.Sprintf("trial %d/%d %s: %s, score %.4g, %.0f tok/s, %s", i+1, len(opts.Trials), name,
			row.Status, row.Score(), row.TokensPerSecond, FormatDuration(row.WallSeconds))
		if row.Error != "" {
			msg += ": " + row.Error
		}
		line(msg)
		onTrial(row)
	}
	if best, ok := res.Best(); ok {
		line(fmt.Sprintf("best: %s (score %.4g)", best.Name, best.Score()))
	}
	return res, nil
}

// runTrial builds, resumes and trains one trial and returns its row (Name and ParamsJSON unset).
func runTrial(opts SweepOptions, trial Trial, dir string, res *SweepResult) TrialResult {
	name := trial.TrialName()
	fail := func(status string, err error) TrialResult {
		return TrialResult{Status: status, Error: err.Error(), FinalTrainLoss: math.NaN(), FinalEvalLoss: math.NaN(), BestEvalLoss: math.NaN()}
	}
	tr, err := opts.Build(trial, dir)
	if err != nil {
		return fail(StatusFailed, fmt.Errorf("build: %w", err))
	}
	if tr == nil {
		return fail(StatusFailed, errors.New("build returned no trainer"))
	}
	tr.Args.OutputDir = dir
	if opts.OnTrialStart != nil {
		opts.OnTrialStart(trial, tr)
	}
	if _, err := tr.Resume(dir); err != nil {
		return fail(StatusFailed, err)
	}
	trainErr := tr.Train()
	if err := tr.SaveHistory(dir); err != nil && trainErr == nil {
		trainErr = err
	}
	res.Histories[name] = tr.History()
	res.Evals[name] = tr.EvalHistory()
	s := tr.Summary()
	row := TrialResult{Status: StatusDone, Steps: s.Steps, FinalTrainLoss: s.FinalTrainLoss, FinalEvalLoss: s.FinalEvalLoss,
		BestEvalLoss: s.BestEvalLoss, BestEvalStep: s.BestEvalStep, Tokens: s.Tokens, TokensPerSecond: s.TokensPerSecond,
		WallSeconds: s.WallSeconds}
	switch {
	case errors.Is(trainErr, ErrNonFinite):
		row.Status, row.Error = StatusDiverged, trainErr.Error()
	case trainErr != nil:
		row.Status, row.Error = StatusFailed, trainErr.Error()
	}
	return row
}

// writeResults writes the rows run so far followed by previous rows of trials not reached yet,
// in trial order, so that an interrupted sweep keeps what it knew.
func writeResults(path string, done []TrialResult, previous map[string]TrialResult, trials []Trial) error {
	have := map[string]bool{}
	rows := append([]TrialResult(nil), done...)
	for _, r := range done {
		have[r.Name] = true
	}
	for _, t := range trials {
		if p, ok := previous[t.TrialName()]; ok && !have[p.Name] {
			rows = append(rows, p)
		}
	}
	return table.WriteCSV(path, rows)
}

// Table returns the results as text: one line per trial sorted by score, best first.
func (s *SweepResult) Table() string {
	rows := append([]TrialResult(nil), s.Trials...)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Score() < rows[j].Score() })
	var b strings.Builder
	fmt.Fprintf(&b, "%-4s %-44s %-9s %10s %10s %10s %10s %9s\n", "rank", "trial", "status", "best_eval", "final_eval", "final_train", "tok/s", "wall")
	for i, r := range rows {
		fmt.Fprintf(&b, "%-4d %-44s %-9s %10.4f %10.4f %10.4f %10.0f %9s\n", i+1, r.Name, r.Status, r.BestEvalLoss,
			r.FinalEvalLoss, r.FinalTrainLoss, r.TokensPerSecond, FormatDuration(r.WallSeconds))
	}
	return b.String()
}

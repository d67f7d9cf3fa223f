package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/loralab/loralab/pkg/adamw"
	"github.com/loralab/loralab/pkg/safetensors"
)

// Checkpoint layout: OutputDir/checkpoint-<step>/ holds
//
//	trainable.safetensors   the trainable parameters by name
//	optimizer.safetensors   AdamW moments (<name>.exp_avg, <name>.exp_avg_sq) and "step"
//	trainer_state.json      step, data position, RNG state, seed, args, elapsed time
//	history.csv             the step records so far
//	eval_history.csv        the evaluations so far (EvalRow)
//
// The directory is written under a temporary name in OutputDir and renamed into place, so a
// checkpoint directory is either complete or absent.
const (
	CheckpointPrefix = "checkpoint-"
	TrainableFile    = "trainable.safetensors"
	OptimizerFile    = "optimizer.safetensors"
	StateFile        = "trainer_state.json"
)

// DataPosition is where the data stands after a step: the next micro-batch to read.
type DataPosition struct {
	Epoch     int `json:"epoch"`
	NextBatch int `json:"next_batch"`
}

type trainerState struct {
	GlobalStep     int          `json:"global_step"`
	TotalSteps     int          `json:"max_steps"`
	Data           DataPosition `json:"data_position"`
	RNGState       []uint64     `json:"rng_state"`
	Seed           int64        `json:"seed"`
	ElapsedSeconds float64      `json:"elapsed_seconds"`
	Args           Args         `json:"args"`
}

// CheckpointDir returns the directory name of the checkpoint of step in dir.
func CheckpointDir(dir string, step int) string {
	return filepath.Join(dir, fmt.Sprintf("%s%d", CheckpointPrefix, step))
}

// Checkpoints lists the complete checkpoints in dir by step, ascending.
func Checkpoints(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("train: listing checkpoints: %w", err)
	}
	var steps []int
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), CheckpointPrefix) {
			continue
		}
		s, err := strconv.Atoi(strings.TrimPrefix(e.Name(), CheckpointPrefix))
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, e.Name(), StateFile)); err == nil {
			steps = append(steps, s)
		}
	}
	sort.Ints(steps)
	return steps, nil
}

// dataPosition returns the data position after s optimizer steps.
func (t *Trainer) dataPosition(s int) DataPosition {
	if s == 0 {
		return DataPosition{}
	}
	epoch, idx := t.window(s - 1)
	next := idx[len(idx)-1] + 1
	if next >= t.TrainData.NumBatches() {
		return DataPosition{Epoch: epoch + 1}
	}
	return DataPosition{Epoch: epoch, NextBatch: next}
}

// SaveCheckpoint writes a checkpoint of the current state to OutputDir (see CheckpointPrefix)
// and the history tables to OutputDir, and prunes old checkpoints beyond SaveTotalLimit. It
// returns the checkpoint directory.
func (t *Trainer) SaveCheckpoint() (string, error) {
	dir := t.Args.OutputDir
	if dir == "" {
		return "", fmt.Errorf("train: SaveCheckpoint: output_dir is not set")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("train: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".tmp-"+CheckpointPrefix)
	if err != nil {
		return "", fmt.Errorf("train: %w", err)
	}
	defer os.RemoveAll(tmp) // no-op after the rename
	final := CheckpointDir(dir, t.step)
	if err := t.writeCheckpointFiles(tmp); err != nil {
		return "", fmt.Errorf("train: checkpoint %s: %w", final, err)
	}
	if err := os.RemoveAll(final); err != nil {
		return "", fmt.Errorf("train: replacing %s: %w", final, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("train: %w", err)
	}
	syncDir(dir)
	t.lastCkpt = final
	if err := t.SaveHistory(dir); err != nil {
		return final, err
	}
	if t.Args.SaveTotalLimit > 0 {
		steps, err := Checkpoints(dir)
		if err != nil {
			return final, err
		}
		for len(steps) > t.Args.SaveTotalLimit {
			if steps[0] != t.step {
				if err := os.RemoveAll(CheckpointDir(dir, steps[0])); err != nil {
					return final, fmt.Errorf("train: pruning: %w", err)
				}
			}
			steps = steps[1:]
		}
	}
	return final, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

func writeSynced(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (t *Trainer) writeCheckpointFiles(dir string) error {
	if err := checkState(t.st.names, t.params, t.m, t.v); err != nil {
		return err
	}
	params := map[string]*tensors.Tensor{}
	moments := adamw.State{Step: t.step, ExpAvg: map[string]*tensors.Tensor{}, ExpAvgSq: map[string]*tensors.Tensor{}}
	for i, n := range t.st.names {
		params[n] = t.params[i]
		moments.ExpAvg[n], moments.ExpAvgSq[n] = t.m[i], t.v[i]
	}
	for _, f := range []struct {
		name string
		ts   map[string]*tensors.Tensor
	}{{TrainableFile, params}, {OptimizerFile, moments.Flatten()}} {
		ts := make([]safetensors.Tensor, 0, len(f.ts))
		for _, n := range sortedNames(f.ts) {
			ts = append(ts, safetensors.Tensor{Name: n, Tensor: f.ts[n]})
		}
		if err := safetensors.Write(filepath.Join(dir, f.name), ts, map[string]string{"format": "pt"}); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	rng, err := tensors.CopyFlatData[uint64](t.rng)
	if err != nil {
		return fmt.Errorf("reading the RNG state: %w", err)
	}
	st := trainerState{GlobalStep: t.step, TotalSteps: t.totalSteps, Data: t.dataPosition(t.step), RNGState: rng,
		Seed: t.Args.Seed, Args: t.Args}
	if len(t.history) > 0 {
		st.ElapsedSeconds = t.history[len(t.history)-1].ElapsedSeconds
	}
	js, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := writeSynced(filepath.Join(dir, StateFile), js); err != nil {
		return err
	}
	return writeHistoryCSV(dir, t.history, t.evals)
}

// UnreadableCheckpointError is Resume's error when the newest checkpoint cannot be loaded
// (unreadable, inconsistent with this trainer, or holding non-finite state). Resume does not
// fall back on its own: Intact names the newest checkpoint that loads ("" when none does);
// load it with LoadCheckpoint to continue from there.
type UnreadableCheckpointError struct {
	Newest string // the checkpoint that failed
	Intact string // the newest one that loads, or ""
	Err    error  // why Newest failed
}

func (e *UnreadableCheckpointError) Error() string {
	choice := "no older checkpoint loads either"
	if e.Intact != "" {
		choice = fmt.Sprintf("the newest intact checkpoint is %s: load it with LoadCheckpoint to resume from there", e.Intact)
	}
	return fmt.Sprintf("train: resume: the newest checkpoint %s cannot be loaded (%v); %s", e.Newest, e.Err, choice)
}

func (e *UnreadableCheckpointError) Unwrap() error { return e.Err }

// Resume loads the newest checkpoint of dir ("" means Args.OutputDir) into the trainer, so that
// Train continues where that run stopped: parameters, AdamW moments and step, RNG state, data
// position and history. It returns false (and changes nothing) when dir has no checkpoint. When
// the newest checkpoint cannot be loaded it changes nothing and returns an
// *UnreadableCheckpointError naming the newest one that can.
//
// The trainer must have been built with the same model parameters (names and shapes) and the
// same data; the arguments may differ only in ways that keep the step → batches mapping
// (batch size, accumulation and the data set are checked through the saved total steps).
func (t *Trainer) Resume(dir string) (bool, error) {
	if dir == "" {
		dir = t.Args.OutputDir
	}
	steps, err := Checkpoints(dir)
	if err != nil {
		return false, err
	}
	// Temporary directories of checkpoints whose writing was interrupted (a killed run).
	if stale, _ := filepath.Glob(filepath.Join(dir, ".tmp-"+CheckpointPrefix+"*")); len(stale) > 0 {
		for _, s := range stale {
			_ = os.RemoveAll(s)
		}
	}
	if len(steps) == 0 {
		return false, nil
	}
	newest := CheckpointDir(dir, steps[len(steps)-1])
	c, err := t.readCheckpoint(newest)
	if err != nil {
		ue := &UnreadableCheckpointError{Newest: newest, Err: err}
		for k := len(steps) - 2; k >= 0; k-- {
			if _, err := t.readCheckpoint(CheckpointDir(dir, steps[k])); err == nil {
				ue.Intact = CheckpointDir(dir, steps[k])
				break
			}
		}
		return false, ue
	}
	t.apply(c)
	return true, nil
}

// LoadCheckpoint loads one checkpoint directory (see Resume). Nothing changes when it fails.
func (t *Trainer) LoadCheckpoint(ckpt string) error {
	c, err := t.readCheckpoint(ckpt)
	if err != nil {
		return err
	}
	t.apply(c)
	return nil
}

// loadedCheckpoint is a checkpoint read and checked, not yet applied.
type loadedCheckpoint struct {
	dir          string
	state        trainerState
	params, m, v []*tensors.Tensor
	history      []Record
	evals        []EvalResult
}

func (t *Trainer) apply(c *loadedCheckpoint) {
	t.params, t.m, t.v = c.params, c.m, c.v
	t.rng = tensors.FromFlatDataAndDimensions(c.state.RNGState, rngDims()...)
	t.step = c.state.GlobalStep
	t.history = c.history
	t.evals = c.evals
	t.lastCkpt = c.dir
}

// readCheckpoint reads a checkpoint and checks it against the trainer: step count, data
// position, parameter names and shapes, RNG state, and finite parameters and moments with
// exp_avg_sq ≥ 0.
func (t *Trainer) readCheckpoint(ckpt string) (*loadedCheckpoint, error) {
	wrap := func(err error) error { return fmt.Errorf("train: loading checkpoint %s: %w", ckpt, err) }
	raw, err := os.ReadFile(filepath.Join(ckpt, StateFile))
	if err != nil {
		return nil, wrap(err)
	}
	var st trainerState
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, wrap(fmt.Errorf("%s: %w", StateFile, err))
	}
	if st.TotalSteps != t.totalSteps {
		return nil, wrap(fmt.Errorf("it was saved by a run of %d steps, this trainer runs %d (different data, batch size, accumulation or epochs)",
			st.TotalSteps, t.totalSteps))
	}
	if st.Data != t.dataPosition(st.GlobalStep) {
		return nil, wrap(fmt.Errorf("data position %+v does not match this trainer's %+v at step %d", st.Data, t.dataPosition(st.GlobalStep), st.GlobalStep))
	}
	params, err := safetensors.ReadAll(filepath.Join(ckpt, TrainableFile))
	if err != nil {
		return nil, wrap(err)
	}
	flat, err := safetensors.ReadAll(filepath.Join(ckpt, OptimizerFile))
	if err != nil {
		return nil, wrap(err)
	}
	opt, err := adamw.UnflattenState(flat)
	if err != nil {
		return nil, wrap(fmt.Errorf("%s: %w", OptimizerFile, err))
	}
	n := len(t.st.names)
	c := &loadedCheckpoint{dir: ckpt, state: st,
		params: make([]*tensors.Tensor, n), m: make([]*tensors.Tensor, n), v: make([]*tensors.Tensor, n)}
	if len(params) != n {
		return nil, wrap(fmt.Errorf("%d trainable parameters saved, the model has %d", len(params), n))
	}
	for i, name := range t.st.names {
		p, m, v := params[name], opt.ExpAvg[name], opt.ExpAvgSq[name]
		if p == nil || m == nil || v == nil {
			return nil, wrap(fmt.Errorf("parameter %q (or its moments) missing", name))
		}
		want := t.params[i].Shape()
		for _, x := range []*tensors.Tensor{p, m, v} {
			if !x.Shape().Equal(want) {
				return nil, wrap(fmt.Errorf("parameter %q: saved shape %s, model shape %s", name, x.Shape(), want))
			}
		}
		c.params[i], c.m[i], c.v[i] = p, m, v
	}
	if err := checkState(t.st.names, c.params, c.m, c.v); err != nil {
		return nil, wrap(err)
	}
	if len(st.RNGState) != graph.RNGStateShape.Size() {
		return nil, wrap(fmt.Errorf("RNG state has %d words, want %d", len(st.RNGState), graph.RNGStateShape.Size()))
	}
	if c.history, c.evals, err = ReadHistory(ckpt); err != nil {
		return nil, wrap(err)
	}
	return c, nil
}

// checkState returns an error wrapping ErrNonFinite, naming the tensor and the index, when a
// parameter or an AdamW moment is NaN or ±Inf, or an exp_avg_sq is negative: state no
// checkpoint may hold.
func checkState(names []string, params, m, v []*tensors.Tensor) error {
	for i, name := range names {
		for _, x := range []struct {
			what string
			t    *tensors.Tensor
		}{{name, params[i]}, {name + ".exp_avg", m[i]}, {name + ".exp_avg_sq", v[i]}} {
			flat, err := tensors.CopyFlatData[float32](x.t)
			if err != nil {
				return fmt.Errorf("reading %s: %w", x.what, err)
			}
			sq := x.t == v[i]
			for k, f := range flat {
				switch {
				case math.IsNaN(float64(f)) || math.IsInf(float64(f), 0):
					return fmt.Errorf("%s[%d] is %v: %w", x.what, k, f, ErrNonFinite)
				case sq && f < 0:
					return fmt.Errorf("%s[%d] is %v, but a second moment cannot be negative: corrupt state", x.what, k, f)
				}
			}
		}
	}
	return nil
}

// rngDims returns the dimensions of the RNG state (uint64 words).
func rngDims() []int { return append([]int(nil), graph.RNGStateShape.Dimensions...) }

// evalsFromRows is the inverse of EvalRows.
func evalsFromRows(rows []EvalRow) []EvalResult {
	var out []EvalResult
	for _, r := range rows {
		if r.Turn < 0 {
			out = append(out, EvalResult{Step: r.Step, Loss: r.Loss, Perplexity: r.Perplexity, Accuracy: r.Accuracy, Tokens: r.Tokens})
			continue
		}
		if len(out) == 0 {
			continue
		}
		last := &out[len(out)-1]
		last.PerTurn = append(last.PerTurn, TurnMetrics{Turn: r.Turn, Loss: r.Loss, Perplexity: r.Perplexity,
			Accuracy: r.Accuracy, Tokens: r.Tokens})
	}
	return out
}

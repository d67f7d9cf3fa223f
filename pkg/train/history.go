package train

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/loralab/loralab/pkg/table"
)

// Record is one optimizer step of the training history (one row of history.csv).
type Record struct {
	Step             int     `json:"step" parquet:"step"`
	Epoch            float64 `json:"epoch" parquet:"epoch"`
	Loss             float64 `json:"loss" parquet:"loss"` // window loss: summed token loss / supervised tokens
	LearningRate     float64 `json:"learning_rate" parquet:"learning_rate"`
	GradNorm         float64 `json:"grad_norm" parquet:"grad_norm"` // before clipping
	SupervisedTokens int64   `json:"supervised_tokens" parquet:"supervised_tokens"`
	Tokens           int64   `json:"tokens" parquet:"tokens"` // B×T summed over the window, padding included
	StepSeconds      float64 `json:"step_seconds" parquet:"step_seconds"`
	TokensPerSecond  float64 `json:"tokens_per_second" parquet:"tokens_per_second"`
	ElapsedSeconds   float64 `json:"elapsed_seconds" parquet:"elapsed_seconds"`
}

// EvalRow is one row of eval_history.csv: the metrics of one evaluation, for all supervised
// tokens (Turn -1) or for one turn (0, 1, …, as mask.Example.Turn).
type EvalRow struct {
	Step       int     `json:"step" parquet:"step"`
	Turn       int     `json:"turn" parquet:"turn"`
	Loss       float64 `json:"eval_loss" parquet:"eval_loss"`
	Perplexity float64 `json:"eval_perplexity" parquet:"eval_perplexity"`
	Accuracy   float64 `json:"eval_accuracy" parquet:"eval_accuracy"`
	Tokens     int     `json:"eval_tokens" parquet:"eval_tokens"`
}

// EvalRows flattens evaluations into rows: the overall metrics as turn -1, then one row per turn.
func EvalRows(evals []EvalResult) []EvalRow {
	var rows []EvalRow
	for _, e := range evals {
		rows = append(rows, EvalRow{Step: e.Step, Turn: -1, Loss: e.Loss, Perplexity: e.Perplexity, Accuracy: e.Accuracy, Tokens: e.Tokens})
		for _, tm := range e.PerTurn {
			rows = append(rows, EvalRow{Step: e.Step, Turn: tm.Turn, Loss: tm.Loss, Perplexity: tm.Perplexity,
				Accuracy: tm.Accuracy, Tokens: tm.Tokens})
		}
	}
	return rows
}

// History tables, in OutputDir (SaveHistory) and in each checkpoint (CSV only).
const (
	HistoryFile     = "history.csv"
	EvalHistoryFile = "eval_history.csv"
)

// SaveHistory writes the run's tables to dir: history.csv and history.parquet (one row per
// step), eval_history.csv and eval_history.parquet (see EvalRow). Each file is written to a
// temporary file and renamed.
func (t *Trainer) SaveHistory(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := writeHistoryCSV(dir, t.history, t.evals); err != nil {
		return err
	}
	if err := table.WriteParquet(filepath.Join(dir, "history.parquet"), t.history); err != nil {
		return err
	}
	return table.WriteParquet(filepath.Join(dir, "eval_history.parquet"), EvalRows(t.evals))
}

// writeHistoryCSV writes history.csv and eval_history.csv to dir.
func writeHistoryCSV(dir string, history []Record, evals []EvalResult) error {
	if err := table.WriteCSV(filepath.Join(dir, HistoryFile), history); err != nil {
		return err
	}
	return table.WriteCSV(filepath.Join(dir, EvalHistoryFile), EvalRows(evals))
}

// ReadHistory reads the history.csv and eval_history.csv that SaveHistory or a checkpoint
// wrote to dir.
func ReadHistory(dir string) ([]Record, []EvalResult, error) {
	history, err := table.ReadCSV[Record](filepath.Join(dir, HistoryFile))
	if err != nil {
		return nil, nil, err
	}
	rows, err := table.ReadCSV[EvalRow](filepath.Join(dir, EvalHistoryFile))
	if err != nil {
		return nil, nil, err
	}
	return history, evalsFromRows(rows), nil
}

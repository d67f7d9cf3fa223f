package train

import (
	"path/filepath"
	"testing"

	"github.com/loralab/loralab/pkg/table"
)

func TestHistoryFiles(t *testing.T) {
	args := toyArgs()
	args.MaxSteps = 12
	args.EvalSteps = 6
	tr := newToyTrainer(t, args, 0)
	if err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := tr.SaveHistory(dir); err != nil {
		t.Fatal(err)
	}
	h, err := table.ReadCSV[Record](filepath.Join(dir, "history.csv"))
	if err != nil || len(h) != 12 {
		t.Fatalf("history.csv: %d rows, %v", len(h), err)
	}
	for i, r := range h {
		if r != tr.History()[i] {
			t.Errorf("row %d: %+v, want %+v (CSV floats must round-trip exactly)", i, r, tr.History()[i])
		}
	}
	rows, err := table.ReadParquet[EvalRow](filepath.Join(dir, "eval_history.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if want := EvalRows(tr.EvalHistory()); len(rows) != len(want) || len(rows) != 6 || rows[3] != want[3] {
		t.Errorf("eval_history.parquet rows %+v, want %+v", rows, want)
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		secs float64
		want string
	}{{0, "0:00"}, {59.6, "1:00"}, {3725, "1:02:05"}, {-1, "?"}} {
		if got := FormatDuration(tc.secs); got != tc.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tc.secs, got, tc.want)
		}
	}
}

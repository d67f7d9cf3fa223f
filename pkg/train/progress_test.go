package train

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestProgressLinesAndHistoryFiles(t *testing.T) {
	args := toyArgs()
	args.DisableTQDM = false
	args.LoggingSteps = 5
	args.MaxSteps = 12
	args.EvalSteps = 6
	tr := newToyTrainer(t, args, 0)
	var out bytes.Buffer
	tr.Progress = &out // not a terminal: one line every logging_steps and at the end
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
	if strings.Contains(out.String(), "\r") {
		t.Errorf("carriage returns written to a non-terminal")
	}

	dir := t.TempDir()
	if err := tr.SaveHistory(dir); err != nil {
		t.Fatal(err)
	}
	h, err := ReadCSV[Record](filepath.Join(dir, "history.csv"))
	if err != nil || len(h) != 12 {
		t.Fatalf("history.csv: %d rows, %v", len(h), err)
	}
	for i, r := range h {
		if r != tr.History()[i] {
			t.Errorf("row %d: %+v, want %+v (CSV floats must round-trip exactly)", i, r, tr.History()[i])
		}
	}
	rows, err := ReadParquet[EvalRow](filepath.Join(dir, "eval_history.parquet"))
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

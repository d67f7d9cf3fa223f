package table

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type row struct {
	Step  int     `json:"step" parquet:"step"`
	Loss  float64 `json:"loss" parquet:"loss"`
	Name  string  `json:"name" parquet:"name"`
	Done  bool    `json:"done" parquet:"done"`
	Extra uint8   `json:"-" parquet:"-"`
}

// Rows round-trip exactly through CSV and Parquet; a bad cell names the file, line and column.
func TestRoundTripAndErrors(t *testing.T) {
	dir := t.TempDir()
	rows := []row{{1, 0.1 + 0.2, "a,b", true, 0}, {2, 1e-300, "\"q\"", false, 0}}
	csvPath, pqPath := filepath.Join(dir, "t.csv"), filepath.Join(dir, "t.parquet")
	if err := WriteCSV(csvPath, rows); err != nil {
		t.Fatal(err)
	}
	if err := WriteParquet(pqPath, rows); err != nil {
		t.Fatal(err)
	}
	for name, read := range map[string]func() ([]row, error){
		"csv": func() ([]row, error) { return ReadCSV[row](csvPath) }, "parquet": func() ([]row, error) { return ReadParquet[row](pqPath) }} {
		got, err := read()
		if err != nil || len(got) != 2 || got[0] != rows[0] || got[1] != rows[1] {
			t.Errorf("%s: %+v, %v; want %+v", name, got, err, rows)
		}
	}
	head, _ := os.ReadFile(csvPath)
	if !strings.HasPrefix(string(head), "step,loss,name,done\n") {
		t.Errorf("header: %q", head)
	}
	if err := os.WriteFile(csvPath, []byte("step,loss\n1,0.5\n2,oops\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCSV[row](csvPath); err == nil || !strings.Contains(err.Error(), "line 3 column loss") {
		t.Errorf("bad cell: err = %v", err)
	}
	if err := WriteCSV(filepath.Join(dir, "x.csv"), []int{1}); err == nil {
		t.Error("rows that are not structs accepted")
	}
}

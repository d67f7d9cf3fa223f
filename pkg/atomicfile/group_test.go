package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func text(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

func TestGroupAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	var g Group
	g.Write(a, text("a1"))
	g.Write(b, text("b1"))
	if err := g.Commit(); err != nil {
		t.Fatal(err)
	}
	if read(t, a) != "a1" || read(t, b) != "b1" {
		t.Fatalf("after commit: %q %q", read(t, a), read(t, b))
	}

	// A writer that fails: nothing changes.
	g = Group{}
	g.Write(a, text("a2"))
	g.Write(b, func(io.Writer) error { return errors.New("boom") })
	if err := g.Commit(); err == nil {
		t.Fatal("commit after a failed write succeeded")
	}
	if read(t, a) != "a1" || read(t, b) != "b1" {
		t.Fatalf("after a failed write: %q %q, want the old pair", read(t, a), read(t, b))
	}

	// A directory in the way of the second file: nothing changes either.
	c := filepath.Join(dir, "c")
	if err := os.Mkdir(c, 0o755); err != nil {
		t.Fatal(err)
	}
	g = Group{}
	g.Write(a, text("a3"))
	g.Write(c, text("c3"))
	if err := g.Commit(); err == nil {
		t.Fatal("commit over a directory succeeded")
	}
	if read(t, a) != "a1" {
		t.Fatalf("a = %q after a refused commit, want a1", read(t, a))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("left behind: %v", names)
	}
}

package interop

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/safetensors"
)

// python returns the interpreter of the interop virtual environment: $LORALAB_PYTHON, else
// $LORALAB_CACHE/venv-test/bin/python (LORALAB_CACHE defaults as in docker/env.sh). When there
// is none the test skips, or fails under CI=true, where `make test` must have installed it.
func python(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the Python interop checks")
	}
	py := os.Getenv("LORALAB_PYTHON")
	if py == "" {
		cache := os.Getenv("LORALAB_CACHE")
		if cache == "" {
			base := os.Getenv("XDG_CACHE_HOME")
			if base == "" {
				home, _ := os.UserHomeDir()
				base = filepath.Join(home, ".cache")
			}
			cache = filepath.Join(base, "loralab")
		}
		venv := filepath.Join(cache, "venv-test")
		if _, err := os.Stat(filepath.Join(venv, ".loralab-requirements")); err == nil {
			py = filepath.Join(venv, "bin", "python")
		}
	}
	if py == "" {
		msg := "no Python interop environment: run `make setup` (installs docker/requirements-test.txt into $LORALAB_CACHE/venv-test) or set LORALAB_PYTHON"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return py
}

// runPython runs testdata/<script> with args, logging its output; a non-zero exit fails the test.
func runPython(t *testing.T, py, script string, args ...string) {
	t.Helper()
	cmd := exec.Command(py, append([]string{filepath.Join("testdata", script)}, args...)...)
	home := t.TempDir() // HF caches go to a scratch folder; nothing is fetched
	cmd.Env = append(os.Environ(), "HF_HOME="+home, "HF_HUB_OFFLINE=1", "TRANSFORMERS_OFFLINE=1",
		"HF_DATASETS_OFFLINE=1", "PYTHONDONTWRITEBYTECODE=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s %v (%.1fs):\n%s", script, args, time.Since(start).Seconds(), out.String())
	if err != nil {
		t.Fatalf("%s %v: %v", script, args, err)
	}
}

// writeJSON writes v to path.
func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readJSON reads path into v.
func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// goLogits runs LoRA Lab's forward pass (with the adapter when not nil) on rows of token ids.
func goLogits(t *testing.T, m *llama.Model, a llama.GraphAdapter, ids [][]int32) []float32 {
	t.Helper()
	r, err := llama.NewRunner(backend.MustDefault(), m, a)
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Logits(ids, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](out)
}

// readLogits reads the "logits" tensor a Python script saved.
func readLogits(t *testing.T, path string) []float32 {
	t.Helper()
	sf, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	lt, err := sf.ReadFloat32("logits")
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](lt)
}

// maxRelErr is the largest |a-b| relative to max(|b|, 10% of b's largest magnitude), so that
// near-zero logits do not blow the ratio up.
func maxRelErr(t *testing.T, a, b []float32) float64 {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("logits: %d values here, %d from Python", len(a), len(b))
	}
	var maxB float64
	for _, v := range b {
		maxB = math.Max(maxB, math.Abs(float64(v)))
	}
	var worst float64
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		worst = math.Max(worst, d/math.Max(math.Abs(float64(b[i])), 0.1*maxB))
	}
	return worst
}

// randomIDs returns rows×cols token ids below vocab, seeded.
func randomIDs(rows, cols, vocab int, seed uint64) [][]int32 {
	x := seed*0x9e3779b97f4a7c15 + 1
	out := make([][]int32, rows)
	for r := range out {
		out[r] = make([]int32, cols)
		for c := range out[r] {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			out[r][c] = int32(x % uint64(vocab))
		}
	}
	return out
}

package backend

import (
	"runtime"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
)

// The Go backend is ~10x slower without its SIMD kernels: every build must set
// GOEXPERIMENT=simd (the Makefile, .ci/run, the GoNB kernel and Docker do).
func TestSIMDCompiledIn(t *testing.T) {
	if !SIMDCompiled {
		t.Fatal("built without GOEXPERIMENT=simd: the Go backend's AVX2/AVX-512 kernels are not compiled in")
	}
}

func TestChooseHonoursEnv(t *testing.T) {
	t.Setenv(EnvVar, "go:parallelism=3")
	if c := Choose(); c.Config != "go:parallelism=3" || !strings.Contains(c.Reason, EnvVar) {
		t.Fatalf("Choose() = %+v with $%s=go:parallelism=3", c, EnvVar)
	}
	t.Setenv(EnvVar, "go") // a bare "go" gets GoConfig's executor settings
	if c := Choose(); c.Config != GoConfig(runtime.GOMAXPROCS(0)) || !strings.Contains(c.Reason, EnvVar) {
		t.Fatalf("Choose() = %+v with $%s=go, want %s", c, EnvVar, GoConfig(runtime.GOMAXPROCS(0)))
	}
	t.Setenv(EnvVar, "nosuchbackend")
	if _, err := New(); err == nil || !strings.Contains(err.Error(), "nosuchbackend") {
		t.Fatalf("New() with an unknown backend: err = %v", err)
	}
}

func TestDefaultWithoutPluginIsGo(t *testing.T) {
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", t.TempDir()) // an empty plugin directory
	t.Setenv(EnvVar, "")
	c := Choose()
	if c.Config != GoConfig(runtime.GOMAXPROCS(0)) {
		t.Fatalf("without a PJRT plugin Choose() = %+v, want the Go backend", c)
	}
	b, err := New()
	if err != nil {
		t.Fatal(err)
	}
	line := Line(b)
	if !strings.HasPrefix(line, "backend: go") || !strings.Contains(line, "SIMD: on") || !strings.Contains(line, "threads: ") {
		t.Fatalf("Line() = %q", line)
	}
	e := MustNewExec(b, func(x *Node) *Node { return ReduceAllSum(Mul(x, x)) })
	got := e.MustExec1([]float32{1, 2, 3}).Value().(float32)
	if got != 14 {
		t.Fatalf("sum of squares = %v, want 14", got)
	}
}

// GoConfig leaves at least procs+1 of the pool's 2·procs slots to the workers, and keeps GoMLX's
// 8 executors on big machines.
func TestGoConfig(t *testing.T) {
	for _, c := range []struct {
		procs int
		want  string
	}{
		{0, "go:num_executors=2"},
		{1, "go:num_executors=2"},
		{2, "go:num_executors=2"},
		{4, "go:num_executors=4"},
		{16, "go:num_executors=8"},
	} {
		if got := GoConfig(c.procs); got != c.want {
			t.Errorf("GoConfig(%d) = %q, want %q", c.procs, got, c.want)
		}
	}
}

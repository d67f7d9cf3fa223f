// Package backend chooses the GoMLX compute backend LoRA Lab runs on and says which one runs.
//
// The rule, in order:
//  1. $GOMLX_BACKEND, when set, is used as given ("go", "xla:cpu", "xla:cuda", ...), except
//     that a bare "go" gets the executor settings of rule 3.
//  2. XLA, when this binary was built with the `xla` build tag and a PJRT plugin is
//     installed on this machine (nothing is ever downloaded).
//  3. Otherwise the pure-Go backend, with its SIMD kernels when built with GOEXPERIMENT=simd,
//     configured by GoConfig.
//
// Importing github.com/gomlx/gomlx/backends/default is avoided on purpose: with it XLA is the
// default and, without a plugin, it tries to download one from the network.
package backend

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
)

// EnvVar is the environment variable GoMLX reads to pick a backend.
const EnvVar = compute.ConfigEnvVar

// Choice is the backend configuration Config picked and why.
type Choice struct {
	Config string // backend configuration, e.g. "go" or "xla:cuda"
	Reason string // why this one was chosen
}

// Choose returns the backend configuration following the package rule, without creating it.
func Choose() Choice {
	if v, ok := os.LookupEnv(EnvVar); ok && strings.TrimSpace(v) != "" {
		v = strings.TrimSpace(v)
		if v == gobackend.BackendName {
			v = GoConfig(runtime.GOMAXPROCS(0))
		}
		return Choice{Config: v, Reason: "$" + EnvVar}
	}
	if xlaCompiled {
		if plugin, ok := findPJRTPlugin(); ok {
			return Choice{Config: "xla:" + plugin, Reason: "PJRT plugin " + plugin + " installed"}
		}
	}
	reason := "no PJRT plugin installed"
	if !xlaCompiled {
		reason = "built without the xla tag"
	}
	return Choice{Config: GoConfig(runtime.GOMAXPROCS(0)), Reason: reason}
}

// GoConfig is the Go backend's configuration for a machine of procs threads (GOMAXPROCS).
//
// The Go backend runs a graph's ops on several executor goroutines (num_executors, by default
// min(8, 2·procs)) and splits big ops such as matmuls over a pool of 2·procs workers. Each
// executor but the caller holds a pool slot for the whole run, even while it waits for a ready
// op (compute v0.1.14, internal/gobackend executeParallel and workerspool.StartIfAvailable):
// with the defaults on 2 threads three executors hold three of the four slots and a matmul
// finds one worker — the LoRA step used 1.24 of 2 cores, and a Go execution trace showed its
// matmuls running alone 82% of the time. GoConfig runs procs executors, at least 2 and at most
// GoMLX's 8, so that at least procs+1 slots stay with the workers (GoMLX's default from 8
// threads on). On the 2-core AMD EPYC of pkg/bench/NOTES.md the bench-small training step went
// from 0.77 to 0.48–0.55 s and the seq-512 one from 2.07 to 1.25–1.45 s. (The pool size itself
// is left alone: setting it makes the backend print a line on stdout.)
func GoConfig(procs int) string {
	return fmt.Sprintf("%s:num_executors=%d", gobackend.BackendName, min(max(procs, 2), 8))
}

var (
	once     sync.Once
	shared   compute.Backend
	sharedEr error
)

// New creates a new backend following the package rule.
func New() (compute.Backend, error) {
	c := Choose()
	name, _, _ := strings.Cut(c.Config, ":")
	registered := false
	for _, n := range compute.List() {
		if n == name {
			registered = true
		}
	}
	if !registered {
		return nil, fmt.Errorf("backend %q (from %s) is not compiled into this binary; available: %s",
			name, c.Reason, strings.Join(compute.List(), ", "))
	}
	b, err := compute.NewWithConfig(c.Config)
	if err != nil {
		return nil, fmt.Errorf("creating backend %q: %w", c.Config, err)
	}
	return b, nil
}

// Default returns the process-wide backend, created on first use.
func Default() (compute.Backend, error) {
	once.Do(func() { shared, sharedEr = New() })
	return shared, sharedEr
}

// MustDefault is Default for notebooks and examples: it panics on error.
func MustDefault() compute.Backend {
	b, err := Default()
	if err != nil {
		panic(err)
	}
	return b
}

// Line describes in one line what runs: backend, SIMD kernels on/off and threads.
func Line(b compute.Backend) string {
	simd := "off"
	if SIMDCompiled {
		simd = "on"
	}
	if b == nil {
		return "backend: none"
	}
	name := b.String()
	if name == gobackend.BackendName {
		c := Choose()
		if !strings.HasPrefix(c.Config, gobackend.BackendName) {
			c.Config = gobackend.BackendName // b was not made by New
		}
		return fmt.Sprintf("backend: %s (%s) | SIMD: %s (GOEXPERIMENT=simd, %s) | threads: %d | %s",
			c.Config, b.Description(), simd, cpuFeatures(), runtime.GOMAXPROCS(0), c.Reason)
	}
	return fmt.Sprintf("backend: %s (%s) | SIMD: n/a | threads: %d | %s",
		name, b.Description(), runtime.GOMAXPROCS(0), Choose().Reason)
}

// NewTensor makes a zeroed tensor. On backends with shared buffers (the Go backend) it lives in
// a buffer the backend uses directly, so running a graph on it does not copy it: model weights
// are held once in memory.
func NewTensor(shape shapes.Shape) *tensors.Tensor {
	if b, err := Default(); err == nil && b.HasSharedBuffers() {
		if t, err := tensors.FromShapeForBackend(b, 0, shape); err == nil {
			return t
		}
	}
	return tensors.FromShape(shape)
}

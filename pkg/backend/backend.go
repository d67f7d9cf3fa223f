// Package backend chooses the GoMLX compute backend LoRA Lab runs on and says which one runs.
//
// The rule, in order:
//  1. $GOMLX_BACKEND, when set, is used as given ("go", "xla:cpu", "xla:cuda", ...).
//  2. XLA, when this binary was built with the `xla` build tag and a PJRT plugin is
//     installed on this machine (nothing is ever downloaded).
//  3. Otherwise the pure-Go backend, with its SIMD kernels when built with GOEXPERIMENT=simd.
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
		return Choice{Config: strings.TrimSpace(v), Reason: "$" + EnvVar}
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
	return Choice{Config: gobackend.BackendName, Reason: reason}
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
		return fmt.Sprintf("backend: go (%s) | SIMD: %s (GOEXPERIMENT=simd, %s) | threads: %d | %s",
			b.Description(), simd, cpuFeatures(), runtime.GOMAXPROCS(0), Choose().Reason)
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

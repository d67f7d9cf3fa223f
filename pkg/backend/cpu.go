package backend

import (
	"runtime"
	"strings"

	"golang.org/x/sys/cpu"
)

// cpuFeatures names the vector extensions of this CPU that the Go backend's kernels use.
func cpuFeatures() string {
	if runtime.GOARCH != "amd64" {
		return runtime.GOARCH
	}
	var f []string
	if cpu.X86.HasAVX2 {
		f = append(f, "AVX2")
	}
	if cpu.X86.HasAVX512F {
		f = append(f, "AVX-512")
	}
	if len(f) == 0 {
		return "no AVX2"
	}
	return strings.Join(f, "+")
}

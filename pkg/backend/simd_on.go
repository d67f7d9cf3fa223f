//go:build amd64 && goexperiment.simd

package backend

// SIMDCompiled reports whether this binary was built with GOEXPERIMENT=simd, which the Go
// backend's AVX2/AVX-512 kernels (github.com/gomlx/compute) need.
const SIMDCompiled = true

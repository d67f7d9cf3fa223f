# Environment every LoRA Lab build needs; sourced by docker/setup.sh, the Makefile and .ci/run.
# Go 1.27.3 through the toolchain switch (machines with GOTOOLCHAIN=local and an older Go
# fetch it from the module proxy), and the Go backend's SIMD kernels (GOEXPERIMENT=simd).
export GOTOOLCHAIN=go1.27.3
export GOEXPERIMENT=simd
export LORALAB_CACHE="${LORALAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/loralab}"

package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// BLASProbe is what a peer interpreter's torch computes its matmuls with, and how fast.
type BLASProbe struct {
	Python   string   `json:"-"`
	Torch    string   `json:"torch"`     // torch.__version__
	BLASInfo string   `json:"blas_info"` // BLAS_INFO of torch.__config__.show(): "mkl", "open", "generic" (Debian: libblas.so.3) …
	Libs     []string `json:"libs"`      // BLAS/LAPACK/MKL shared libraries mapped into the process, symlinks resolved
	GFLOPS   float64  `json:"gflops"`    // best of 5 float32 N×N×N matmuls, 2N³ flops each
	N        int      `json:"n"`
	Threads  int      `json:"threads"` // torch threads during the matmul
	BLAS     int      `json:"-"`       // OPENBLAS_NUM_THREADS = MKL_NUM_THREADS during the matmul (0: inherited)
}

// blasProbeScript runs one matmul size and prints a BLASProbe as JSON. The libraries are read
// from /proc/self/maps after the matmul, so that a lazily loaded BLAS is listed too (CUDA's
// cuBLAS, which the PyPI wheel maps, is left out: the CPU matmul does not use it).
const blasProbeScript = `
import json, os, re, sys, time, torch
threads, n = int(sys.argv[1]), int(sys.argv[2])
if threads > 0:
    torch.set_num_threads(threads)
a, b = torch.randn(n, n), torch.randn(n, n)
torch.mm(a, b)
best = float("inf")
for _ in range(5):
    t = time.perf_counter(); torch.mm(a, b); best = min(best, time.perf_counter() - t)
libs = set()
for line in open("/proc/self/maps"):
    f = line.split()
    base = os.path.basename(f[5]) if len(f) >= 6 else ""
    if re.search(r"blas|mkl|blis|lapack|atlas", base, re.I) and not re.match(r"libcu", base):  # not CUDA's cuBLAS
        libs.add(os.path.realpath(f[5]))
m = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
print(json.dumps({"torch": torch.__version__, "blas_info": m.group(1) if m else "", "libs": sorted(libs),
                  "gflops": 2 * n ** 3 / best / 1e9, "n": n, "threads": torch.get_num_threads()}))
`

// ProbeBLAS runs a float32 n×n matmul under python's torch with the given torch threads and
// BLAS threads (0 leaves either as inherited) and reports the BLAS library and GFLOP/s.
func ProbeBLAS(python string, torchThreads, blasThreads, n int) (BLASProbe, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", blasProbeScript, strconv.Itoa(torchThreads), strconv.Itoa(n))
	cmd.Env = blasEnv(os.Environ(), blasThreads)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = "\n" + tail(string(ee.Stderr), 800)
		}
		return BLASProbe{}, fmt.Errorf("BLAS probe with %s: %w%s", python, err, msg)
	}
	var p BLASProbe
	if err := json.Unmarshal(out, &p); err != nil {
		return BLASProbe{}, fmt.Errorf("BLAS probe with %s: output %q: %w", python, tail(string(out), 300), err)
	}
	p.Python, p.BLAS = python, blasThreads
	return p, nil
}

// blasEnv sets OPENBLAS_NUM_THREADS and MKL_NUM_THREADS to n (n > 0) in env.
func blasEnv(env []string, n int) []string {
	if n <= 0 {
		return env
	}
	s := strconv.Itoa(n)
	return append(env, "OPENBLAS_NUM_THREADS="+s, "MKL_NUM_THREADS="+s)
}

// Reference reports whether torch's matmuls run on Netlib's reference BLAS: a build that calls
// BLAS through the generic libblas.so.3 (Debian's python3-torch) where that resolves to the
// reference implementation (Debian's libblas3, …/blas/libblas.so.3.*) because no optimized
// alternative (libopenblas0-pthread, BLIS, MKL) is installed. Such a peer is about ten times
// slower than it need be, and a ratio against it means nothing.
func (p BLASProbe) Reference() bool {
	switch strings.ToLower(p.BLASInfo) {
	case "mkl", "open", "openblas", "blis", "flexi", "accelerate", "atlas":
		return false
	}
	for _, l := range p.Libs { // the generic libblas.so.3 is what torch calls: where does it resolve?
		if filepath.Base(filepath.Dir(l)) == "blas" && strings.HasPrefix(filepath.Base(l), "libblas.so") {
			return true
		}
	}
	return false
}

// Library names the BLAS in one phrase: torch's BLAS_INFO and the libraries it mapped.
func (p BLASProbe) Library() string {
	libs := "no BLAS library mapped (linked into torch)"
	if len(p.Libs) > 0 {
		libs = strings.Join(p.Libs, ", ")
	}
	kind := "optimized"
	if p.Reference() {
		kind = "REFERENCE BLAS"
	}
	return fmt.Sprintf("BLAS_INFO=%s, %s (%s)", p.BLASInfo, libs, kind)
}

// String is the probe's one-line summary.
func (p BLASProbe) String() string {
	blas := "inherited"
	if p.BLAS > 0 {
		blas = strconv.Itoa(p.BLAS)
	}
	return fmt.Sprintf("%s: torch %s, %s; float32 %d³ matmul %.1f GFLOP/s (torch threads %d, BLAS threads %s)",
		p.Python, p.Torch, p.Library(), p.N, p.GFLOPS, p.Threads, blas)
}

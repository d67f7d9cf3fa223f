// Command peerbench compares, in one run, LoRA Lab's fused LoRA training step with the
// plain-PyTorch peer ../shared/reference/torch_lora_ref.py on the same shape and step count.
//
// Rounds are interleaved — Go, peer, Go, peer … — so that both sides see the same machine
// load. The peer is every interpreter of -python that imports torch (by default Debian's
// python3-torch 1.13 and the current PyTorch of $LORALAB_CACHE/venv-test, which
// `make setup` installs). Each is first probed: its BLAS library and a float32 1024³ matmul
// GFLOP/s are printed, and an interpreter whose torch runs on Netlib's reference BLAS (Debian's
// python3-torch without libopenblas0-pthread: ten times slower) is refused — no ratio is
// reported against it; `make bench-setup` installs what the peer needs. In every round each
// interpreter then runs once per configuration, torch threads × BLAS threads (by default each
// torch thread count 1..nproc with BLAS threads equal to it and equal to nproc, so 1 × nproc —
// the best seen — is among them), and the best run of all is the peer's figure. It prints a table, the best tokens/s of each side, their ratio Go/peer and both
// peak RSS figures (the Go process's VmHWM; the peer's "Maximum resident set size" from
// /usr/bin/time -v, or its rusage when GNU time is absent). With -md it also writes a markdown
// snippet naming the machine and the load average at start and end.
//
// Usage (from the repository root):
//
//	export GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd GOMLX_BACKEND=go
//	go run ./pkg/bench/cmd/peerbench -steps 10 -rounds 2 -md bench.md
//
// If no interpreter can import torch, or all run on the reference BLAS, it says so and reports
// Go only, without a ratio.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/loralab/loralab/pkg/atomicfile"
	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/bench"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "peerbench:", err)
		os.Exit(1)
	}
}

// repoRoot walks up from the working directory to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// parseThreads reads flag flagName's "1,2,4" or "1-4"; "" means 1..nproc.
func parseThreads(flagName, s string, nproc int) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		out := make([]int, nproc)
		for i := range out {
			out[i] = i + 1
		}
		return out, nil
	}
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a <= 0 {
			return nil, fmt.Errorf("-%s %q: %q is not a positive count", flagName, s, part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("-%s %q: bad range %q", flagName, s, part)
			}
		}
		for t := a; t <= b; t++ {
			out = append(out, t)
		}
	}
	return out, nil
}

func run(args []string) error {
	fs := flag.NewFlagSet("peerbench", flag.ContinueOnError)
	def := bench.DefaultShape()
	var (
		steps   = fs.Int("steps", 10, "timed steps per run (both sides)")
		warmup  = fs.Int("warmup", 2, "warm-up steps per run (both sides; Go's first run also compiles)")
		rounds  = fs.Int("rounds", 2, "interleaved rounds: Go, peer, Go, peer …")
		python  = fs.String("python", defaultPythons(), "comma-separated Python interpreters with torch, each a peer")
		script  = fs.String("script", "", "peer script (default <repo root>/../shared/reference/torch_lora_ref.py)")
		threads = fs.String("threads", "", "peer torch thread counts, e.g. 1,2 or 1-4 (default 1..nproc)")
		blasTh  = fs.String("blas-threads", "", "peer BLAS thread counts (OPENBLAS_NUM_THREADS = MKL_NUM_THREADS), e.g. 1,2; \"inherit\" leaves them unset (default: the torch thread count and nproc)")
		mdPath  = fs.String("md", "", "also write a markdown snippet to this file")
		goOnly  = fs.Bool("go-only", false, "skip the peer")
		timeout = fs.Duration("peer-timeout", 10*time.Minute, "limit for one peer run")
		seed    = fs.Uint64("seed", 1, "seed of the Go model, adapter and batch")
		s       = def
	)
	fs.IntVar(&s.Vocab, "vocab", def.Vocab, "vocabulary size")
	fs.IntVar(&s.Hidden, "hidden", def.Hidden, "hidden size")
	fs.IntVar(&s.Layers, "layers", def.Layers, "decoder layers")
	fs.IntVar(&s.Heads, "heads", def.Heads, "attention heads")
	fs.IntVar(&s.Inter, "inter", def.Inter, "MLP intermediate size")
	fs.IntVar(&s.Seq, "seq", def.Seq, "sequence length")
	fs.IntVar(&s.Batch, "batch", def.Batch, "batch size")
	fs.IntVar(&s.R, "r", def.R, "LoRA rank")
	fs.Float64Var(&s.Alpha, "alpha", def.Alpha, "LoRA alpha")
	var peerEnv envList
	fs.Var(&peerEnv, "peer-env", "extra KEY=VALUE for the peer's environment (repeatable), e.g. OMP_WAIT_POLICY=PASSIVE")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *steps <= 0 || *warmup < 0 || *rounds <= 0 {
		return fmt.Errorf("-steps %d, -warmup %d, -rounds %d: steps and rounds must be > 0, warmup >= 0", *steps, *warmup, *rounds)
	}
	if err := s.Validate(); err != nil {
		return err
	}
	nproc := runtime.NumCPU()
	threadList, err := parseThreads("threads", *threads, nproc)
	if err != nil {
		return err
	}
	configs, err := peerConfigs(threadList, *blasTh, nproc)
	if err != nil {
		return err
	}

	rep := &bench.Report{Shape: s, Steps: *steps, Warmup: *warmup}
	if rep.Machine, err = bench.ThisMachine(); err != nil {
		return err
	}
	rep.LoadStart = rep.Machine.LoadAvg

	// The peer: script path, interpreters (each probed for its BLAS), GNU time.
	peer := bench.PeerOptions{Shape: s, Steps: *steps, Warmup: *warmup, Timeout: *timeout, Env: peerEnv}
	rep.PeerBLASThreads = "torch threads × BLAS threads as listed (OPENBLAS_NUM_THREADS = MKL_NUM_THREADS)"
	if len(peerEnv) > 0 {
		rep.PeerBLASThreads += "; extra environment " + strings.Join(peerEnv, " ")
	}
	if *goOnly {
		rep.PeerNote = "-go-only"
	} else {
		peer.Script = *script
		if peer.Script == "" {
			root, err := repoRoot()
			if err != nil {
				return fmt.Errorf("finding the peer script: %w (pass -script)", err)
			}
			peer.Script = filepath.Join(root, "..", "shared", "reference", "torch_lora_ref.py")
		}
		if _, err := os.Stat(peer.Script); err != nil {
			rep.PeerNote = fmt.Sprintf("peer script missing: %v", err)
		} else {
			probePeers(rep, *python, nproc)
		}
		if tb, err := exec.LookPath("/usr/bin/time"); err == nil {
			peer.TimeBin = tb
		}
	}
	if len(rep.Peers) == 0 {
		fmt.Println("peer: not run:", rep.PeerNote, "— reporting Go only, no ratio")
	}

	b, err := backend.Default()
	if err != nil {
		return err
	}
	rep.Backend = backend.Line(b)
	fmt.Println(rep.Backend)
	fmt.Printf("machine: %s, %d CPUs, load %s\n", rep.Machine.CPUModel, rep.Machine.Cores, rep.LoadStart)
	st, err := bench.NewStep(b, s, *seed)
	if err != nil {
		return err
	}

	for round := 1; round <= *rounds; round++ {
		tm, err := st.Measure(*warmup, *steps)
		if err != nil {
			return fmt.Errorf("go round %d: %w", round, err)
		}
		rss, err := bench.PeakRSS()
		if err != nil {
			return err
		}
		rep.GoPeakRSSKiB = rss
		rep.Runs = append(rep.Runs, bench.Run{Side: "go", Round: round, Threads: runtime.GOMAXPROCS(0),
			TokensPerSec: tm.TokensPerSec, StepMedian: tm.Median, PeakRSSKiB: rss, CPUPerStep: tm.CPUPerStep})
		fmt.Printf("go   round %d: %8.1f tokens/s (median step %.3fs, CPU %.3fs/step, loss %.4f → %.4f), load %s\n",
			round, tm.TokensPerSec, tm.Median.Seconds(), tm.CPUPerStep, tm.FirstLoss, tm.LastLoss, loadNow())
		for _, pp := range rep.Peers {
			for _, c := range configs {
				peer.Python, peer.Threads, peer.BLASThreads = pp.Python, c.torch, c.blas
				r, err := bench.RunPeer(peer)
				if err != nil {
					return err
				}
				run := bench.Run{Side: "peer", Torch: pp.Torch, Round: round, Threads: c.torch, BLASThreads: c.blas,
					TokensPerSec: r.TokensPerSec, StepMedian: time.Duration(r.StepSMedian * float64(time.Second)), PeakRSSKiB: r.PeakRSSKiB,
					CPUPerStep: r.CPUPerStep}
				rep.Runs = append(rep.Runs, run)
				if best, _ := rep.Best("peer"); best == run {
					rep.PeerPeakRSSKiB, rep.PeerRSSSource = r.PeakRSSKiB, r.RSSSource
				}
				fmt.Printf("peer round %d: %8.1f tokens/s (torch %s, %d torch × %d BLAS threads; median step %.3fs, CPU ≤%.3fs/step), load %s\n",
					round, r.TokensPerSec, pp.Torch, c.torch, c.blas, r.StepSMedian, r.CPUPerStep, loadNow())
			}
		}
	}
	rep.LoadEnd = loadNow()
	fmt.Println()
	fmt.Print(rep.Table())
	fmt.Printf("load average: %s at start, %s at end\n", rep.LoadStart, rep.LoadEnd)
	if *mdPath != "" {
		if err := atomicfile.Write(*mdPath, []byte(rep.Markdown())); err != nil {
			return err
		}
		fmt.Println("wrote", *mdPath)
	}
	return nil
}

// defaultPythons is Debian's python3 (python3-torch 1.13) and, when present, the current PyTorch
// of $LORALAB_CACHE/venv-test (default ~/.cache/loralab) that `make setup` installs.
func defaultPythons() string {
	list := []string{"/usr/bin/python3"}
	cache := os.Getenv("LORALAB_CACHE")
	if cache == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cache = filepath.Join(home, ".cache", "loralab")
		}
	}
	if venv := filepath.Join(cache, "venv-test", "bin", "python"); cache != "" {
		if _, err := os.Stat(venv); err == nil {
			list = append(list, venv)
		}
	}
	return strings.Join(list, ",")
}

// probePeers keeps the interpreters of list (comma-separated) that import torch on an
// optimized BLAS, in rep.Peers; those on the reference BLAS go to rep.Refused. Each is probed
// in the configuration that suits the peer best here, 1 torch thread with BLAS on every core.
func probePeers(rep *bench.Report, list string, nproc int) {
	var notes []string
	for _, py := range strings.Split(list, ",") {
		if py = strings.TrimSpace(py); py == "" {
			continue
		}
		if _, ok := bench.HasTorch(py); !ok {
			notes = append(notes, py+" cannot import torch (Debian: apt-get install python3-torch libopenblas0-pthread, or make bench-setup)")
			continue
		}
		p, err := bench.ProbeBLAS(py, 1, nproc, 1024)
		if err != nil {
			notes = append(notes, err.Error())
			continue
		}
		fmt.Println("peer", p)
		if p.Reference() {
			fmt.Printf("peer %s: refused — torch runs on the reference BLAS; install libopenblas0-pthread (make bench-setup)\n", py)
			rep.Refused = append(rep.Refused, p)
			notes = append(notes, py+" runs on the reference BLAS")
			continue
		}
		rep.Peers = append(rep.Peers, p)
	}
	if len(rep.Peers) == 0 {
		rep.PeerNote = strings.Join(notes, "; ")
		if rep.PeerNote == "" {
			rep.PeerNote = "-python lists no interpreter"
		}
	}
}

// peerConfig is one peer configuration: torch threads × BLAS threads (0: inherited).
type peerConfig struct{ torch, blas int }

// peerConfigs crosses the torch thread counts with the BLAS thread counts of spec: "" means,
// for each torch count t, t and nproc; "inherit" leaves BLAS threads unset; else a list
// parsed like -threads.
func peerConfigs(torchThreads []int, spec string, nproc int) ([]peerConfig, error) {
	var out []peerConfig
	add := func(c peerConfig) {
		for _, x := range out {
			if x == c {
				return
			}
		}
		out = append(out, c)
	}
	switch strings.TrimSpace(spec) {
	case "":
		for _, t := range torchThreads {
			add(peerConfig{t, t})
			add(peerConfig{t, nproc})
		}
	case "inherit":
		for _, t := range torchThreads {
			add(peerConfig{t, 0})
		}
	default:
		blas, err := parseThreads("blas-threads", spec, nproc)
		if err != nil {
			return nil, err
		}
		for _, t := range torchThreads {
			for _, b := range blas {
				add(peerConfig{t, b})
			}
		}
	}
	return out, nil
}

// envList is a repeatable KEY=VALUE flag.
type envList []string

func (e *envList) String() string { return strings.Join(*e, " ") }

func (e *envList) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return fmt.Errorf("%q is not KEY=VALUE", v)
	}
	*e = append(*e, v)
	return nil
}

func loadNow() string {
	l, err := bench.LoadAvg()
	if err != nil {
		return "?"
	}
	return l
}

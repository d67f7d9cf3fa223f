// Command peerbench compares, in one run, LoRA Lab's fused LoRA training step with the
// plain-PyTorch peer ../shared/reference/torch_lora_ref.py on the same shape and step count.
//
// Rounds are interleaved — Go, peer, Go, peer … — so that both sides see the same machine
// load. In every round the peer runs once per torch thread count (1..nproc by default) and the
// best is kept. It prints a table, the best tokens/s of each side, their ratio Go/peer and both
// peak RSS figures (the Go process's VmHWM; the peer's "Maximum resident set size" from
// /usr/bin/time -v, or its rusage when GNU time is absent). With -md it also writes a markdown
// snippet naming the machine and the load average at start and end.
//
// Usage (from the repository root):
//
//	export GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd GOMLX_BACKEND=go
//	go run ./pkg/bench/cmd/peerbench -steps 10 -rounds 2 -md bench.md
//
// If /usr/bin/python3 cannot import torch (Debian python3-torch), it says so and reports Go only.
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

// parseThreads reads "1,2,4" or "1-4"; "" means 1..nproc.
func parseThreads(s string, nproc int) ([]int, error) {
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
			return nil, fmt.Errorf("-threads %q: %q is not a positive count", s, part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("-threads %q: bad range %q", s, part)
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
		python  = fs.String("python", "/usr/bin/python3", "Python interpreter with torch")
		script  = fs.String("script", "", "peer script (default <repo root>/../shared/reference/torch_lora_ref.py)")
		threads = fs.String("threads", "", "peer torch thread counts, e.g. 1,2 or 1-4 (default 1..nproc)")
		mdPath  = fs.String("md", "", "also write a markdown snippet to this file")
		goOnly  = fs.Bool("go-only", false, "skip the peer")
		timeout = fs.Duration("peer-timeout", 10*time.Minute, "limit for one peer run")
		seed    = fs.Uint64("seed", 1, "seed of the Go model, adapter and batch")
		blas    = fs.Bool("match-blas-threads", true, "run the peer with OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = its torch thread count")
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
	threadList, err := parseThreads(*threads, nproc)
	if err != nil {
		return err
	}

	rep := &bench.Report{Shape: s, Steps: *steps, Warmup: *warmup}
	if rep.Machine, err = bench.ThisMachine(); err != nil {
		return err
	}
	rep.LoadStart = rep.Machine.LoadAvg

	// The peer: script path, torch, GNU time.
	peer := bench.PeerOptions{Python: *python, Shape: s, Steps: *steps, Warmup: *warmup, Timeout: *timeout,
		MatchBLASThreads: *blas, Env: peerEnv}
	rep.PeerBLASThreads = "inherited from the environment"
	if *blas {
		rep.PeerBLASThreads = "OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = torch threads"
	}
	if len(peerEnv) > 0 {
		rep.PeerBLASThreads += "; extra environment " + strings.Join(peerEnv, " ")
	}
	runPeer := !*goOnly
	if *goOnly {
		rep.PeerNote = "-go-only"
	}
	if runPeer {
		peer.Script = *script
		if peer.Script == "" {
			root, err := repoRoot()
			if err != nil {
				return fmt.Errorf("finding the peer script: %w (pass -script)", err)
			}
			peer.Script = filepath.Join(root, "..", "shared", "reference", "torch_lora_ref.py")
		}
		if _, err := os.Stat(peer.Script); err != nil {
			runPeer, rep.PeerNote = false, fmt.Sprintf("peer script missing: %v", err)
		} else if v, ok := bench.HasTorch(*python); !ok {
			runPeer, rep.PeerNote = false, *python+" cannot import torch (apt-get install python3-torch)"
		} else {
			rep.Torch = v
		}
		if tb, err := exec.LookPath("/usr/bin/time"); err == nil {
			peer.TimeBin = tb
		}
	}
	if !runPeer {
		fmt.Println("peer: not run:", rep.PeerNote, "— reporting Go only")
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
		if !runPeer {
			continue
		}
		for _, th := range threadList {
			peer.Threads = th
			r, err := bench.RunPeer(peer)
			if err != nil {
				return err
			}
			rep.Runs = append(rep.Runs, bench.Run{Side: "peer", Round: round, Threads: r.Threads,
				TokensPerSec: r.TokensPerSec, StepMedian: time.Duration(r.StepSMedian * float64(time.Second)), PeakRSSKiB: r.PeakRSSKiB,
				CPUPerStep: r.CPUPerStep})
			if best, _ := rep.Best("peer"); best.Round == round && best.Threads == r.Threads {
				rep.PeerPeakRSSKiB, rep.PeerRSSSource = r.PeakRSSKiB, r.RSSSource
			}
			fmt.Printf("peer round %d: %8.1f tokens/s (median step %.3fs, CPU ≤%.3fs/step, %d threads), load %s\n",
				round, r.TokensPerSec, r.StepSMedian, r.CPUPerStep, r.Threads, loadNow())
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

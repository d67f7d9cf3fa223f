package bench

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Run is one measured run of either side, for the report table.
type Run struct {
	Side         string // "go" or "peer"
	Round        int    // 1-based round of the interleaved schedule
	Threads      int    // peer torch threads; GOMAXPROCS for Go
	BLASThreads  int    // peer: OPENBLAS_NUM_THREADS = MKL_NUM_THREADS (0: inherited)
	Torch        string // peer: torch version
	TokensPerSec float64
	StepMedian   time.Duration
	PeakRSSKiB   int64
	CPUPerStep   float64 // CPU seconds per step (peer: including its start-up, an upper bound)
}

// Report is a Go-versus-peer comparison.
type Report struct {
	Machine         Machine
	LoadStart       string      // load averages when the comparison started
	LoadEnd         string      // … and when it ended
	Backend         string      // GoMLX backend line
	Peers           []BLASProbe // each peer interpreter compared: its torch, BLAS library and matmul GFLOP/s
	Refused         []BLASProbe // peer interpreters not compared because they run on the reference BLAS
	PeerNote        string      // why the peer did not run, if it did not
	PeerBLASThreads string      // how the peer's BLAS thread pool was sized
	Shape           Shape
	Steps, Warmup   int
	Runs            []Run
	GoPeakRSSKiB    int64 // VmHWM of the Go process after its steps
	PeerPeakRSSKiB  int64 // peak RSS of the best peer run
	PeerRSSSource   string
}

// Best returns the fastest run of a side (false if it has none).
func (r *Report) Best(side string) (Run, bool) {
	var best Run
	found := false
	for _, x := range r.Runs {
		if x.Side == side && (!found || x.TokensPerSec > best.TokensPerSec) {
			best, found = x, true
		}
	}
	return best, found
}

// Ratio is the best Go tokens/s over the best peer tokens/s (0 without a peer run).
func (r *Report) Ratio() float64 {
	g, okG := r.Best("go")
	p, okP := r.Best("peer")
	if !okG || !okP || p.TokensPerSec == 0 {
		return 0
	}
	return g.TokensPerSec / p.TokensPerSec
}

// RoundRatios is, for each round with a Go run and a peer run, Go's tokens/s over the best peer
// run of that round, in round order.
func (r *Report) RoundRatios() []float64 {
	goRate, peerRate := map[int]float64{}, map[int]float64{}
	maxRound := 0
	for _, x := range r.Runs {
		m := peerRate
		if x.Side == "go" {
			m = goRate
		}
		m[x.Round] = max(m[x.Round], x.TokensPerSec)
		maxRound = max(maxRound, x.Round)
	}
	var out []float64
	for round := 1; round <= maxRound; round++ {
		if g, p := goRate[round], peerRate[round]; g > 0 && p > 0 {
			out = append(out, g/p)
		}
	}
	return out
}

// MedianRatio compares the median over rounds of Go's tokens/s with that of the peer's best
// configuration by median (interpreter × torch threads × BLAS threads), a steadier statistic
// than best against best when single runs vary: it returns both medians (upper medians, as for
// steps) and the configuration's last run (for its names); ok is false without runs of both.
func (r *Report) MedianRatio() (goMedian, peerMedian float64, cfg Run, ok bool) {
	type key struct {
		torch            string
		threads, blasThr int
	}
	var goRates []float64
	peer := map[key][]float64{}
	last := map[key]Run{}
	for _, x := range r.Runs {
		if x.Side == "go" {
			goRates = append(goRates, x.TokensPerSec)
			continue
		}
		k := key{x.Torch, x.Threads, x.BLASThreads}
		peer[k] = append(peer[k], x.TokensPerSec)
		last[k] = x
	}
	if len(goRates) == 0 || len(peer) == 0 {
		return 0, 0, Run{}, false
	}
	keys := slices.Collect(maps.Keys(peer))
	slices.SortFunc(keys, func(a, b key) int { // a fixed order, so that ties resolve alike
		return cmp.Or(cmp.Compare(a.torch, b.torch), cmp.Compare(a.threads, b.threads), cmp.Compare(a.blasThr, b.blasThr))
	})
	for _, k := range keys {
		if m := median(peer[k]); m > peerMedian {
			peerMedian, cfg = m, last[k]
		}
	}
	return median(goRates), peerMedian, cfg, true
}

// minCPU is the least CPU seconds per step among a side's runs (0 if none was measured).
func (r *Report) minCPU(side string) float64 {
	best := 0.0
	for _, x := range r.Runs {
		if x.Side == side && x.CPUPerStep > 0 && (best == 0 || x.CPUPerStep < best) {
			best = x.CPUPerStep
		}
	}
	return best
}

func mib(kib int64) string {
	if kib <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f MiB", float64(kib)/1024)
}

func (r *Report) shapeLine() string {
	s := r.Shape
	return fmt.Sprintf("vocab %d, hidden %d, %d layers, %d heads, intermediate %d, batch %d × seq %d, "+
		"LoRA r=%d alpha=%g dropout %g on q/k/v/o/gate/up/down, AdamW lr %g wd %g; %d timed steps after %d warm-up, median step",
		s.Vocab, s.Hidden, s.Layers, s.Heads, s.Inter, s.Batch, s.Seq, s.R, s.Alpha, s.Dropout, s.LR, s.WeightDecay,
		r.Steps, r.Warmup)
}

// Table renders the runs and the summary as plain text.
func (r *Report) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-5s %-16s %5s %7s %4s %12s %10s %10s %10s\n", "side", "torch", "round", "threads", "BLAS", "tokens/s", "step", "CPU/step", "peak RSS")
	for _, x := range r.Runs {
		fmt.Fprintf(&b, "%-5s %-16s %5d %7d %4s %12.1f %9.3fs %9.3fs %10s\n", x.Side, dash(x.Torch), x.Round, x.Threads, blasCol(x),
			x.TokensPerSec, x.StepMedian.Seconds(), x.CPUPerStep, mib(x.PeakRSSKiB))
	}
	b.WriteString(r.peerLines(""))
	b.WriteString(r.summary("", ""))
	return b.String()
}

func (r *Report) summary(bullet, code string) string {
	var b strings.Builder
	g, okG := r.Best("go")
	if okG {
		fmt.Fprintf(&b, "%sGo best:   %s%.1f tokens/s%s (round %d), peak RSS %s\n", bullet, code, g.TokensPerSec, code, g.Round, mib(r.GoPeakRSSKiB))
	}
	if p, ok := r.Best("peer"); ok {
		fmt.Fprintf(&b, "%sPeer best: %s%.1f tokens/s%s (torch %s, %d torch threads × %s BLAS threads, round %d), peak RSS %s (%s)\n",
			bullet, code, p.TokensPerSec, code, p.Torch, p.Threads, blasCol(p), p.Round, mib(r.PeerPeakRSSKiB), r.PeerRSSSource)
		fmt.Fprintf(&b, "%sRatio Go/peer: %s%.2f×%s\n", bullet, code, r.Ratio(), code)
		if gm, pm, c, ok := r.MedianRatio(); ok {
			var rounds []string
			for _, x := range r.RoundRatios() {
				rounds = append(rounds, fmt.Sprintf("%.2f×", x))
			}
			fmt.Fprintf(&b, "%sMedians over rounds: Go %.1f, peer %.1f (torch %s, %d torch threads × %s BLAS threads): %.2f×; "+
				"per round, Go over the round's best peer run: %s\n",
				bullet, gm, pm, c.Torch, c.Threads, blasCol(c), gm/pm, strings.Join(rounds, ", "))
		}
		if gc, pc := r.minCPU("go"), r.minCPU("peer"); gc > 0 && pc > 0 {
			fmt.Fprintf(&b, "%sCPU seconds per step, least of each side: Go %.3f, peer %.3f (upper bound): peer/Go %.2f×\n",
				bullet, gc, pc, pc/gc)
		}
	} else {
		fmt.Fprintf(&b, "%sPeer: not run (%s); Go only, no ratio\n", bullet, r.PeerNote)
	}
	return b.String()
}

// peerLines names every peer interpreter: compared ones and those refused for their BLAS.
func (r *Report) peerLines(bullet string) string {
	var b strings.Builder
	for _, p := range r.Peers {
		fmt.Fprintf(&b, "%sPeer %s\n", bullet, p)
	}
	for _, p := range r.Refused {
		fmt.Fprintf(&b, "%sNot compared (reference BLAS; install libopenblas0-pthread: make bench-setup): %s\n", bullet, p)
	}
	return b.String()
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// blasCol is a run's BLAS thread count for the tables ("inh." when inherited, "—" for Go).
func blasCol(x Run) string {
	switch {
	case x.Side != "peer":
		return "—"
	case x.BLASThreads <= 0:
		return "inh."
	}
	return strconv.Itoa(x.BLASThreads)
}

// Markdown renders the comparison for the benchmark notes.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### LoRA training step: Go vs PyTorch peer (%s)\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "- Machine: %s, %d logical CPUs; load average (1/5/15 min) %s at start, %s at end\n",
		r.Machine.CPUModel, r.Machine.Cores, r.LoadStart, r.LoadEnd)
	fmt.Fprintf(&b, "- Go %s\n", r.Backend)
	fmt.Fprintf(&b, "- Shape: %s\n", r.shapeLine())
	if r.PeerBLASThreads != "" {
		fmt.Fprintf(&b, "- Peer BLAS threads: %s\n", r.PeerBLASThreads)
	}
	b.WriteString(r.peerLines("- "))
	b.WriteString("- Runs are interleaved (Go, peer, Go, peer …) so both sides see the same load.\n\n")
	b.WriteString("| side | torch | round | threads | BLAS threads | tokens/s | median step | CPU s/step | peak RSS |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, x := range r.Runs {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %s | %.1f | %.3f s | %.3f | %s |\n", x.Side, dash(x.Torch), x.Round, x.Threads, blasCol(x),
			x.TokensPerSec, x.StepMedian.Seconds(), x.CPUPerStep, mib(x.PeakRSSKiB))
	}
	b.WriteString("\nCPU s/step is user+system CPU time per step (the peer's includes Python start-up and model " +
		"building spread over its steps, an upper bound); on a loaded machine it is steadier than wall time.\n")
	b.WriteString("\n")
	b.WriteString(r.summary("- ", "**"))
	return b.String()
}

package lab

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/datasets"
	"github.com/loralab/loralab/pkg/lora"
	"github.com/loralab/loralab/pkg/train"
)

func TestBracket(t *testing.T) {
	inf := math.Inf(1)
	for _, tc := range []struct {
		name          string
		loss          func(k int) float64
		maxRuns       int
		best          int
		bracketed     bool
		lo, hi, calls int // the grid points evaluated
	}{
		{"optimum at the start", func(k int) float64 { return float64(k * k) }, 5, 0, true, -1, 1, 3},
		{"optimum two steps up", func(k int) float64 { return float64((k - 2) * (k - 2)) }, 5, 2, true, -1, 3, 5},
		{"run out of runs", func(k int) float64 { return float64((k - 2) * (k - 2)) }, 4, 2, false, -1, 2, 4},
		{"optimum below, high rates diverge", func(k int) float64 {
			if k >= 1 {
				return inf
			}
			return float64((k + 2) * (k + 2))
		}, 6, -2, true, -3, 1, 5},
		{"everything diverges: step down", func(int) float64 { return inf }, 4, -2, false, -2, 1, 4},
	} {
		seen := map[int]bool{}
		best, ok := bracket(func(k int) float64 { seen[k] = true; return tc.loss(k) }, tc.maxRuns)
		lo, hi := 0, 0
		for k := range seen {
			lo, hi = min(lo, k), max(hi, k)
		}
		if best != tc.best || ok != tc.bracketed || len(seen) != tc.calls || lo != tc.lo || hi != tc.hi {
			t.Errorf("%s: best %d bracketed %v, tried %d points in [%d, %d]; want %d %v, %d in [%d, %d]",
				tc.name, best, ok, len(seen), lo, hi, tc.best, tc.bracketed, tc.calls, tc.lo, tc.hi)
		}
	}
}

func TestParabolaVertex(t *testing.T) {
	p := func(x float64) float64 { return 3*(x-0.3)*(x-0.3) + 1 }
	for _, tc := range []struct {
		y0, y1, y2, want float64
	}{
		{p(-1), p(0), p(1), 0.3},
		{1, 1, 1, 0},           // flat: not convex
		{1, 2, 1, 0},           // concave
		{3, 2, 1.1, 1},         // vertex beyond the right point: clamped
		{math.Inf(1), 1, 2, 0}, // a diverged neighbour gives no parabola
	} {
		if got := parabolaVertex(tc.y0, tc.y1, tc.y2); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("parabolaVertex(%g, %g, %g) = %g, want %g", tc.y0, tc.y1, tc.y2, got, tc.want)
		}
	}
	if got := gridLR(2e-3, 2, 3); got != 0.016 {
		t.Errorf("gridLR(2e-3, 2, 3) = %v", got)
	}
	if got := gridLR(1e-3, math.Sqrt(10), 1); got != 0.00316 {
		t.Errorf("gridLR rounds to 3 digits: %v", got)
	}
}

func TestSlope(t *testing.T) {
	xs := []float64{math.Log(4), math.Log(8), math.Log(16), math.Log(32)}
	var ys []float64
	for _, x := range xs {
		ys = append(ys, 0.5*x+math.Log(1e-3))
	}
	if got := slope(xs, ys); math.Abs(got-0.5) > 1e-12 {
		t.Errorf("slope of lr ∝ √b: %g", got)
	}
	if got := slope([]float64{1, 1}, []float64{1, 2}); !math.IsNaN(got) {
		t.Errorf("slope with one distinct x: %g, want NaN", got)
	}
}

// A hand-made run: 4 steps of 10 supervised tokens and 1 s each, evaluated at steps 0, 2, 4.
func TestEvalPointsAndReach(t *testing.T) {
	r := &Run{Name: "hand", Status: train.StatusDone}
	for s := 1; s <= 4; s++ {
		r.History = append(r.History, train.Record{Step: s, SupervisedTokens: 10, ElapsedSeconds: float64(s)})
	}
	for _, e := range []struct {
		step int
		loss float64
	}{{0, 2}, {2, 1.5}, {4, 1}} {
		r.Evals = append(r.Evals, train.EvalResult{Step: e.step, Loss: e.loss})
	}
	pts := r.EvalPoints()
	if len(pts) != 3 || pts[0] != (EvalPoint{0, 0, 0, 2}) || pts[1] != (EvalPoint{2, 20, 2, 1.5}) || pts[2] != (EvalPoint{4, 40, 4, 1}) {
		t.Fatalf("points %+v", pts)
	}
	for _, tc := range []struct {
		target float64
		want   EvalPoint
		ok     bool
	}{
		{1.25, EvalPoint{4, 30, 3, 1.25}, true}, // halfway between the evaluations at steps 2 and 4
		{1.5, EvalPoint{2, 20, 2, 1.5}, true},
		{2.5, EvalPoint{0, 0, 0, 2}, true}, // the base model is already there
		{0.5, EvalPoint{}, false},
	} {
		if got, ok := r.Reach(tc.target); got != tc.want || ok != tc.ok {
			t.Errorf("Reach(%g) = %+v %v, want %+v %v", tc.target, got, ok, tc.want, tc.ok)
		}
	}
}

func TestMaxLossGap(t *testing.T) {
	run := func(losses ...float64) *Run {
		r := &Run{}
		for i, l := range losses {
			r.History = append(r.History, train.Record{Step: i + 1, Loss: l})
		}
		return r
	}
	ref := run(3, 2, 1)
	if g := run(3, 2.5, 0.9).MaxLossGap(ref); math.Abs(g-0.5) > 1e-12 {
		t.Errorf("gap %g, want 0.5", g)
	}
	if g := run(3, 2).MaxLossGap(ref); g != 0 {
		t.Errorf("shorter run: gap %g, want 0 over the common steps", g)
	}
}

func TestLoRANorms(t *testing.T) {
	r := &Run{Name: "norms", adapter: &lora.Adapter{Tensors: map[string]*tensors.Tensor{
		"m.layers.0.q_proj.lora_A.weight": tensors.FromValue([][]float32{{3, 4}}),
		"m.layers.1.q_proj.lora_A.weight": tensors.FromValue([][]float32{{0, 12}}),
		"m.layers.0.q_proj.lora_B.weight": tensors.FromValue([][]float32{{1}, {2}}),
	}}}
	a, b := r.LoRANorms()
	if a != 13 || math.Abs(b-math.Sqrt(5)) > 1e-12 {
		t.Errorf("norms %g %g, want 13 and √5", a, b)
	}
}

// Every batch size trains on the same examples at its own tuned rate; the study reads its runs
// back in a second call.
func TestBatchSizes(t *testing.T) {
	LiveCharts = false
	exp := Experiment{Dataset: datasets.SFTRecall, Train: DataOptions{MaxLength: 64, Limit: 16}, Eval: DataOptions{MaxLength: 64, Limit: 8},
		LoRA: LoRA(Set{"r": 4, "lora_alpha": 8}), Args: Args(Set{"learning_rate": 1e-2, "lr_scheduler_type": "constant", "disable_tqdm": true})}
	st := exp.BatchSizes([]int{2, 4}, 8, 2)
	if len(st.Tunings) != 2 || len(st.Reach) != 2 {
		t.Fatalf("study %+v", st)
	}
	var tokens int64 = -1
	for i, tu := range st.Tunings {
		if len(tu.Tried) < 3 || len(tu.Tried) > 5 {
			t.Errorf("batch %d: %d runs", st.Sizes[i], len(tu.Tried))
		}
		for j, r := range tu.Tried {
			if r.Args.PerDeviceTrainBatchSize != st.Sizes[i] || r.Summary.Steps != 8/st.Sizes[i] {
				t.Errorf("%s: batch %d, %d steps", r.Name, r.Args.PerDeviceTrainBatchSize, r.Summary.Steps)
			}
			if tokens < 0 {
				tokens = r.SupervisedTokens()
			} else if r.SupervisedTokens() != tokens {
				t.Errorf("%s trained on %d supervised tokens, another run on %d: not the same examples", r.Name, r.SupervisedTokens(), tokens)
			}
			if finalLoss(r) < finalLoss(tu.Best) {
				t.Errorf("batch %d: %s (%g) beats the best %s (%g)", st.Sizes[i], r.Name, finalLoss(r), tu.Best.Name, finalLoss(tu.Best))
			}
			if j > 0 && math.Abs(r.Args.LearningRate/tu.Tried[j-1].Args.LearningRate-2) > 1e-2 {
				t.Errorf("batch %d: rates %v then %v, want a factor 2", st.Sizes[i], tu.Tried[j-1].Args.LearningRate, r.Args.LearningRate)
			}
		}
		if tu.Bracketed && (tu.Fitted < tu.LR/2 || tu.Fitted > tu.LR*2) {
			t.Errorf("batch %d: fitted rate %g outside the bracket of %g", st.Sizes[i], tu.Fitted, tu.LR)
		}
		if st.Target < finalLoss(tu.Best) || st.Reach[i].Tokens > float64(tokens) || st.Reach[i].Tokens <= 0 {
			t.Errorf("batch %d: target %g, best final %g, reached at %+v of %d tokens", st.Sizes[i], st.Target, finalLoss(tu.Best), st.Reach[i], tokens)
		}
	}
	if st.FewestTokens != 2 && st.FewestTokens != 4 || math.IsNaN(st.LRExponent) {
		t.Errorf("fewest tokens %d, exponent %g", st.FewestTokens, st.LRExponent)
	}
	again := exp.BatchSizes([]int{2, 4}, 8, 2)
	if again.Target != st.Target || again.Tunings[1].Best.fresh {
		t.Errorf("second study: target %g (first %g), trained again: %v", again.Target, st.Target, again.Tunings[1].Best.fresh)
	}
	if tab := st.Table(); strings.Count(tab, "\n") != 4 || !strings.Contains(tab, "tokens to") {
		t.Errorf("table:\n%s", tab)
	}
	if msg := failed(t, func() { exp.BatchSizes([]int{3}, 8, 2) }); !strings.Contains(msg, "batch size 3: 8 examples must be a multiple") {
		t.Errorf("bad batch size: %q", msg)
	}
}

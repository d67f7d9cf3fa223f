package lab

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/plot"
	"github.com/loralab/loralab/pkg/train"
)

// This file holds the optimisation studies of notebook 03: the norm of the trained LoRA
// weights (weight decay), evaluations placed on the cost that led to them, learning-rate tuning
// by bracketing, and the batch-size study built from both.

// LoRANorms are the Frobenius norms of all lora_A weights and of all lora_B weights of the
// run's trained adapter (each taken as one vector), what weight decay pulls toward zero.
func (r *Run) LoRANorms() (normA, normB float64) {
	for name, t := range r.Adapter().Tensors {
		vals, err := tensors.CopyFlatData[float32](t)
		check(err, "run %s: reading %s", r.Name, name)
		ss := 0.0
		for _, v := range vals {
			ss += float64(v) * float64(v)
		}
		switch {
		case strings.Contains(name, "lora_A") || strings.Contains(name, "lora_embedding_A"):
			normA += ss
		case strings.Contains(name, "lora_B") || strings.Contains(name, "lora_embedding_B"):
			normB += ss
		}
	}
	return math.Sqrt(normA), math.Sqrt(normB)
}

// EvalPoint is one evaluation of a run placed on what the training had cost when it ran.
type EvalPoint struct {
	Step int
	// Tokens are the supervised tokens trained on before this evaluation (the tokens the loss
	// counts: with equal examples, equal for every batch size).
	Tokens float64
	// Seconds are the training seconds before it (the steps' time; evaluation excluded).
	Seconds float64
	Loss    float64 // eval loss
}

// EvalPoints are the run's evaluations with the supervised tokens and training seconds spent
// before each; the evaluation at step 0 (the base model) costs nothing.
func (r *Run) EvalPoints() []EvalPoint {
	var out []EvalPoint
	for _, e := range r.Evals {
		p := EvalPoint{Step: e.Step, Loss: e.Loss}
		for _, h := range r.History {
			if h.Step <= e.Step {
				p.Tokens += float64(h.SupervisedTokens)
				p.Seconds = h.ElapsedSeconds
			}
		}
		out = append(out, p)
	}
	return out
}

// Reach is the cost at which the run's eval loss first came down to target: tokens and seconds
// interpolated linearly between the evaluation before and the first one at or below target.
// ok is false when no evaluation reached it.
func (r *Run) Reach(target float64) (p EvalPoint, ok bool) {
	pts := r.EvalPoints()
	for i, q := range pts {
		if q.Loss > target || math.IsNaN(q.Loss) {
			continue
		}
		if i == 0 {
			return q, true
		}
		a := pts[i-1]
		f := (a.Loss - target) / (a.Loss - q.Loss) // in (0, 1]
		return EvalPoint{Step: q.Step, Loss: target, Tokens: a.Tokens + f*(q.Tokens-a.Tokens),
			Seconds: a.Seconds + f*(q.Seconds-a.Seconds)}, true
	}
	return EvalPoint{}, false
}

// EvalCostChart draws the runs' eval loss against the supervised tokens trained on (seconds
// false) or against the training seconds (seconds true).
func (rs Runs) EvalCostChart(title string, seconds bool) plot.Chart {
	xName := "supervised tokens trained on"
	if seconds {
		xName = "training seconds"
	}
	var series []plot.Series
	for _, r := range rs {
		s := plot.Series{Name: r.Name}
		for _, p := range r.EvalPoints() {
			x := p.Tokens
			if seconds {
				x = p.Seconds
			}
			s.X, s.Y = append(s.X, x), append(s.Y, p.Loss)
		}
		series = append(series, s)
	}
	return plot.Lines(plot.LineOptions{Title: title, XName: xName, YName: "eval loss"}, series...)
}

// LRTuning is what TuneLR found for one configuration.
type LRTuning struct {
	Name string
	// Tried are the runs, one per learning rate, from the lowest rate to the highest.
	Tried Runs
	// Best is the tried run with the lowest final eval loss (a diverged run counts as +Inf);
	// LR is its learning rate.
	Best *Run
	LR   float64
	// Bracketed says both neighbours of LR on the grid were tried and did worse. Then Fitted is
	// the vertex of the parabola through the three final eval losses against log(lr), which
	// lies between the neighbours; otherwise Fitted is LR.
	Bracketed bool
	Fitted    float64
}

// TuneLR trains the run s (options by HF name over the experiment's) at learning rates on the
// grid lr0·factor^k (rounded to 3 significant digits), starting at lr0 and its two neighbours,
// and keeps stepping toward the better side until the best rate has a worse rate on both sides
// or maxRuns runs were trained. Runs are named "name lr=…" and kept like every run, so the same
// call in a later cell reads them back.
func (e Experiment) TuneLR(name string, s Set, lr0, factor float64, maxRuns int) LRTuning {
	if !(lr0 > 0) || !(factor > 1) || maxRuns < 3 {
		Fail(fmt.Errorf("TuneLR %s: need lr0 > 0 (got %g), factor > 1 (got %g) and maxRuns >= 3 (got %d)", name, lr0, factor, maxRuns))
	}
	runs := map[int]*Run{}
	loss := func(k int) float64 {
		if runs[k] == nil {
			lr := gridLR(lr0, factor, k)
			o := maps.Clone(s)
			if o == nil {
				o = Set{}
			}
			o["learning_rate"] = lr
			runs[k] = e.Run(fmt.Sprintf("%s lr=%.3g", name, lr), o)
		}
		return finalLoss(runs[k])
	}
	best, bracketed := bracket(loss, maxRuns)
	t := LRTuning{Name: name, Best: runs[best], LR: gridLR(lr0, factor, best), Bracketed: bracketed}
	t.Fitted = t.LR
	if bracketed {
		x := parabolaVertex(loss(best-1), loss(best), loss(best+1)) // in grid steps from best
		t.Fitted = gridLRExact(lr0, factor, float64(best)+x)
	}
	for _, k := range slices.Sorted(maps.Keys(runs)) {
		t.Tried = append(t.Tried, runs[k])
	}
	return t
}

// bracket searches the integer grid for the k of lowest loss(k): it evaluates -1, 0, 1, then
// extends the side of the best until the best has a higher neighbour on both sides, or maxRuns
// points were evaluated. It returns the best k and whether it is bracketed.
func bracket(loss func(k int) float64, maxRuns int) (best int, bracketed bool) {
	lo, hi := -1, 1
	for k := lo; k <= hi; k++ {
		loss(k)
	}
	for {
		best = lo
		for k := lo; k <= hi; k++ {
			if loss(k) < loss(best) {
				best = k
			}
		}
		if best > lo && best < hi {
			return best, true
		}
		if hi-lo+1 >= maxRuns {
			return best, false
		}
		if best == lo {
			lo--
			loss(lo)
		} else {
			hi++
			loss(hi)
		}
	}
}

// parabolaVertex is the abscissa, relative to the middle point, of the vertex of the parabola
// through (−1, y0), (0, y1), (1, y2), clamped to [−1, 1]; 0 when the points are not convex.
func parabolaVertex(y0, y1, y2 float64) float64 {
	d := y0 - 2*y1 + y2
	if !(d > 0) || math.IsInf(y0, 0) || math.IsInf(y2, 0) {
		return 0
	}
	return max(-1, min(1, (y0-y2)/(2*d)))
}

func gridLR(lr0, factor float64, k int) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(gridLRExact(lr0, factor, float64(k)), 'g', 3, 64), 64)
	return v
}

func gridLRExact(lr0, factor, k float64) float64 { return lr0 * math.Pow(factor, k) }

// finalLoss is a run's final eval loss; +Inf when it diverged or has none.
func finalLoss(r *Run) float64 {
	if r.Status != train.StatusDone || len(r.Evals) == 0 || math.IsNaN(r.FinalEval().Loss) {
		return math.Inf(1)
	}
	return r.FinalEval().Loss
}

// BatchStudy is what BatchSizes measured: every batch size trained on the same examples at its
// own tuned learning rate.
type BatchStudy struct {
	Sizes    []int
	Examples int
	Tunings  []LRTuning // one per size
	// Target is the eval loss every size reached: the highest of their best final eval losses.
	Target float64
	// Reach is each size's cost to Target (its best run).
	Reach []EvalPoint
	// FewestTokens and LeastTime are the batch sizes that reached Target with the fewest
	// supervised tokens and in the least training time.
	FewestTokens, LeastTime int
	// LRExponent is the slope of log(fitted best lr) against log(batch size), least squares:
	// best lr ∝ batch^LRExponent. The linear scaling rule (Goyal et al. 2017, for SGD) says 1;
	// the square-root rule for Adam (Malladi et al. 2022) says 0.5.
	LRExponent float64
}

// BatchSizes trains each effective batch size (per_device_train_batch_size, no accumulation) on
// the same first examples of the shuffled training set (examples/size steps, so each sees the
// same data), evaluating evals times, at its own learning rate tuned by TuneLR (factor 2, at
// most 5 runs a size; the first size starts from the experiment's learning_rate, each next
// size from the previous size's best). It needs examples to be a multiple of every size with
// at least evals steps.
func (e Experiment) BatchSizes(sizes []int, examples, evals int) BatchStudy {
	st := BatchStudy{Sizes: sizes, Examples: examples}
	lr := e.Args.LearningRate
	for _, b := range sizes {
		if b < 1 || examples%b != 0 || examples/b < max(evals, 1) {
			Fail(fmt.Errorf("batch size %d: %d examples must be a multiple of it and give at least %d steps", b, examples, max(evals, 1)))
		}
		steps := examples / b
		t := e.TuneLR(fmt.Sprintf("batch %d", b), Set{"per_device_train_batch_size": b, "gradient_accumulation_steps": 1,
			"max_steps": steps, "eval_steps": max(1, steps/max(evals, 1))}, lr, 2, 5)
		st.Tunings = append(st.Tunings, t)
		lr = t.LR
		st.Target = max(st.Target, finalLoss(t.Best))
	}
	var xs, ys []float64
	for i, t := range st.Tunings {
		p, _ := t.Best.Reach(st.Target)
		st.Reach = append(st.Reach, p)
		if i == 0 || p.Tokens < st.Reach[slices.Index(sizes, st.FewestTokens)].Tokens {
			st.FewestTokens = sizes[i]
		}
		if i == 0 || p.Seconds < st.Reach[slices.Index(sizes, st.LeastTime)].Seconds {
			st.LeastTime = sizes[i]
		}
		xs, ys = append(xs, math.Log(float64(sizes[i]))), append(ys, math.Log(t.Fitted))
	}
	st.LRExponent = slope(xs, ys)
	return st
}

// slope is the least-squares slope of y against x (NaN with fewer than two distinct x).
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx, sy, sxx, sxy = sx+xs[i], sy+ys[i], sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
	}
	d := n*sxx - sx*sx
	if len(xs) < 2 || d <= 1e-12 {
		return math.NaN()
	}
	return (n*sxy - sx*sy) / d
}

// Best are the best run of each batch size, in order.
func (st BatchStudy) Best() Runs {
	var rs Runs
	for _, t := range st.Tunings {
		rs = append(rs, t.Best)
	}
	return rs
}

// Table is the study as a Markdown table (show it with plot.Markdown): per batch size the
// steps, the final eval loss at each learning rate tried, the best and fitted rates, the cost
// to Target, the throughput in B×T positions per second and the padding share of the batches.
func (st BatchStudy) Table() string {
	var rows [][]string
	for i, t := range st.Tunings {
		var tried []string
		for _, r := range t.Tried {
			tried = append(tried, fmt.Sprintf("%.3g: %.4f", r.Args.LearningRate, finalLoss(r)))
		}
		fit := fmt.Sprintf("%.3g", t.Fitted)
		if !t.Bracketed {
			fit += " (edge of the grid)"
		}
		b := t.Best
		pad := 1 - float64(b.RealTokens)/float64(max(b.Summary.Tokens, 1))
		rows = append(rows, []string{strconv.Itoa(st.Sizes[i]), strconv.Itoa(b.Summary.Steps), strings.Join(tried, "<br>"),
			fmt.Sprintf("%.3g", t.LR), fit, fmt.Sprintf("%.4f", finalLoss(b)), Commas(int64(math.Round(st.Reach[i].Tokens))),
			fmt.Sprintf("%.1f", st.Reach[i].Seconds), fmt.Sprintf("%.0f", b.Summary.TokensPerSecond), fmt.Sprintf("%.0f%%", 100*pad)})
	}
	return Table([]string{"batch", "steps", "lr: final eval loss", "best lr", "fitted lr", "final eval",
		fmt.Sprintf("tokens to %.4f", st.Target), "seconds to it", "B×T/s", "padding"}, rows)
}

// MaxLossGap is the largest |training loss − ref's training loss| at the same step, over the
// steps both runs took: how far two runs that should be equal (e.g. a batch of 8 against 4×2
// with accumulation) drift apart.
func (r *Run) MaxLossGap(ref *Run) float64 {
	gap := 0.0
	for i := range min(len(r.History), len(ref.History)) {
		gap = max(gap, math.Abs(r.History[i].Loss-ref.History[i].Loss))
	}
	return gap
}

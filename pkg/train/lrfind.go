package train

import (
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/gomlx/core/tensors"
)

// LRFindOptions configure the learning-rate range test.
type LRFindOptions struct {
	MinLR, MaxLR float64 // range of the exponential ramp; defaults 1e-7 and 10
	Steps        int     // optimizer steps (points); default 100
	// Beta smooths the loss with a bias-corrected exponential moving average; default 0.98.
	Beta float64
	// DivergeFactor stops the test when the smoothed loss exceeds this factor times its
	// minimum; default 4. A NaN/Inf loss also stops it.
	DivergeFactor float64
}

// LRFindResult is the outcome of LRFind: the learning rates tried and the losses they gave.
type LRFindResult struct {
	LRs, Losses, Smoothed []float64
	// Steepest is the rate where the smoothed loss falls fastest against log(lr).
	Steepest float64
	// MinLoss is the rate of the lowest smoothed loss; MinLoss/10 is the classic suggestion.
	MinLoss float64
	// Suggested is Steepest when it was found, else MinLoss/10.
	Suggested float64
	// Diverged tells whether the test stopped early (loss blow-up or NaN), at len(LRs) points.
	Diverged bool
}

// LRFind runs the learning-rate range test (Smith 2015, "Cyclical Learning Rates"; popularised
// by fastai's lr_find): from the current parameters it takes Steps optimizer steps on the
// training data with the rate growing exponentially from MinLR to MaxLR, records the loss of
// each, and stops when the loss diverges. The trainer's parameters, optimizer state, RNG state
// and step are restored afterwards, so training can start from the same point.
func (t *Trainer) LRFind(o LRFindOptions) (*LRFindResult, error) {
	if o.MinLR <= 0 {
		o.MinLR = 1e-7
	}
	if o.MaxLR <= 0 {
		o.MaxLR = 10
	}
	if o.Steps <= 1 {
		o.Steps = 100
	}
	if o.Beta <= 0 || o.Beta >= 1 {
		o.Beta = 0.98
	}
	if o.DivergeFactor <= 1 {
		o.DivergeFactor = 4
	}
	if !(o.MaxLR > o.MinLR) {
		return nil, fmt.Errorf("train.LRFind: max_lr %g must exceed min_lr %g", o.MaxLR, o.MinLR)
	}
	// Save the state: parameters (copied, since steps donate their buffers), moments, RNG, step.
	saved := make([]*tensors.Tensor, len(t.params))
	for i, p := range t.params {
		c, err := p.LocalClone()
		if err != nil {
			return nil, fmt.Errorf("train.LRFind: saving parameters: %w", err)
		}
		saved[i] = c
	}
	savedM, savedV := cloneAll(t.m), cloneAll(t.v)
	if savedM == nil || savedV == nil {
		return nil, fmt.Errorf("train.LRFind: saving optimizer moments failed")
	}
	savedRNG, err := t.rng.LocalClone()
	if err != nil {
		return nil, fmt.Errorf("train.LRFind: saving the RNG state: %w", err)
	}
	savedStep := t.step
	defer func() {
		t.params, t.m, t.v, t.rng, t.step = saved, savedM, savedV, savedRNG, savedStep
	}()
	// Fresh optimizer state for the test.
	for i := range t.m {
		t.m[i] = tensors.FromShape(t.m[i].Shape())
		t.v[i] = tensors.FromShape(t.v[i].Shape())
	}

	res := &LRFindResult{}
	var avg, best float64
	best = math.Inf(1)
	for s := 0; s < o.Steps; s++ {
		lr := o.MinLR * math.Pow(o.MaxLR/o.MinLR, float64(s)/float64(o.Steps-1))
		epoch, idx := t.window(savedStep + s)
		batches, err := t.windowBatches(epoch, idx)
		if err != nil {
			return nil, fmt.Errorf("train.LRFind: %w", err)
		}
		out, _, err := t.runWindow(batches, true, s+1, lr, func(j int) string {
			return fmt.Sprintf("LR range test step %d (lr %.3g)", s+1, lr)
		})
		if errors.Is(err, ErrNonFinite) {
			res.Diverged = true
			break
		}
		if err != nil {
			return nil, err
		}
		avg = o.Beta*avg + (1-o.Beta)*out.loss
		smooth := avg / (1 - math.Pow(o.Beta, float64(s+1)))
		res.LRs = append(res.LRs, lr)
		res.Losses = append(res.Losses, out.loss)
		res.Smoothed = append(res.Smoothed, smooth)
		if smooth < best {
			best = smooth
			res.MinLoss = lr
		}
		if s > 0 && smooth > o.DivergeFactor*best {
			res.Diverged = true
			break
		}
	}
	if len(res.LRs) == 0 {
		return res, fmt.Errorf("train.LRFind: the loss diverged at the first step (lr %g)", o.MinLR)
	}
	res.Steepest = steepest(res.LRs, res.Smoothed)
	res.Suggested = res.Steepest
	if res.Suggested == 0 {
		res.Suggested = res.MinLoss / 10
	}
	return res, nil
}

// steepest returns the rate at the most negative slope of loss against log(lr), ignoring the
// first and last tenth of the points (noisy start, blow-up end); 0 with too few points.
func steepest(lrs, loss []float64) float64 {
	n := len(lrs)
	if n < 5 {
		return 0
	}
	lo, hi := n/10, n-n/10
	bestSlope, at := math.Inf(1), 0.0
	for i := max(lo, 1); i < hi; i++ {
		slope := (loss[i] - loss[i-1]) / (math.Log(lrs[i]) - math.Log(lrs[i-1]))
		if slope < bestSlope {
			bestSlope, at = slope, lrs[i]
		}
	}
	if bestSlope >= 0 {
		return 0
	}
	return at
}

func cloneAll(ts []*tensors.Tensor) []*tensors.Tensor {
	out := make([]*tensors.Tensor, len(ts))
	for i, x := range ts {
		c, err := x.LocalClone()
		if err != nil {
			return nil
		}
		out[i] = c
	}
	return out
}

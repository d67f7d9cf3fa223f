package adamw

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph-building style
	"github.com/gomlx/gomlx/support/exceptions"
)

// UpdateGraph builds one AdamW update (torch.optim.AdamW semantics, see the package comment)
// inside a GoMLX graph, so that a training step can run forward, backward, clipping and the
// update in one Exec.
//
//   - params, grads, m, v: one node per parameter, in the same order and of the same shape and
//     float dtype (m and v start as zeros).
//   - step: scalar, the number t of this update counting from 1 (so 1 on the first call);
//     any numeric dtype.
//   - lr: scalar, the learning rate of this step (the base rate times the schedule's
//     multiplier); any float dtype. Parameter i learns at lr × hypers[i].LRScale.
//   - cfg: AdamBeta1, AdamBeta2, AdamEpsilon and CoupledWeightDecay are used; grouping comes from hypers
//     (see Config.AssignAll), which must have one entry per parameter.
//
// It returns the updated parameters and moments, in the input order. The scalar coefficients
// (bias corrections, lr/(1−β1^t), 1−lr·wd) are computed in float64 and then converted to each
// parameter's dtype, as torch computes them in Python floats. Like every GoMLX graph-building
// function it panics on misuse (mismatched lengths, shapes or dtypes); Exec returns that panic
// as an error.
func UpdateGraph(params, grads, m, v []*Node, step, lr *Node, cfg Config, hypers []Hyper) (newParams, newM, newV []*Node) {
	n := len(params)
	if len(grads) != n || len(m) != n || len(v) != n || len(hypers) != n {
		exceptions.Panicf("adamw.UpdateGraph: got %d params, %d grads, %d m, %d v and %d hypers: they must be equal",
			n, len(grads), len(m), len(v), len(hypers))
	}
	if step == nil || lr == nil {
		exceptions.Panicf("adamw.UpdateGraph: step and lr must be given")
	}
	if !step.IsScalar() || !lr.IsScalar() {
		exceptions.Panicf("adamw.UpdateGraph: step (shape %s) and lr (shape %s) must be scalars", step.Shape(), lr.Shape())
	}
	if n == 0 {
		return nil, nil, nil
	}
	g := step.Graph()
	b1, b2, eps := cfg.AdamBeta1, cfg.AdamBeta2, cfg.AdamEpsilon

	// Scalars in float64, as torch's _single_tensor_adamw does in Python.
	t := ConvertDType(step, dtypes.Float64)
	lr64 := ConvertDType(lr, dtypes.Float64)
	biasCorrection1 := OneMinus(Pow(Scalar(g, dtypes.Float64, b1), t))
	biasCorrection2Sqrt := Sqrt(OneMinus(Pow(Scalar(g, dtypes.Float64, b2), t)))
	stepSizeBase := Div(lr64, biasCorrection1) // lr/(1−β1^t), before the group's LRScale

	newParams = make([]*Node, n)
	newM = make([]*Node, n)
	newV = make([]*Node, n)
	for i := range params {
		p, gr, mi, vi := params[i], grads[i], m[i], v[i]
		if p == nil || gr == nil || mi == nil || vi == nil {
			exceptions.Panicf("adamw.UpdateGraph: parameter %d has a nil param, grad or moment", i)
		}
		dt := p.DType()
		if !dt.IsFloat() {
			exceptions.Panicf("adamw.UpdateGraph: parameter %d has dtype %s, want a float dtype", i, dt)
		}
		for _, other := range []struct {
			what string
			node *Node
		}{{"grad", gr}, {"m", mi}, {"v", vi}} {
			if !other.node.Shape().Equal(p.Shape()) {
				exceptions.Panicf("adamw.UpdateGraph: parameter %d: %s has shape %s, param has %s",
					i, other.what, other.node.Shape(), p.Shape())
			}
		}
		h := hypers[i]

		switch {
		case h.WeightDecay != 0 && cfg.CoupledWeightDecay:
			// L2 (torch.optim.Adam): g ← g + wd·p, after clipping, before the moments.
			gr = Add(gr, MulScalar(p, h.WeightDecay))
		case h.WeightDecay != 0:
			// Decoupled weight decay first: p ← p·(1 − lr·wd).
			decay := OneMinus(MulScalar(lr64, h.LRScale*h.WeightDecay))
			p = Mul(p, ConvertDType(decay, dt))
		}
		// Moments.
		mi = Add(MulScalar(mi, b1), MulScalar(gr, 1-b1))
		vi = Add(MulScalar(vi, b2), MulScalar(Mul(gr, gr), 1-b2))
		// p ← p − (lr/bc1) · m / (sqrt(v)/sqrt(bc2) + ε).
		denom := AddScalar(Div(Sqrt(vi), ConvertDType(biasCorrection2Sqrt, dt)), eps)
		stepSize := ConvertDType(MulScalar(stepSizeBase, h.LRScale), dt)
		p = Sub(p, Mul(stepSize, Div(mi, denom)))

		newParams[i], newM[i], newV[i] = p, mi, vi
	}
	return newParams, newM, newV
}

// GlobalNorm returns the L2 norm of all gradients taken as one vector, as a float64 scalar:
// sqrt(Σ_i Σ g_i²). Each tensor's sum of squares is taken in its own dtype, then the sums are
// added in float64.
func GlobalNorm(grads []*Node) *Node {
	if len(grads) == 0 {
		exceptions.Panicf("adamw.GlobalNorm: no gradients")
	}
	var total *Node
	for i, gr := range grads {
		if gr == nil {
			exceptions.Panicf("adamw.GlobalNorm: gradient %d is nil", i)
		}
		ss := ConvertDType(ReduceAllSum(Mul(gr, gr)), dtypes.Float64)
		if total == nil {
			total = ss
		} else {
			total = Add(total, ss)
		}
	}
	return Sqrt(total)
}

// ClipGradNorm clips gradients on their global L2 norm with torch.nn.utils.clip_grad_norm_
// semantics (what HF's Trainer does with max_grad_norm): total = GlobalNorm(grads),
// coef = maxNorm/(total + 1e-6), and every gradient is multiplied by min(1, coef).
//
// It returns the clipped gradients and the norm before clipping (float64 scalar; HF logs it as
// grad_norm). With maxNorm <= 0 the gradients are returned unchanged, with their norm. As in
// torch (error_if_nonfinite=False), a non-finite norm is not an error: an Inf norm zeroes the
// finite gradients (and Inf·0 gives NaN), a NaN norm makes every gradient NaN; the trainer's
// NaN check then stops the run.
func ClipGradNorm(grads []*Node, maxNorm float64) (clipped []*Node, totalNorm *Node) {
	totalNorm = GlobalNorm(grads)
	if maxNorm <= 0 {
		return grads, totalNorm
	}
	coef := Div(Scalar(totalNorm.Graph(), dtypes.Float64, maxNorm), AddScalar(totalNorm, 1e-6))
	// min(1, coef) that keeps a NaN coef NaN, as torch.clamp does (Min may not propagate NaN).
	coef = Where(GreaterThan(coef, ScalarOne(coef.Graph(), dtypes.Float64)), ScalarOne(coef.Graph(), dtypes.Float64), coef)
	clipped = make([]*Node, len(grads))
	for i, gr := range grads {
		clipped[i] = Mul(gr, ConvertDType(coef, gr.DType()))
	}
	return clipped, totalNorm
}

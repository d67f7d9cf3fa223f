package adamw

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph-building style
	"github.com/gomlx/gomlx/core/tensors"
)

// Optimizer is AdamW with its state — first and second moments per parameter and the step
// count — keyed by HF/PEFT parameter name. Each Step clips the gradients (Config.MaxGradNorm)
// and updates every parameter in one compiled graph.
//
// The set of parameters is fixed by the first Step (or by SetState): later steps must pass the
// same names with the same shapes. An Optimizer is not safe for concurrent use.
type Optimizer struct {
	backend compute.Backend
	cfg     Config

	names  []string // sorted
	hypers []Hyper  // per name
	m, v   map[string]*tensors.Tensor
	step   int
	exec   *Exec
}

// StepInfo reports one Optimizer.Step.
type StepInfo struct {
	Step     int     // the step just taken, counting from 1
	LR       float64 // the learning rate given to Step
	GradNorm float64 // global gradient norm before clipping
	Clipped  bool    // whether clipping scaled the gradients (GradNorm > MaxGradNorm > 0)
}

// New returns an Optimizer with the given configuration (start from DefaultConfig) that runs
// on backend b.
func New(b compute.Backend, cfg Config) (*Optimizer, error) {
	if b == nil {
		return nil, fmt.Errorf("adamw.New: nil backend")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Optimizer{backend: b, cfg: cfg}, nil
}

// Config returns the optimizer's configuration.
func (o *Optimizer) Config() Config { return o.cfg }

// StepCount returns the number of steps taken (the t of the last update).
func (o *Optimizer) StepCount() int { return o.step }

// Names returns the names of the parameters the optimizer holds, sorted; nil before the first
// Step or SetState.
func (o *Optimizer) Names() []string { return slices.Clone(o.names) }

// Hypers returns each parameter's group settings by name; nil before the first Step or SetState.
func (o *Optimizer) Hypers() map[string]Hyper {
	if o.names == nil {
		return nil
	}
	out := make(map[string]Hyper, len(o.names))
	for i, n := range o.names {
		out[n] = o.hypers[i]
	}
	return out
}

// Step applies one AdamW update with learning rate lr (the scheduled rate, e.g.
// Schedule.LR(step)) to params, given their gradients. params and grads must have the same
// names. Updated parameters replace the entries of params (the tensors given are left
// untouched, so the caller may keep or drop them). If the step fails, params, the moments and
// the step count are unchanged.
func (o *Optimizer) Step(params, grads map[string]*tensors.Tensor, lr float64) (StepInfo, error) {
	if math.IsNaN(lr) || math.IsInf(lr, 0) || lr < 0 {
		return StepInfo{}, fmt.Errorf("adamw: step %d: learning rate %v must be a finite number >= 0", o.step+1, lr)
	}
	if err := sameNames(params, grads); err != nil {
		return StepInfo{}, fmt.Errorf("adamw: step %d: %w", o.step+1, err)
	}
	if o.names == nil {
		if err := o.initState(params); err != nil {
			return StepInfo{}, err
		}
	}
	n := len(o.names)
	if len(params) != n {
		return StepInfo{}, fmt.Errorf("adamw: step %d: got %d parameters, the optimizer holds %d: %s",
			o.step+1, len(params), n, diffNames(o.names, params))
	}
	args := make([]any, 0, 4*n+2)
	for _, name := range o.names {
		p, ok := params[name]
		if !ok {
			return StepInfo{}, fmt.Errorf("adamw: step %d: %s", o.step+1, diffNames(o.names, params))
		}
		if p == nil || grads[name] == nil {
			return StepInfo{}, fmt.Errorf("adamw: step %d: parameter %q: nil tensor", o.step+1, name)
		}
		if !p.Shape().Equal(o.m[name].Shape()) {
			return StepInfo{}, fmt.Errorf("adamw: step %d: parameter %q has shape %s, its moments have %s",
				o.step+1, name, p.Shape(), o.m[name].Shape())
		}
		if !grads[name].Shape().Equal(p.Shape()) {
			return StepInfo{}, fmt.Errorf("adamw: step %d: gradient of %q has shape %s, the parameter has %s",
				o.step+1, name, grads[name].Shape(), p.Shape())
		}
		args = append(args, p)
	}
	for _, name := range o.names {
		args = append(args, grads[name])
	}
	for _, name := range o.names {
		args = append(args, o.m[name])
	}
	for _, name := range o.names {
		args = append(args, o.v[name])
	}
	args = append(args, float64(o.step+1), lr)

	if o.exec == nil {
		exec, err := NewExec(o.backend, o.graph)
		if err != nil {
			return StepInfo{}, fmt.Errorf("adamw: creating the update graph: %w", err)
		}
		o.exec = exec.WithName("adamw_step")
	}
	outs, err := o.exec.Exec(args...)
	if err != nil {
		return StepInfo{}, fmt.Errorf("adamw: step %d: %w", o.step+1, err)
	}
	if len(outs) != 3*n+1 {
		return StepInfo{}, fmt.Errorf("adamw: step %d: update graph returned %d outputs, want %d", o.step+1, len(outs), 3*n+1)
	}
	norm, ok := outs[3*n].Value().(float64)
	if !ok {
		return StepInfo{}, fmt.Errorf("adamw: step %d: gradient norm has shape %s, want a float64 scalar", o.step+1, outs[3*n].Shape())
	}
	for i, name := range o.names {
		params[name] = outs[i]
		o.m[name] = outs[n+i]
		o.v[name] = outs[2*n+i]
	}
	o.step++
	return StepInfo{Step: o.step, LR: lr, GradNorm: norm,
		Clipped: o.cfg.MaxGradNorm > 0 && norm > o.cfg.MaxGradNorm}, nil
}

// graph is the Exec function: inputs are params, grads, m, v (n each), step and lr.
func (o *Optimizer) graph(inputs []*Node) []*Node {
	n := len(o.names)
	params, grads, m, v := inputs[:n], inputs[n:2*n], inputs[2*n:3*n], inputs[3*n:4*n]
	step, lr := inputs[4*n], inputs[4*n+1]
	grads, norm := ClipGradNorm(grads, o.cfg.MaxGradNorm)
	newP, newM, newV := UpdateGraph(params, grads, m, v, step, lr, o.cfg, o.hypers)
	outs := make([]*Node, 0, 3*n+1)
	outs = append(outs, newP...)
	outs = append(outs, newM...)
	outs = append(outs, newV...)
	return append(outs, norm)
}

// initState fixes the parameter set and creates zero moments.
func (o *Optimizer) initState(params map[string]*tensors.Tensor) error {
	if len(params) == 0 {
		return fmt.Errorf("adamw: step 1: no parameters")
	}
	names := sortedKeys(params)
	dims := make([][]int, len(names))
	for i, name := range names {
		p := params[name]
		if p == nil {
			return fmt.Errorf("adamw: parameter %q: nil tensor", name)
		}
		if !p.Shape().DType.IsFloat() {
			return fmt.Errorf("adamw: parameter %q has dtype %s, want a float dtype", name, p.Shape().DType)
		}
		dims[i] = p.Shape().Dimensions
	}
	hypers, err := o.cfg.AssignAll(names, dims)
	if err != nil {
		return err
	}
	m := make(map[string]*tensors.Tensor, len(names))
	v := make(map[string]*tensors.Tensor, len(names))
	for _, name := range names {
		m[name] = tensors.FromShape(params[name].Shape())
		v[name] = tensors.FromShape(params[name].Shape())
	}
	o.names, o.hypers, o.m, o.v = names, hypers, m, v
	return nil
}

// State is an Optimizer's state for checkpoints: the step count and, per parameter name, the
// moments — torch's exp_avg (m) and exp_avg_sq (v).
type State struct {
	Step     int
	ExpAvg   map[string]*tensors.Tensor
	ExpAvgSq map[string]*tensors.Tensor
}

// State returns the optimizer state: copies of the moments, safe to keep while training goes
// on. Before the first Step it is empty (Step 0, no moments).
func (o *Optimizer) State() (State, error) {
	s := State{Step: o.step, ExpAvg: map[string]*tensors.Tensor{}, ExpAvgSq: map[string]*tensors.Tensor{}}
	for _, name := range o.names {
		m, err := o.m[name].LocalClone()
		if err != nil {
			return State{}, fmt.Errorf("adamw: copying exp_avg of %q: %w", name, err)
		}
		v, err := o.v[name].LocalClone()
		if err != nil {
			return State{}, fmt.Errorf("adamw: copying exp_avg_sq of %q: %w", name, err)
		}
		s.ExpAvg[name], s.ExpAvgSq[name] = m, v
	}
	return s, nil
}

// SetState restores a state saved with State, before or instead of the first Step. It fixes
// the parameter set to the state's names (the group settings are recomputed from the Config).
// An empty state (no moments) resets the optimizer.
func (o *Optimizer) SetState(s State) error {
	if s.Step < 0 {
		return fmt.Errorf("adamw: state step %d must be >= 0", s.Step)
	}
	if len(s.ExpAvg) == 0 && len(s.ExpAvgSq) == 0 {
		if s.Step != 0 {
			return fmt.Errorf("adamw: state at step %d has no moments", s.Step)
		}
		o.names, o.hypers, o.m, o.v, o.step, o.exec = nil, nil, nil, nil, 0, nil
		return nil
	}
	if err := sameNames(s.ExpAvg, s.ExpAvgSq); err != nil {
		return fmt.Errorf("adamw: state exp_avg vs exp_avg_sq: %w", err)
	}
	names := sortedKeys(s.ExpAvg)
	dims := make([][]int, len(names))
	m := make(map[string]*tensors.Tensor, len(names))
	v := make(map[string]*tensors.Tensor, len(names))
	for i, name := range names {
		a, b := s.ExpAvg[name], s.ExpAvgSq[name]
		if a == nil || b == nil {
			return fmt.Errorf("adamw: state of %q: nil tensor", name)
		}
		if !a.Shape().Equal(b.Shape()) {
			return fmt.Errorf("adamw: state of %q: exp_avg shape %s != exp_avg_sq shape %s", name, a.Shape(), b.Shape())
		}
		if !a.Shape().DType.IsFloat() {
			return fmt.Errorf("adamw: state of %q has dtype %s, want a float dtype", name, a.Shape().DType)
		}
		var err error
		if m[name], err = a.LocalClone(); err != nil {
			return fmt.Errorf("adamw: copying exp_avg of %q: %w", name, err)
		}
		if v[name], err = b.LocalClone(); err != nil {
			return fmt.Errorf("adamw: copying exp_avg_sq of %q: %w", name, err)
		}
		dims[i] = a.Shape().Dimensions
	}
	hypers, err := o.cfg.AssignAll(names, dims)
	if err != nil {
		return err
	}
	o.names, o.hypers, o.m, o.v, o.step, o.exec = names, hypers, m, v, s.Step, nil
	return nil
}

// State tensor names used by Flatten: "<param name>.exp_avg", "<param name>.exp_avg_sq" and
// "step" (an int64 scalar), so a whole state fits in one safetensors file.
const (
	ExpAvgSuffix   = ".exp_avg"
	ExpAvgSqSuffix = ".exp_avg_sq"
	StepKey        = "step"
)

// Flatten returns the state as one map of named tensors (see ExpAvgSuffix, ExpAvgSqSuffix,
// StepKey). The moment tensors are shared, not copied.
func (s State) Flatten() map[string]*tensors.Tensor {
	out := make(map[string]*tensors.Tensor, 2*len(s.ExpAvg)+1)
	for name, t := range s.ExpAvg {
		out[name+ExpAvgSuffix] = t
	}
	for name, t := range s.ExpAvgSq {
		out[name+ExpAvgSqSuffix] = t
	}
	out[StepKey] = tensors.FromValue(int64(s.Step))
	return out
}

// UnflattenState is the inverse of State.Flatten.
func UnflattenState(flat map[string]*tensors.Tensor) (State, error) {
	s := State{ExpAvg: map[string]*tensors.Tensor{}, ExpAvgSq: map[string]*tensors.Tensor{}}
	stepT, ok := flat[StepKey]
	if !ok || stepT == nil {
		return State{}, fmt.Errorf("adamw: optimizer state has no %q tensor", StepKey)
	}
	if stepT.Shape().Rank() != 0 || !stepT.Shape().DType.IsInt() {
		return State{}, fmt.Errorf("adamw: optimizer state %q has shape %s, want an integer scalar", StepKey, stepT.Shape())
	}
	conv, err := tensors.CopyFlatData[int64](convertToInt64(stepT))
	if err != nil || len(conv) != 1 {
		return State{}, fmt.Errorf("adamw: reading optimizer state %q: %v", StepKey, err)
	}
	s.Step = int(conv[0])
	for key, t := range flat {
		switch {
		case key == StepKey:
		case strings.HasSuffix(key, ExpAvgSqSuffix):
			s.ExpAvgSq[strings.TrimSuffix(key, ExpAvgSqSuffix)] = t
		case strings.HasSuffix(key, ExpAvgSuffix):
			s.ExpAvg[strings.TrimSuffix(key, ExpAvgSuffix)] = t
		default:
			return State{}, fmt.Errorf("adamw: optimizer state tensor %q is neither %q, *%s nor *%s",
				key, StepKey, ExpAvgSuffix, ExpAvgSqSuffix)
		}
	}
	if err := sameNames(s.ExpAvg, s.ExpAvgSq); err != nil {
		return State{}, fmt.Errorf("adamw: optimizer state exp_avg vs exp_avg_sq: %w", err)
	}
	return s, nil
}

// convertToInt64 returns an int64 scalar tensor with t's value (t is an integer scalar).
func convertToInt64(t *tensors.Tensor) *tensors.Tensor {
	if t.Shape().DType == dtypes.Int64 {
		return t
	}
	var v int64
	switch x := t.Value().(type) {
	case int32:
		v = int64(x)
	case int16:
		v = int64(x)
	case int8:
		v = int64(x)
	case uint64:
		v = int64(x)
	case uint32:
		v = int64(x)
	case uint16:
		v = int64(x)
	case uint8:
		v = int64(x)
	}
	return tensors.FromValue(v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// sameNames checks that a and b have the same keys.
func sameNames[V any](a, b map[string]V) error {
	var onlyA, onlyB []string
	for k := range a {
		if _, ok := b[k]; !ok {
			onlyA = append(onlyA, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			onlyB = append(onlyB, k)
		}
	}
	if len(onlyA) == 0 && len(onlyB) == 0 {
		return nil
	}
	sort.Strings(onlyA)
	sort.Strings(onlyB)
	return fmt.Errorf("names differ: only in the first %s, only in the second %s", briefList(onlyA), briefList(onlyB))
}

// diffNames describes how params' names differ from the held names.
func diffNames(held []string, params map[string]*tensors.Tensor) string {
	var missing, extra []string
	set := make(map[string]bool, len(held))
	for _, n := range held {
		set[n] = true
		if _, ok := params[n]; !ok {
			missing = append(missing, n)
		}
	}
	for n := range params {
		if !set[n] {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	return fmt.Sprintf("parameters missing %s, unknown %s (the set is fixed by the first step)",
		briefList(missing), briefList(extra))
}

func briefList(names []string) string {
	const maxShown = 5
	if len(names) == 0 {
		return "[]"
	}
	if len(names) <= maxShown {
		return fmt.Sprintf("%q", names)
	}
	return fmt.Sprintf("%q and %d more", names[:maxShown], len(names)-maxShown)
}

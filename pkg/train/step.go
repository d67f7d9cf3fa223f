package train

import (
	"fmt"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph-building style
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/loralab/loralab/pkg/adamw"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/mask"
)

// stepKind selects one of the compiled graphs.
//
//   - A window of A micro-batches runs A−1 "accumulate" graphs (forward, backward, add the
//     gradient of the summed token loss to the accumulators) and one "final" graph that does the
//     same for the last micro-batch and then divides by the window's supervised tokens, clips on
//     the global norm and applies AdamW — forward, backward, accumulation and update fused.
//   - hasAcc is false for the first micro-batch of a window (no accumulators yet).
//   - packed adds position_ids and segment_ids inputs.
//   - eval is the evaluation graph: per-token loss and accuracy, no gradient.
type stepKind struct {
	hasAcc, final, packed, eval bool
	rows                        bool // training with Inputs.LossRows
}

// stepIO names what a compiled graph reads and returns. T is *Node inside the graph, any
// (tensors, donated buffers, float64 scalars) for the host's inputs and *tensors.Tensor for
// its outputs. slots is the one place that says which fields a graph of a kind has, and in
// which order: flatten and unflatten follow it on both sides, so nothing is read back by index.
type stepIO[T any] struct {
	// Params (trainable), Frozen and the AdamW moments M, V are ordered as stepper.names and
	// stepper.frozen.
	Params, Frozen []T
	// Acc are the gradient accumulators of a window (one per trainable parameter); AccSum and
	// AccCount its summed token loss and supervised-token count so far.
	Acc              []T
	AccSum, AccCount T
	M, V             []T
	Step, LR         T // the optimizer step number (1-based) and learning rate: final inputs
	RNG              T // the dropout RNG state, carried from step to step
	// The micro-batch: [B, T] int32; PositionIDs and SegmentIDs for packed rows only; LossRows
	// ([R] int32, llama.LossRows) when the kind has rows.
	InputIDs, Labels, PositionIDs, SegmentIDs, LossRows T

	// Outputs of the final graph: the window loss (AccSum / AccCount), the global gradient
	// norm before clipping, and Finite, [n] bool: whether each parameter and its moments stay
	// finite after the update (when one does not, nothing is updated). MicroSum (every training
	// graph) is this micro-batch's summed loss.
	Loss, Norm, Finite, MicroSum T
	// Outputs of the eval graph, [B·T] float32: per-position loss of labels[t+1], whether it
	// counts (0/1) and whether the arg-max predicts it (0/1).
	NLL, Valid, Correct T
}

// slot is one field of a stepIO: a single value or a slice of n values.
type slot[T any] struct {
	one  *T
	many *[]T
	n    int
}

// slots lists the fields of the inputs (input=true) or outputs of a graph of kind k, in order;
// n and f are the numbers of trainable and frozen parameters.
func (s *stepIO[T]) slots(k stepKind, input bool, n, f int) []slot[T] {
	one := func(p *T) slot[T] { return slot[T]{one: p} }
	many := func(p *[]T, c int) slot[T] { return slot[T]{many: p, n: c} }
	var out []slot[T]
	switch {
	case k.eval && input:
		out = append(out, many(&s.Params, n), many(&s.Frozen, f), one(&s.InputIDs), one(&s.Labels))
		if k.packed {
			out = append(out, one(&s.PositionIDs), one(&s.SegmentIDs))
		}
	case k.eval:
		out = append(out, one(&s.NLL), one(&s.Valid), one(&s.Correct))
	case input:
		out = append(out, many(&s.Params, n), many(&s.Frozen, f))
		if k.hasAcc {
			out = append(out, many(&s.Acc, n), one(&s.AccSum), one(&s.AccCount))
		}
		if k.final {
			out = append(out, many(&s.M, n), many(&s.V, n), one(&s.Step), one(&s.LR))
		}
		out = append(out, one(&s.RNG), one(&s.InputIDs), one(&s.Labels))
		if k.packed {
			out = append(out, one(&s.PositionIDs), one(&s.SegmentIDs))
		}
		if k.rows {
			out = append(out, one(&s.LossRows))
		}
	case k.final:
		out = append(out, many(&s.Params, n), many(&s.M, n), many(&s.V, n), one(&s.Loss), one(&s.AccSum),
			one(&s.AccCount), one(&s.Norm), one(&s.Finite), one(&s.MicroSum), one(&s.RNG))
	default:
		out = append(out, many(&s.Acc, n), one(&s.AccSum), one(&s.AccCount), one(&s.MicroSum), one(&s.RNG))
	}
	return out
}

// flatten lays the fields of kind k out in order. A slice of the wrong length is a bug in the
// trainer, reported as an error.
func (s *stepIO[T]) flatten(k stepKind, input bool, n, f int) ([]T, error) {
	var out []T
	for i, sl := range s.slots(k, input, n, f) {
		if sl.many == nil {
			out = append(out, *sl.one)
			continue
		}
		if len(*sl.many) != sl.n {
			return nil, fmt.Errorf("train: graph %+v slot %d has %d values, want %d", k, i, len(*sl.many), sl.n)
		}
		out = append(out, *sl.many...)
	}
	return out, nil
}

// unflatten is the inverse of flatten.
func unflatten[T any](k stepKind, input bool, n, f int, xs []T) (stepIO[T], error) {
	var s stepIO[T]
	i := 0
	for _, sl := range s.slots(k, input, n, f) {
		c := 1
		if sl.many != nil {
			c = sl.n
		}
		if i+c > len(xs) {
			return s, fmt.Errorf("train: graph %+v has %d values, fewer than its layout", k, len(xs))
		}
		if sl.many != nil {
			*sl.many = xs[i : i+c : i+c]
		} else {
			*sl.one = xs[i]
		}
		i += c
	}
	if i != len(xs) {
		return s, fmt.Errorf("train: graph %+v has %d values, its layout %d", k, len(xs), i)
	}
	return s, nil
}

// stepper holds the compiled graphs of a model and optimizer configuration.
type stepper struct {
	backend compute.Backend
	model   Model
	cfg     adamw.Config
	hypers  []adamw.Hyper
	names   []string            // trainable, sorted
	frozen  []string            // frozen, sorted
	memory  llama.MemoryOptions // the memory-lean switches of the training steps
	execs   map[stepKind]*Exec
}

func newStepper(b compute.Backend, model Model, cfg adamw.Config) (*stepper, error) {
	s := &stepper{backend: b, model: model, cfg: cfg, names: sortedNames(model.Trainable),
		frozen: sortedNames(model.Frozen), execs: map[stepKind]*Exec{}}
	dims := make([][]int, len(s.names))
	for i, n := range s.names {
		dims[i] = model.Trainable[n].Shape().Dimensions
	}
	var err error
	if s.hypers, err = cfg.AssignAll(s.names, dims); err != nil {
		return nil, fmt.Errorf("train: parameter groups: %w", err)
	}
	return s, nil
}

// lossOf builds the summed token loss and supervised-token count of the model.
func (s *stepper) lossOf(in *Inputs) (sum, count *Node) {
	if s.model.Loss != nil {
		return s.model.Loss(in)
	}
	return llama.CausalLMLoss(s.model.Logits(in), in.Labels)
}

// bindInputs makes the model's Inputs from a graph's named inputs.
func (s *stepper) bindInputs(io stepIO[*Node], training bool) *Inputs {
	in := &Inputs{Trainable: make(map[string]*Node, len(io.Params)), Frozen: make(map[string]*Node, len(io.Frozen)),
		InputIDs: io.InputIDs, Labels: io.Labels, PositionIDs: io.PositionIDs, SegmentIDs: io.SegmentIDs,
		Training: training}
	if training {
		in.rng = io.RNG
	}
	for i, n := range s.names {
		in.Trainable[n] = io.Params[i]
	}
	for i, n := range s.frozen {
		in.Frozen[n] = io.Frozen[i]
	}
	if training {
		in.Memory, in.LossRows = s.memory, io.LossRows
	}
	return in
}

// graph builds the graph of kind k (see stepKind and stepIO). A non-finite loss, gradient norm
// or updated parameter or moment leaves params and moments unchanged.
func (s *stepper) graph(k stepKind) func([]*Node) []*Node {
	n, f := len(s.names), len(s.frozen)
	return func(flat []*Node) []*Node {
		in, err := unflatten(k, true, n, f, flat)
		if err != nil {
			panic(err)
		}
		var out stepIO[*Node]
		if k.eval {
			out = s.evalGraph(in)
		} else {
			out = s.trainGraph(k, in)
		}
		outs, err := out.flatten(k, false, n, f)
		if err != nil {
			panic(err)
		}
		return outs
	}
}

func (s *stepper) trainGraph(k stepKind, in stepIO[*Node]) (out stepIO[*Node]) {
	inputs := s.bindInputs(in, true)
	microSum, count := s.lossOf(inputs)
	microSum = ConvertDType(microSum, dtypes.Float32)
	count = ConvertDType(count, dtypes.Float32)
	grads := Gradient(microSum, in.Params...)
	sum := microSum
	if k.hasAcc {
		for j := range grads {
			grads[j] = Add(grads[j], in.Acc[j])
		}
		sum = Add(sum, in.AccSum)
		count = Add(count, in.AccCount)
	}
	out.AccSum, out.AccCount, out.MicroSum, out.RNG = sum, count, microSum, inputs.rng
	if !k.final {
		out.Acc = grads
		return out
	}
	g := sum.Graph()
	denom := Max(count, ScalarOne(g, dtypes.Float32))
	for j := range grads {
		grads[j] = Div(grads[j], denom)
	}
	out.Loss = Div(sum, denom)
	clipped, norm := adamw.ClipGradNorm(grads, s.cfg.MaxGradNorm)
	newP, newM, newV := adamw.UpdateGraph(in.Params, clipped, in.M, in.V, in.Step, in.LR, s.cfg, s.hypers)
	finite := make([]*Node, len(newP))
	for j := range newP {
		finite[j] = LogicalAnd(LogicalAll(IsFinite(newP[j])), LogicalAnd(LogicalAll(IsFinite(newM[j])), LogicalAll(IsFinite(newV[j]))))
	}
	out.Finite = Stack(finite, 0)
	ok := LogicalAnd(LogicalAnd(IsFinite(out.Loss), IsFinite(norm)), LogicalAll(out.Finite))
	keep := func(updated, old []*Node) []*Node {
		res := make([]*Node, len(old))
		for j := range old {
			res[j] = Where(ok, updated[j], old[j])
		}
		return res
	}
	out.Params, out.M, out.V, out.Norm = keep(newP, in.Params), keep(newM, in.M), keep(newV, in.V), norm
	return out
}

// evalGraph computes per-position loss, supervision and arg-max hits (position t predicts
// labels[t+1]) with the one cross entropy (llama.TokenNLL).
func (s *stepper) evalGraph(in stepIO[*Node]) (out stepIO[*Node]) {
	inputs := s.bindInputs(in, false)
	logits, targets := llama.FlatShifted(ConvertDType(s.model.Logits(inputs), dtypes.Float32), inputs.Labels)
	nll, valid := llama.TokenNLL(logits, targets)
	correct := LogicalAnd(valid, Equal(ArgMax(logits, -1, dtypes.Int32), targets))
	out.NLL, out.Valid, out.Correct = nll, ConvertDType(valid, dtypes.Float32), ConvertDType(correct, dtypes.Float32)
	return out
}

func (s *stepper) exec(k stepKind) (*Exec, error) {
	if e, ok := s.execs[k]; ok {
		return e, nil
	}
	e, err := NewExec(s.backend, s.graph(k))
	if err != nil {
		return nil, fmt.Errorf("train: creating the step graph: %w", err)
	}
	e.SetMaxCache(-1)
	name := fmt.Sprintf("train_step_acc%v_final%v_packed%v_rows%v", k.hasAcc, k.final, k.packed, k.rows)
	if k.eval {
		name = fmt.Sprintf("train_eval_packed%v", k.packed)
	}
	s.execs[k] = e.WithName(name)
	return s.execs[k], nil
}

// call runs the graph of kind k on named inputs and returns its named outputs.
func (s *stepper) call(k stepKind, in stepIO[any]) (stepIO[*tensors.Tensor], error) {
	e, err := s.exec(k)
	if err != nil {
		return stepIO[*tensors.Tensor]{}, err
	}
	n, f := len(s.names), len(s.frozen)
	args, err := in.flatten(k, true, n, f)
	if err != nil {
		return stepIO[*tensors.Tensor]{}, err
	}
	outs, err := e.Call(args...)
	if err != nil {
		return stepIO[*tensors.Tensor]{}, err
	}
	return unflatten(k, false, n, f, outs)
}

// setBatch puts a batch's matrices into the inputs: input_ids, labels and, for packed rows,
// position_ids and segment_ids.
func setBatch(in *stepIO[any], b mask.Batch) error {
	if err := b.Validate(); err != nil {
		return err
	}
	B, T := b.Dims()
	mat := func(m [][]int32) *tensors.Tensor {
		flat := make([]int32, 0, B*T)
		for _, row := range m {
			flat = append(flat, row...)
		}
		return tensors.FromFlatDataAndDimensions(flat, B, T)
	}
	in.InputIDs, in.Labels = mat(b.InputIDs), mat(b.Labels)
	if b.PositionIDs != nil {
		in.PositionIDs, in.SegmentIDs = mat(b.PositionIDs), mat(b.SegmentIDs)
	}
	return nil
}

// setLossRows gives a training step of a Model with its own Loss the llama.LossRows of batch b
// and marks k, when b skips enough positions; it returns R, the rows' count (0 without).
func (s *stepper) setLossRows(k *stepKind, in *stepIO[any], b mask.Batch) int {
	if s.model.Loss == nil {
		return 0
	}
	B, T := b.Dims()
	rows := llama.LossRows(slices.Concat(b.Labels...), B, T)
	if rows == nil {
		return 0
	}
	k.rows, in.LossRows = true, tensors.FromFlatDataAndDimensions(rows, len(rows))
	return len(rows)
}

// anys converts tensors to graph arguments.
func anys(ts []*tensors.Tensor) []any {
	out := make([]any, len(ts))
	for i, t := range ts {
		out[i] = t
	}
	return out
}

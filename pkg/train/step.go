package train

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph-building style
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/loralab/loralab/pkg/adamw"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/mask"
)

// stepKind selects one of the compiled step graphs.
//
//   - A window of A micro-batches runs A−1 "accumulate" graphs (forward, backward, add the
//     gradient of the summed token loss to the accumulators) and one "final" graph that does the
//     same for the last micro-batch and then divides by the window's supervised tokens, clips on
//     the global norm and applies AdamW — forward, backward, accumulation and update fused.
//   - hasAcc is false for the first micro-batch of a window (no accumulators yet).
//   - packed adds position_ids and segment_ids inputs.
type stepKind struct {
	hasAcc, final, packed bool
}

// stepper holds the compiled graphs of a model and optimizer configuration.
type stepper struct {
	backend compute.Backend
	model   Model
	cfg     adamw.Config
	hypers  []adamw.Hyper
	names   []string // trainable, sorted
	frozen  []string // frozen, sorted
	execs   map[stepKind]*Exec
	evals   map[bool]*Exec // by packed
}

func newStepper(b compute.Backend, model Model, cfg adamw.Config) (*stepper, error) {
	s := &stepper{backend: b, model: model, cfg: cfg, names: sortedNames(model.Trainable),
		frozen: sortedNames(model.Frozen), execs: map[stepKind]*Exec{}, evals: map[bool]*Exec{}}
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

// bindInputs makes the Inputs of a graph from parameter nodes and the batch nodes.
func (s *stepper) bindInputs(params, frozen, batch []*Node, training bool, rng *Node) *Inputs {
	in := &Inputs{Trainable: make(map[string]*Node, len(params)), Frozen: make(map[string]*Node, len(frozen)),
		InputIDs: batch[0], Labels: batch[1], Training: training, rng: rng}
	for i, n := range s.names {
		in.Trainable[n] = params[i]
	}
	for i, n := range s.frozen {
		in.Frozen[n] = frozen[i]
	}
	if len(batch) == 4 {
		in.PositionIDs, in.SegmentIDs = batch[2], batch[3]
	}
	return in
}

// graph builds the step graph of kind k. Inputs, in order: trainable params (n), frozen (f),
// [grad accumulators (n), loss sum, token count] if hasAcc, [m (n), v (n), step, lr] if final,
// rng state, input_ids, labels, [position_ids, segment_ids] if packed.
//
// Outputs, not final: grad accumulators (n), loss sum, token count, rng, micro-batch loss sum.
// Final: params (n), m (n), v (n), window loss, loss sum, token count, grad norm, micro-batch
// loss sum, rng. A non-finite loss or gradient norm leaves params and moments unchanged.
func (s *stepper) graph(k stepKind) func([]*Node) []*Node {
	n, f := len(s.names), len(s.frozen)
	return func(in []*Node) []*Node {
		i := 0
		take := func(c int) []*Node { out := in[i : i+c]; i += c; return out }
		params, frozen := take(n), take(f)
		var acc []*Node
		var accSum, accCount *Node
		if k.hasAcc {
			acc = take(n)
			accSum, accCount = in[i], in[i+1]
			i += 2
		}
		var m, v []*Node
		var step, lr *Node
		if k.final {
			m, v = take(n), take(n)
			step, lr = in[i], in[i+1]
			i += 2
		}
		rng := in[i]
		i++
		batch := in[i:]

		inputs := s.bindInputs(params, frozen, batch, true, rng)
		microSum, count := s.lossOf(inputs)
		microSum = ConvertDType(microSum, dtypes.Float32)
		count = ConvertDType(count, dtypes.Float32)
		grads := Gradient(microSum, params...)
		sum := microSum
		if k.hasAcc {
			for j := range grads {
				grads[j] = Add(grads[j], acc[j])
			}
			sum = Add(sum, accSum)
			count = Add(count, accCount)
		}
		if !k.final {
			outs := append([]*Node{}, grads...)
			return append(outs, sum, count, inputs.rng, microSum)
		}
		g := sum.Graph()
		denom := Max(count, ScalarOne(g, dtypes.Float32))
		for j := range grads {
			grads[j] = Div(grads[j], denom)
		}
		loss := Div(sum, denom)
		clipped, norm := adamw.ClipGradNorm(grads, s.cfg.MaxGradNorm)
		newP, newM, newV := adamw.UpdateGraph(params, clipped, m, v, step, lr, s.cfg, s.hypers)
		ok := LogicalAnd(IsFinite(loss), IsFinite(norm))
		outs := make([]*Node, 0, 3*n+6)
		for j := range newP {
			outs = append(outs, Where(ok, newP[j], params[j]))
		}
		for j := range newM {
			outs = append(outs, Where(ok, newM[j], m[j]))
		}
		for j := range newV {
			outs = append(outs, Where(ok, newV[j], v[j]))
		}
		return append(outs, loss, sum, count, norm, microSum, inputs.rng)
	}
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
	s.execs[k] = e.WithName(fmt.Sprintf("train_step_acc%v_final%v_packed%v", k.hasAcc, k.final, k.packed))
	return s.execs[k], nil
}

// evalGraph: inputs params (n), frozen (f), input_ids, labels, [position_ids, segment_ids];
// outputs per-position nll, supervised (0/1) and correct (0/1), each [B·T] (position t is the
// prediction of labels[t+1]).
func (s *stepper) evalGraph(in []*Node) []*Node {
	n, f := len(s.names), len(s.frozen)
	inputs := s.bindInputs(in[:n], in[n:n+f], in[n+f:], false, nil)
	logits, targets := llama.FlatShifted(ConvertDType(s.model.Logits(inputs), dtypes.Float32), inputs.Labels)
	nll, valid := llama.TokenNLL(logits, targets)
	correct := LogicalAnd(valid, Equal(ArgMax(logits, -1, dtypes.Int32), targets))
	return []*Node{nll, ConvertDType(valid, dtypes.Float32), ConvertDType(correct, dtypes.Float32)}
}

func (s *stepper) evalExec(packed bool) (*Exec, error) {
	if e, ok := s.evals[packed]; ok {
		return e, nil
	}
	e, err := NewExec(s.backend, s.evalGraph)
	if err != nil {
		return nil, fmt.Errorf("train: creating the eval graph: %w", err)
	}
	e.SetMaxCache(-1)
	s.evals[packed] = e.WithName("train_eval")
	return e, nil
}

// batchTensors converts a batch to its graph inputs: input_ids, labels[, position_ids, segment_ids].
func batchTensors(b mask.Batch) ([]any, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	B, T := b.Dims()
	mat := func(m [][]int32) *tensors.Tensor {
		flat := make([]int32, 0, B*T)
		for _, row := range m {
			flat = append(flat, row...)
		}
		return tensors.FromFlatDataAndDimensions(flat, B, T)
	}
	out := []any{mat(b.InputIDs), mat(b.Labels)}
	if b.PositionIDs != nil {
		out = append(out, mat(b.PositionIDs), mat(b.SegmentIDs))
	}
	return out, nil
}

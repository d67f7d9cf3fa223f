package main

import (
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/adamw"
	"github.com/loralab/loralab/pkg/llama"
)

// pretrainer runs full-parameter causal-LM training steps: forward, backward, global-norm
// clipping and AdamW, fused in one compiled graph per batch shape.
type pretrainer struct {
	cfg    *llama.Config
	opt    adamw.Config
	names  []string
	params []*tensors.Tensor
	m, v   []*tensors.Tensor
	hypers []adamw.Hyper
	step   int
	exec   *Exec
	eval   *Exec
}

func newPretrainer(b compute.Backend, model *llama.Model, opt adamw.Config) (*pretrainer, error) {
	p := &pretrainer{cfg: model.Config, opt: opt, names: model.ParamNames()}
	dims := make([][]int, len(p.names))
	for i, n := range p.names {
		t := model.Weights[n]
		p.params = append(p.params, t)
		dims[i] = t.Shape().Dimensions
		p.m = append(p.m, tensors.FromShape(t.Shape()))
		p.v = append(p.v, tensors.FromShape(t.Shape()))
	}
	var err error
	if p.hypers, err = opt.AssignAll(p.names, dims); err != nil {
		return nil, err
	}
	n := len(p.names)
	p.exec, err = NewExec(b, func(in []*Node) []*Node {
		params, m, v := in[:n], in[n:2*n], in[2*n:3*n]
		step, lr, ids, labels := in[3*n], in[3*n+1], in[3*n+2], in[3*n+3]
		w := llama.Weights{}
		for i, name := range p.names {
			w[name] = params[i]
		}
		sum, count := llama.CausalLMLoss(llama.Forward(p.cfg, w, nil, ids, nil, nil), labels)
		loss := Div(sum, MaxScalar(count, 1))
		grads := Gradient(loss, params...)
		grads, norm := adamw.ClipGradNorm(grads, opt.MaxGradNorm)
		np, nm, nv := adamw.UpdateGraph(params, grads, m, v, step, lr, opt, p.hypers)
		out := append(append(append([]*Node{}, np...), nm...), nv...)
		return append(out, loss, ConvertDType(norm, dtypes.Float32))
	})
	if err != nil {
		return nil, err
	}
	p.eval, err = NewExec(b, func(in []*Node) []*Node {
		params, ids, labels := in[:n], in[n], in[n+1]
		w := llama.Weights{}
		for i, name := range p.names {
			w[name] = params[i]
		}
		sum, count := llama.CausalLMLoss(llama.Forward(p.cfg, w, nil, ids, nil, nil), labels)
		return []*Node{sum, count}
	})
	return p, err
}

// trainStep runs one optimizer step on a batch of token rows (labels = the rows themselves,
// shifted inside the loss) and returns the loss and the pre-clip gradient norm.
func (p *pretrainer) trainStep(rows [][]int32, lr float64) (loss, norm float64, err error) {
	p.step++
	n := len(p.names)
	args := make([]any, 0, 3*n+4)
	for _, t := range p.params {
		args = append(args, t)
	}
	for _, t := range p.m {
		args = append(args, t)
	}
	for _, t := range p.v {
		args = append(args, t)
	}
	ids := tensors.FromValue(rows)
	args = append(args, int32(p.step), float32(lr), ids, ids)
	out, err := p.exec.Exec(args...)
	if err != nil {
		return 0, 0, fmt.Errorf("step %d: %w", p.step, err)
	}
	for _, t := range slices.Concat(p.params, p.m, p.v) {
		t.FinalizeAll()
	}
	copy(p.params, out[:n])
	copy(p.m, out[n:2*n])
	copy(p.v, out[2*n:3*n])
	loss = float64(tensors.ToScalar[float32](out[3*n]))
	norm = float64(tensors.ToScalar[float32](out[3*n+1]))
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, norm, fmt.Errorf("step %d: loss is %v", p.step, loss)
	}
	return loss, norm, nil
}

// evalLoss returns the mean token loss over rows, in batches of batch rows.
func (p *pretrainer) evalLoss(rows [][]int32, batch int) (float64, error) {
	var sum, count float64
	for i := 0; i+batch <= len(rows); i += batch {
		args := make([]any, 0, len(p.params)+2)
		for _, t := range p.params {
			args = append(args, t)
		}
		ids := tensors.FromValue(rows[i : i+batch])
		args = append(args, ids, ids)
		out, err := p.eval.Exec(args...)
		if err != nil {
			return 0, err
		}
		sum += float64(tensors.ToScalar[float32](out[0]))
		count += float64(tensors.ToScalar[float32](out[1]))
	}
	return sum / max(count, 1), nil
}

// model returns the trained weights as a llama.Model (sharing the tensors).
func (p *pretrainer) model() *llama.Model {
	w := map[string]*tensors.Tensor{}
	for i, n := range p.names {
		w[n] = p.params[i]
	}
	return &llama.Model{Config: p.cfg, Weights: w}
}

package llama

import (
	"fmt"
	"sort"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/safetensors"
)

// GraphAdapter is an adapter with its own tensors, usable by this package's executors
// (Runner, Generate). lora.Adapter implements it.
type GraphAdapter interface {
	// AdapterTensors returns the adapter's tensors by name. A name equal to a base weight name
	// replaces that weight (modules_to_save copies, trainable biases).
	AdapterTensors() []safetensors.Tensor
	// Bind returns the inference-mode Adapter (no dropout) reading its parameters from w.
	Bind(w Weights) Adapter
}

// Runner evaluates a model (with an optional adapter) on host data. Graphs are compiled per
// input shape and cached.
type Runner struct {
	Backend compute.Backend
	Model   *Model
	Adapter GraphAdapter // may be nil

	names   []string          // graph weight inputs, in order
	tensors []*tensors.Tensor // matching tensors
	logits  *Exec
	losses  *Exec // TokenLosses' graph, made on first use
	gen     *generator
}

// NewRunner prepares a Runner. It checks the model's weights.
func NewRunner(b compute.Backend, m *Model, adapter GraphAdapter) (*Runner, error) {
	if err := m.Check(); err != nil {
		return nil, err
	}
	r := &Runner{Backend: b, Model: m, Adapter: adapter}
	r.names, r.tensors = weightInputs(m, adapter)
	nw := len(r.names)
	cfg := m.Config
	var err error
	r.logits, err = NewExec(b, func(in []*Node) *Node {
		w, ad := r.bind(in[:nw])
		ids, pos, seg := in[nw], in[nw+1], in[nw+2]
		return Forward(cfg, w, ad, ids, pos, seg)
	})
	if err != nil {
		return nil, err
	}
	r.logits.SetMaxCache(-1)
	return r, nil
}

// weightInputs lists base weights then adapter tensors; adapter tensors with a base name replace it.
func weightInputs(m *Model, adapter GraphAdapter) ([]string, []*tensors.Tensor) {
	all := map[string]*tensors.Tensor{}
	for _, nt := range m.Tensors() {
		all[nt.Name] = nt.Tensor
	}
	if adapter != nil {
		for _, nt := range adapter.AdapterTensors() {
			all[nt.Name] = nt.Tensor
		}
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	ts := make([]*tensors.Tensor, len(names))
	for i, n := range names {
		ts[i] = all[n]
	}
	return names, ts
}

func (r *Runner) bind(in []*Node) (Weights, Adapter) {
	w := make(Weights, len(in))
	for i, n := range r.names {
		w[n] = in[i]
	}
	var ad Adapter
	if r.Adapter != nil {
		ad = r.Adapter.Bind(w)
	}
	return w, ad
}

func (r *Runner) args(extra ...any) []any {
	args := make([]any, 0, len(r.tensors)+len(extra))
	for _, t := range r.tensors {
		args = append(args, t)
	}
	return append(args, extra...)
}

// Logits runs the forward pass on a batch of equal-length rows of token ids. positionIDs and
// segmentIDs may be nil (0..T-1 and one segment per row). It returns logits [B, T, vocab].
func (r *Runner) Logits(inputIDs, positionIDs, segmentIDs [][]int32) (*tensors.Tensor, error) {
	B := len(inputIDs)
	if B == 0 || len(inputIDs[0]) == 0 {
		return nil, fmt.Errorf("Logits: empty input")
	}
	T := len(inputIDs[0])
	ids, err := matrixInt32("input_ids", inputIDs, B, T, r.Model.Config.VocabSize)
	if err != nil {
		return nil, err
	}
	if positionIDs == nil {
		positionIDs = make([][]int32, B)
		for b := range positionIDs {
			positionIDs[b] = make([]int32, T)
			for t := range T {
				positionIDs[b][t] = int32(t)
			}
		}
	}
	pos, err := matrixInt32("position_ids", positionIDs, B, T, 0)
	if err != nil {
		return nil, err
	}
	if segmentIDs == nil {
		segmentIDs = make([][]int32, B)
		for b := range segmentIDs {
			segmentIDs[b] = make([]int32, T)
		}
	}
	seg, err := matrixInt32("segment_ids", segmentIDs, B, T, 0)
	if err != nil {
		return nil, err
	}
	return r.logits.Exec1(r.args(ids, pos, seg)...)
}

// matrixInt32 checks a rectangular [B][T] matrix and returns it as a tensor; vocab > 0 also
// checks 0 <= id < vocab.
func matrixInt32(what string, m [][]int32, B, T, vocab int) (*tensors.Tensor, error) {
	if len(m) != B {
		return nil, fmt.Errorf("%s: %d rows, want %d", what, len(m), B)
	}
	flat := make([]int32, 0, B*T)
	for b, row := range m {
		if len(row) != T {
			return nil, fmt.Errorf("%s: row %d has %d tokens, want %d", what, b, len(row), T)
		}
		for t, v := range row {
			if vocab > 0 && (v < 0 || int(v) >= vocab) {
				return nil, fmt.Errorf("%s: row %d position %d: id %d outside vocabulary [0, %d)", what, b, t, v, vocab)
			}
		}
		flat = append(flat, row...)
	}
	return tensors.FromFlatDataAndDimensions(flat, B, T), nil
}

package llama

import (
	"fmt"
	"math"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/backend"
)

// lossAndGrads runs TrainingLoss with opts on m and returns the loss sum, the token count, the
// gradient of the loss sum with respect to every weight (by name) and the number of DotGeneral
// nodes in the graph.
//
// With bf16Head the head weight enters the forward as bfloat16 (as with a bf16 or NF4 base); with
// rows the loss is computed on LossRows' rows only.
func lossAndGrads(t *testing.T, m *Model, ids, labels, pos, seg [][]int32, opts MemoryOptions, bf16Head, rows bool) (float32, float32, map[string][]float32, int) {
	t.Helper()
	names := m.ParamNames()
	args := make([]any, 0, len(names)+4)
	for _, n := range names {
		args = append(args, m.Weights[n])
	}
	args = append(args, tensors.FromValue(ids), tensors.FromValue(labels))
	packed := pos != nil
	if packed {
		args = append(args, tensors.FromValue(pos), tensors.FromValue(seg))
	}
	if rows {
		var flat []int32
		for _, row := range labels {
			flat = append(flat, row...)
		}
		r := LossRows(flat, len(labels), len(labels[0]))
		if r == nil {
			t.Fatal("LossRows: nil for labels that skip positions")
		}
		args = append(args, tensors.FromValue(r))
	}
	dots := 0
	outs, err := ExecOnceN(backend.MustDefault(), func(in []*Node) []*Node {
		nw := len(names)
		w := NewWeights(names, in[:nw])
		if bf16Head {
			name := headWeightName(m.Config, w)
			w[name] = ConvertDType(w[name], dtypes.BFloat16)
		}
		var p, s, r *Node
		if packed {
			p, s = in[nw+2], in[nw+3]
		}
		if rows {
			r = in[len(in)-1]
		}
		sum, count := TrainingLoss(m.Config, w, nil, in[nw], p, s, in[nw+1], r, opts)
		grads := Gradient(sum, in[:nw]...)
		for _, n := range sum.Graph().Nodes() {
			if n.Type() == NodeTypeDotGeneral {
				dots++
			}
		}
		return append([]*Node{sum, count}, grads...)
	}, args...)
	if err != nil {
		t.Fatal(err)
	}
	grads := map[string][]float32{}
	for i, n := range names {
		grads[n] = tensors.MustCopyFlatData[float32](outs[2+i])
	}
	return tensors.ToScalar[float32](outs[0]), tensors.ToScalar[float32](outs[1]), grads, dots
}

// TestMemoryOptionsSameLossAndGradients checks that gradient checkpointing and the chunked loss
// give the loss and the gradients of every weight of the plain path (CausalLMLoss of Forward),
// within float32 rounding, and that checkpointing really recomputes (more matmuls in the graph).
func TestMemoryOptionsSameLossAndGradients(t *testing.T) {
	gqa := DefaultConfig(97, 32, 48, 3, 4, 2)
	qwen := DefaultConfig(101, 24, 40, 2, 6, 2)
	qwen.Architectures, qwen.ModelType, qwen.TieWordEmbeddings = []string{"Qwen2ForCausalLM"}, "qwen2", true
	ids := [][]int32{{1, 5, 9, 33, 2, 7, 70, 12, 3, 44, 8}, {4, 4, 60, 21, 90, 11, 6, 13, 50, 2, 1}}
	labels := [][]int32{{-100, -100, 9, 33, 2, -100, 70, 12, 3, 44, 8}, {-100, 4, 60, 21, 90, 11, -100, -100, 50, 2, 1}}
	pos := [][]int32{{0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}
	seg := [][]int32{{1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}}
	for _, tc := range []struct {
		name     string
		cfg      *Config
		pos, seg [][]int32
	}{{"llama_gqa", gqa, nil, nil}, {"qwen2_tied_bias", qwen, nil, nil}, {"llama_packed", gqa, pos, seg}} {
		m, err := NewRandomModel(tc.cfg, 7)
		if err != nil {
			t.Fatal(err)
		}
		if tc.cfg.HasQKVBias() { // random non-zero biases, so that their gradients matter
			for _, s := range tc.cfg.ParamSpecs() {
				if b := m.Weights[s.Name]; len(s.Shape) == 1 && s.Name[len(s.Name)-5:] == ".bias" {
					tensors.MustMutableFlatData(b, func(f []float32) {
						for i := range f {
							f[i] = 0.01 * float32(i%7-3)
						}
					})
				}
			}
		}
		wantSum, wantCount, wantGrads, plainDots := lossAndGrads(t, m, ids, labels, tc.pos, tc.seg, MemoryOptions{}, false, false)
		if wantCount != 16 {
			t.Fatalf("%s: plain path counted %v tokens, want 16", tc.name, wantCount)
		}
		for _, c := range []struct {
			opts MemoryOptions
			rows bool
		}{
			{MemoryOptions{GradientCheckpointing: true}, false},
			{MemoryOptions{LossChunkSize: 1}, false}, {MemoryOptions{LossChunkSize: 5}, false},
			{MemoryOptions{LossChunkSize: 8}, false}, {MemoryOptions{LossChunkSize: 22}, false},
			{MemoryOptions{GradientCheckpointing: true, LossChunkSize: 6}, false},
			// the loss on LossRows' 18 rows (16 supervised, 2 padding) only
			{MemoryOptions{}, true}, {MemoryOptions{LossChunkSize: 5}, true},
			{MemoryOptions{GradientCheckpointing: true, LossChunkSize: 6}, true},
		} {
			opts := c.opts
			t.Run(fmt.Sprintf("%s/ckpt=%v,chunk=%d,rows=%v", tc.name, opts.GradientCheckpointing, opts.LossChunkSize, c.rows), func(t *testing.T) {
				sum, count, grads, dots := lossAndGrads(t, m, ids, labels, tc.pos, tc.seg, opts, false, c.rows)
				if count != wantCount {
					t.Errorf("count %v, want %v", count, wantCount)
				}
				if d := float64(sum - wantSum); d > 2e-5*float64(wantSum) || d < -2e-5*float64(wantSum) {
					t.Errorf("loss sum %v, want %v", sum, wantSum)
				}
				for name, want := range wantGrads {
					if e := maxRelErr(grads[name], want); e > 2e-5 {
						t.Errorf("gradient of %s: max relative error %.3g > 2e-5", name, e)
					}
				}
				// Each decoder layer has 7 projections plus 2 attention matmuls, each recomputed once.
				extra := 0
				if opts.GradientCheckpointing {
					extra += 9 * tc.cfg.NumHiddenLayers
				}
				lossRows := 22 // the loss's rows: all B·T, or LossRows' 18
				if c.rows {
					lossRows = 18
				}
				if opts.LossChunkSize > 0 && opts.LossChunkSize < lossRows {
					extra++ // the lm_head of every chunk is recomputed: at least one more matmul
				}
				if dots < plainDots+extra {
					t.Errorf("graph has %d matmuls, plain path %d: want at least %d more (recomputation)", dots, plainDots, extra)
				}
			})
		}
	}
}

// TestChunkedLossFrozenHalfHead: with the head weight in bfloat16 (a bf16 or NF4 base; frozen),
// the chunked loss converts it block by block and computes the hidden-state gradient in the
// forward pass; loss and gradients equal the plain path's on the same bf16 head.
func TestChunkedLossFrozenHalfHead(t *testing.T) {
	gqa := DefaultConfig(97, 32, 48, 2, 4, 2)
	qwen := DefaultConfig(101, 24, 40, 2, 6, 2)
	qwen.Architectures, qwen.ModelType, qwen.TieWordEmbeddings = []string{"Qwen2ForCausalLM"}, "qwen2", true
	ids := [][]int32{{1, 5, 9, 33, 2, 7, 70, 12, 3, 44, 8}, {4, 4, 60, 21, 90, 11, 6, 13, 50, 2, 1}}
	labels := [][]int32{{-100, -100, 9, 33, 2, -100, 70, 12, 3, 44, 8}, {-100, 4, 60, 21, 90, 11, -100, -100, 50, 2, 1}}
	for _, cfg := range []*Config{gqa, qwen} {
		m, err := NewRandomModel(cfg, 11)
		if err != nil {
			t.Fatal(err)
		}
		wantSum, wantCount, wantGrads, _ := lossAndGrads(t, m, ids, labels, nil, nil, MemoryOptions{}, true, false)
		for i, opts := range []MemoryOptions{{LossChunkSize: 3}, {LossChunkSize: 8, GradientCheckpointing: true}, {LossChunkSize: 4}} {
			sum, count, grads, _ := lossAndGrads(t, m, ids, labels, nil, nil, opts, true, i == 2)
			if count != wantCount || math.Abs(float64(sum-wantSum)) > 2e-5*math.Abs(float64(wantSum)) {
				t.Errorf("%s %+v: loss %v/%v, want %v/%v", cfg.ModelType, opts, sum, count, wantSum, wantCount)
			}
			nonzero := 0
			for name, want := range wantGrads {
				if e := maxRelErr(grads[name], want); e > 2e-5 {
					t.Errorf("%s %+v: gradient of %s: max relative error %.3g > 2e-5", cfg.ModelType, opts, name, e)
				}
				for _, v := range want {
					if v != 0 {
						nonzero++
						break
					}
				}
			}
			if nonzero < len(wantGrads)-1 {
				t.Errorf("%s: only %d of %d weights have a gradient", cfg.ModelType, nonzero, len(wantGrads))
			}
		}
	}
}

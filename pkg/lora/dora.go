package lora

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/llama"
)

// DoRA (use_dora=true): Liu et al. 2024, "DoRA: Weight-Decomposed Low-Rank Adaptation"
// (arXiv 2402.09353), as PEFT 0.21 computes it for Linear modules (peft/tuners/lora/dora.py,
// DoraLinearLayer; variants.py, DoraLinearVariant). The adapted weight is
//
//	W' = m ⊙ (W + s·B·A) / ‖W + s·B·A‖     (norms of the rows of [out, in], one per output)
//
// with the magnitude m [out] a trained vector, lora_magnitude_vector, initialised to
// ‖W + s·B·A‖ (= ‖W‖ with PEFT's default init, B = 0, so the adapter starts as a no-op).
//
// Forward, with k = m / ‖W + s·B·A‖ and x̃ the LoRA input:
//
//	y' = y + (k − 1)·base + k·s·B(A(x̃))
//
// where y is the base output (bias included), and base is y − bias when no dropout acts (eval,
// or lora_dropout = 0: x̃ = x), or x̃·Wᵀ when dropout acts in training (x̃ = dropout(x): PEFT then
// recomputes the base output on the dropped-out input). The norm is detached from the
// gradient (paper §4.3; PEFT's weight_norm.detach()): m gets a gradient through k, A and B only
// through B(A(x̃)).
//
// PEFT saves m as "<module>.lora_magnitude_vector" [out] (its ".default.weight" dropped) and
// counts it in print_trainable_parameters. Merging gives W' itself (bias unchanged); the merged
// weight keeps no record of ‖W + s·B·A‖, so a DoRA merge cannot be undone (PEFT caches the norm
// at merge time to unmerge). DoRA on Embedding modules is refused (Resolve), and llama.cpp's
// GGUF adapters have no DoRA form (gguf.WriteAdapter refuses it).

// MagnitudeName is the name of a DoRA module's magnitude vector [out], PEFT's key without
// "base_model.model.": "model.layers.0.self_attn.q_proj.lora_magnitude_vector".
func (m Module) MagnitudeName() string { return m.Name + ".lora_magnitude_vector" }

// baseWeightName is the name of the weight a Linear module multiplies by: "<module>.weight", or
// the embedding for lm_head of a model with tied embeddings (has tells which weights exist).
func baseWeightName(mc *llama.Config, module string, has func(string) bool) string {
	name := module + ".weight"
	if module == "lm_head" && mc.TieWordEmbeddings && !has(name) {
		return "model.embed_tokens.weight"
	}
	return name
}

// initMagnitudes sets every DoRA module's magnitude to ‖W + s·B·A‖ row by row, from the base
// weights (converted or dequantized to float32) and the adapter's initial A and B, as PEFT's
// DoraLinearLayer.update_layer does.
func (a *Adapter) initMagnitudes(base *llama.Model) error {
	has := func(n string) bool { _, ok := base.WeightShape(n); return ok }
	for _, m := range a.Plan.Modules {
		if !m.Dora {
			continue
		}
		name := baseWeightName(base.Config, m.Name, has)
		w, err := base.WeightFloat32(name)
		if err != nil {
			return fmt.Errorf("use_dora: base weight %q of %s: %w", name, m.Name, err)
		}
		if got := w.Shape().Dimensions; len(got) != 2 || got[0] != m.Out || got[1] != m.In {
			return fmt.Errorf("use_dora: base weight %q has shape %v, %s needs [%d %d]", name, got, m.Name, m.Out, m.In)
		}
		mag := make([]float32, m.Out)
		tensors.MustMutableFlatData(w, func(W []float32) {
			a.addDelta(m, W, 1)
			for o := range mag {
				mag[o] = float32(rowNorm(W[o*m.In : (o+1)*m.In]))
			}
		})
		a.Tensors[m.MagnitudeName()] = tensors.FromFlatDataAndDimensions(mag, m.Out)
	}
	return nil
}

// rowNorm is the L2 norm of v, accumulated in float64.
func rowNorm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// mergeDora turns W [out, in] (float32) into the merged DoRA weight (m / ‖W + s·B·A‖) ⊙ (W + s·B·A),
// as PEFT's DoraLinearVariant.merge_safe: the delta added, then every row rescaled.
func (a *Adapter) mergeDora(mod Module, W []float32) {
	a.addDelta(mod, W, 1)
	mag := tensors.MustCopyFlatData[float32](a.Tensors[mod.MagnitudeName()])
	for o := 0; o < mod.Out; o++ {
		row := W[o*mod.In : (o+1)*mod.In]
		k := float32(float64(mag[o]) / rowNorm(row))
		for i := range row {
			row[i] *= k
		}
	}
}

// doraDelta returns what DoRA adds to the base output y of module m: (k − 1)·base + k·u, with
// u = s·B(A(x̃)) [N, out] the LoRA term already computed, x̃ [N, in] the LoRA input, and
// dropped telling whether dropout acted on it (then base = x̃·Wᵀ, else y − bias).
func (b *Bound) doraDelta(m Module, xt, y, u *Node, dropped bool) *Node {
	has := func(n string) bool { _, ok := b.W[n]; return ok }
	W := b.W.LinearWeight(baseWeightName(b.Plan.Model, m.Name, has)) // float32 [out, in]
	// ‖W + s·B·A‖ per output row, detached (paper §4.3; PEFT: lora_weight.detach(), weight_norm.detach()).
	ba := DotGeneral(b.get(m.BName()), []int{1}, nil, b.get(m.AName()), []int{0}, nil) // [out, in]
	v := Add(W, MulScalar(ba, m.Scaling))
	norm := StopGradient(Sqrt(ReduceSum(Square(v), 1))) // [out]
	k := InsertAxes(Div(b.param(m.MagnitudeName()), norm), 0)
	var base *Node
	if dropped {
		base = DotGeneral(xt, []int{1}, nil, StopGradient(W), []int{1}, nil) // [N, out]
	} else {
		base = y
		if y.Rank() != 2 {
			base = Reshape(y, -1, y.Shape().Dimensions[y.Rank()-1])
		}
		if bias, ok := b.W[m.Name+".bias"]; ok && bias != nil { // PEFT: base_result - base_layer.bias
			base = Sub(base, InsertAxes(ConvertDType(bias, base.DType()), 0))
		}
	}
	return Add(Mul(AddScalar(k, -1), base), Mul(k, u))
}

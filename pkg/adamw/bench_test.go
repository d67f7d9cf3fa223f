package adamw

import (
	"fmt"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
)

// loraShapes are the LoRA parameters of ../shared/reference/torch_lora_ref.py: hidden 256,
// intermediate 688, 4 layers, r = 16 on all seven projections (312,320 trainable values).
func loraShapes() map[string][]int {
	const hidden, inter, layers, r = 256, 688, 4, 16
	out := map[string][]int{}
	proj := map[string][2]int{ // in, out
		"self_attn.q_proj": {hidden, hidden}, "self_attn.k_proj": {hidden, hidden},
		"self_attn.v_proj": {hidden, hidden}, "self_attn.o_proj": {hidden, hidden},
		"mlp.gate_proj": {hidden, inter}, "mlp.up_proj": {hidden, inter}, "mlp.down_proj": {inter, hidden},
	}
	for l := range layers {
		for name, io := range proj {
			prefix := fmt.Sprintf("base_model.model.model.layers.%d.%s", l, name)
			out[prefix+".lora_A.weight"] = []int{r, io[0]}
			out[prefix+".lora_B.weight"] = []int{io[1], r}
		}
	}
	return out
}

// BenchmarkOptimizerStep times one Optimizer.Step (clip + AdamW, weight decay 0.01) over the
// LoRA parameters of the speed reference model, on the default backend.
func BenchmarkOptimizerStep(b *testing.B) {
	shapes := loraShapes()
	params := map[string]*tensors.Tensor{}
	grads := map[string]*tensors.Tensor{}
	total := 0
	for name, dims := range shapes {
		n := dims[0] * dims[1]
		total += n
		p, g := make([]float32, n), make([]float32, n)
		for i := range p {
			p[i] = float32(i%97) * 1e-3
			g[i] = float32(i%89-44) * 1e-4
		}
		params[name] = tensors.FromFlatDataAndDimensions(p, dims...)
		grads[name] = tensors.FromFlatDataAndDimensions(g, dims...)
	}
	cfg := DefaultConfig()
	cfg.LearningRate, cfg.WeightDecay = 2e-4, 0.01
	opt, err := New(testBackend(b), cfg)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := opt.Step(params, grads, 2e-4); err != nil { // compile outside the timing
		b.Fatal(err)
	}
	b.ReportMetric(float64(total), "params")
	b.ResetTimer()
	for b.Loop() {
		if _, err := opt.Step(params, grads, 2e-4); err != nil {
			b.Fatal(err)
		}
	}
}

package lora

import (
	"syscall"
	"testing"
	"time"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/llama"
)

// BenchmarkTrainStepRefShape measures forward + loss + gradients w.r.t. the LoRA tensors (no
// optimizer) at the torch peer's shape (../shared/reference/torch_lora_ref.py defaults: hidden
// 256, 4 layers, 8 heads, intermediate 688, vocab 4096, batch 8 × seq 256, r 16 on all seven
// projections, dropout 0.05, half the labels masked).
func BenchmarkTrainStepRefShape(b *testing.B) {
	mc := llama.DefaultConfig(4096, 256, 688, 4, 8, 8)
	base, err := llama.NewRandomModel(mc, 1)
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.R, cfg.LoraAlpha, cfg.LoraDropout = 16, 32, 0.05
	cfg.TargetModules = TargetNames("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
	a, err := New(cfg, base, 1)
	if err != nil {
		b.Fatal(err)
	}
	baseNames, loraNames := base.ParamNames(), a.Names()
	e := MustNewExec(backend.MustDefault(), func(in []*Node) []*Node {
		w := llama.Weights{}
		for i, n := range baseNames {
			w[n] = in[i]
		}
		var trainable []*Node
		for i, n := range loraNames {
			w[n] = in[len(baseNames)+i]
			trainable = append(trainable, w[n])
		}
		ids, labels := in[len(in)-2], in[len(in)-1]
		ad := BindTraining(a.Plan, w, RNGStateFromSeedForGraph(ids.Graph(), 1))
		sum, count := llama.CausalLMLoss(llama.Forward(mc, w, ad, ids, nil, nil), labels)
		loss := Div(sum, count)
		return append([]*Node{loss}, Gradient(loss, trainable...)...)
	})
	const B, T = 8, 256
	ids := make([]int32, B*T)
	labels := make([]int32, B*T)
	for i := range ids {
		ids[i] = int32((i * 7919) % mc.VocabSize)
		labels[i] = ids[i]
		if i%T < T/2 {
			labels[i] = -100
		}
	}
	var args []any
	for _, n := range baseNames {
		args = append(args, base.Weights[n])
	}
	for _, n := range loraNames {
		args = append(args, a.Tensors[n])
	}
	args = append(args, tensors.FromFlatDataAndDimensions(ids, B, T), tensors.FromFlatDataAndDimensions(labels, B, T))
	e.MustCall(args...) // compile
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for range b.N {
		e.MustCall(args...)
	}
	b.ReportMetric(float64(B*T*b.N)/time.Since(start).Seconds(), "tokens/s")
	// CPU seconds per op: steadier than wall time on a shared machine (2 cores: ideal is wall·2).
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu_s/op")
}

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

package train_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/bench"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/lora"
	"github.com/loralab/loralab/pkg/train"
)

// BenchmarkDoRAStep compares one trainer step (forward, backward, AdamW) of plain LoRA and DoRA
// on the project's tiny base (datasets/tiny_base), r=16 on all seven projections, batches of
// 8×128 tokens, without and with lora_dropout (with dropout DoRA recomputes the base output on
// the dropped-out input: one more matmul per module). It reports CPU seconds per step.
func BenchmarkDoRAStep(b *testing.B) {
	base, err := llama.LoadModel(filepath.Join("..", "..", "datasets", "tiny_base"))
	if err != nil {
		b.Fatal(err)
	}
	const B, T = 8, 128
	batches := train.RandomBatches(4, B, T, base.Config.VocabSize)
	for _, tc := range []struct {
		name    string
		dora    bool
		dropout float64
	}{{"lora", false, 0}, {"dora", true, 0}, {"lora_dropout0.1", false, 0.1}, {"dora_dropout0.1", true, 0.1}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := lora.DefaultConfig()
			cfg.R, cfg.LoraAlpha, cfg.LoraDropout, cfg.UseDora = 16, 32, tc.dropout, tc.dora
			cfg.TargetModules = lora.TargetNames("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
			ad, err := lora.New(cfg, base, 1)
			if err != nil {
				b.Fatal(err)
			}
			args := train.DefaultArgs()
			args.MaxSteps, args.LRSchedulerType, args.DisableTQDM = 1<<30, "constant", true
			args.LoggingSteps, args.EvalSteps, args.SaveSteps = 0, 0, 0
			tr, err := train.New(backend.MustDefault(), train.LoRAModel(base, ad), args, &train.BatchLoader{Batches: batches}, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := tr.TrainSteps(1); err != nil { // compile outside the timing
				b.Fatal(err)
			}
			b.ResetTimer()
			start, cpu0 := time.Now(), bench.ProcessCPU()
			if err := tr.TrainSteps(b.N); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(B*T*b.N)/time.Since(start).Seconds(), "tokens/s")
			b.ReportMetric((bench.ProcessCPU()-cpu0).Seconds()/float64(b.N), "cpu_s/op")
		})
	}
}

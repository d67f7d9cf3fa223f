package main

import (
	"math/rand/v2"
	"testing"

	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/train"
)

// BenchmarkPretrainStep measures full-parameter training tokens/s of the tiny model's shape
// (batches of 8×256 random tokens) through pkg/train, as the pretraining run trains.
func BenchmarkPretrainStep(b *testing.B) {
	cfg := llama.DefaultConfig(4096, 192, 512, 4, 6, 6)
	model, err := llama.NewRandomModel(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([][]int32, 8*4)
	for i := range rows {
		rows[i] = make([]int32, 256)
		for j := range rows[i] {
			rows[i][j] = int32(rng.IntN(cfg.VocabSize))
		}
	}
	o := options{lr: 1e-3, steps: 1 << 30, warmup: 10, minLRRate: 0.1, evalEvery: 0, batch: 8}
	args := o.args()
	args.DisableTQDM = true
	tr, err := train.New(backend.MustDefault(), train.FullModel(model), args, &train.BatchLoader{Batches: lmBatches(rows, 8)}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := tr.TrainSteps(1); err != nil { // compile
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if err := tr.TrainSteps(1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*8*256)/b.Elapsed().Seconds(), "tokens/s")
}

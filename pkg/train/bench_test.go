package train

import (
	"math/rand/v2"
	"testing"

	"github.com/loralab/loralab/pkg/mask"
)

// BenchmarkToyTrainStep measures the fused training step (forward, backward, AdamW) of a
// ToyLM of vocab 512, width 128 on batches of 8×128 tokens; it reports tokens/s.
func BenchmarkToyTrainStep(b *testing.B) {
	for _, acc := range []int{1, 2} {
		b.Run(map[int]string{1: "accumulation=1", 2: "accumulation=2"}[acc], func(b *testing.B) {
			const V, D, B, T = 512, 128, 8, 128
			batches := randomBatches(4, B, T, V)
			args := toyArgs()
			args.GradientAccumulationSteps = acc
			args.MaxSteps = 1 << 30
			args.LRSchedulerType = "constant"
			tr, err := New(testBackend(b), ToyLM(ToyLMConfig{Vocab: V, Dim: D, Seed: 1}), args, &BatchLoader{Batches: batches}, nil)
			if err != nil {
				b.Fatal(err)
			}
			tr.totalSteps = 1 // compile outside the timer
			if err := tr.Train(); err != nil {
				b.Fatal(err)
			}
			tr.totalSteps = 1 << 30
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tr.totalSteps = tr.step + 1
				if err := tr.Train(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*acc*B*T)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// randomBatches returns n batches of b rows of t uniform random token ids below vocab (seed 1,
// 2), every token supervised: the benchmarks' input.
func randomBatches(n, b, t, vocab int) []mask.Batch {
	r := rand.New(rand.NewPCG(1, 2))
	batches := make([]mask.Batch, n)
	for k := range batches {
		for range b {
			ids, lab := make([]int32, t), make([]int32, t)
			for i := range ids {
				ids[i] = int32(r.IntN(vocab))
				lab[i] = ids[i]
			}
			batches[k].InputIDs, batches[k].Labels = append(batches[k].InputIDs, ids), append(batches[k].Labels, lab)
		}
	}
	return batches
}

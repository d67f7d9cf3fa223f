package main

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/loralab/loralab/pkg/adamw"
	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/llama"
)

// BenchmarkPretrainStep measures full-parameter training tokens/s of the tiny model's shape.
func BenchmarkPretrainStep(b *testing.B) {
	cfg := llama.DefaultConfig(4096, 192, 512, 4, 6, 6)
	model, err := llama.NewRandomModel(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	opt := adamw.DefaultConfig()
	p, err := newPretrainer(backend.MustDefault(), model, opt)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	B, T := 8, 256
	rows := make([][]int32, B)
	for i := range rows {
		rows[i] = make([]int32, T)
		for j := range rows[i] {
			rows[i][j] = int32(rng.IntN(4096))
		}
	}
	if _, _, err := p.trainStep(rows, 1e-3); err != nil { // compile
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, _, err := p.trainStep(rows, 1e-3); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*B*T)/time.Since(start).Seconds(), "tokens/s")
}

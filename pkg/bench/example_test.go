package bench_test

import (
	"fmt"

	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/bench"
)

// A LoRA training step on a small shape: the first Run compiles the fused graph, Measure times
// further steps the way the torch peer does (median step time).
func Example() {
	s := bench.DefaultShape()
	s.Vocab, s.Hidden, s.Layers, s.Heads, s.Inter, s.Seq, s.Batch, s.R = 64, 32, 1, 4, 48, 16, 2, 4
	st, err := bench.NewStep(backend.MustDefault(), s, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	tm, err := st.Measure(1, 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("tokens per step:", s.Tokens(), "timed steps:", tm.Steps, "positive speed:", tm.TokensPerSec > 0)
	// Output: tokens per step: 32 timed steps: 3 positive speed: true
}

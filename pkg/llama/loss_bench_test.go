package llama

import (
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/loralab/loralab/pkg/backend"
)

// BenchmarkTokenCrossEntropy measures the loss of a training step alone, forward and backward
// (the gradient of the mean loss with respect to the logits), at bench-small's [2048, 4096] with
// one row in four ignored. CPU milliseconds per call.
func BenchmarkTokenCrossEntropy(b *testing.B) {
	be := backend.MustDefault()
	const N, V = 2048, 4096
	logits := NewFloat32Tensor(N, V)
	tensors.MustMutableFlatData(logits, func(f []float32) {
		for i := range f {
			f[i] = float32(i%17-8) * 0.3
		}
	})
	labels := make([]int32, N)
	for i := range labels {
		labels[i] = int32(i * 7 % V)
		if i%4 == 3 {
			labels[i] = -100
		}
	}
	lab := tensors.FromValue(labels)
	exec := MustNewExec(be, func(x, l *Node) []*Node {
		s, c := TokenCrossEntropy(x, l)
		loss := Div(s, c)
		return append([]*Node{loss}, Gradient(loss, x)...)
	})
	run := func() {
		for _, o := range exec.MustExec(logits, lab) {
			o.FinalizeAll()
		}
	}
	run()
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		run()
	}
	b.ReportMetric((cpuTime()-cpu0).Seconds()*1e3/float64(b.N), "cpu_ms/op")
}

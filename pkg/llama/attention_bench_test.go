package llama

import (
	"fmt"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/loralab/loralab/pkg/backend"
)

// BenchmarkAttention measures attention's forward and backward (the gradients of q, k and v)
// alone, as a training step runs it: the plain form (every score) and causalAttention (the
// blocks above the diagonal skipped), at issue 15's seq-512 shape (batch 4, 6 heads of 64) and
// the bench-small one (batch 8 × 256, 8 heads of 32). CPU milliseconds per call.
func BenchmarkAttention(b *testing.B) {
	be := backend.MustDefault()
	for _, sh := range []struct{ B, T, H, hd int }{{8, 256, 8, 32}, {4, 512, 6, 64}, {1, 2048, 8, 32}} {
		q := NewFloat32Tensor(sh.B, sh.T, sh.H, sh.hd)
		tensors.MustMutableFlatData(q, func(f []float32) {
			for i := range f {
				f[i] = float32(i%13-6) * 0.05
			}
		})
		for _, form := range []struct {
			name string
			f    func(q, k, v, m *Node) *Node
		}{{"plain", attention}, {"causal-blocks", causalAttention}} {
			b.Run(fmt.Sprintf("B%d-T%d-H%d-hd%d/%s", sh.B, sh.T, sh.H, sh.hd, form.name), func(b *testing.B) {
				exec := MustNewExec(be, func(q *Node) []*Node {
					ids := Zeros(q.Graph(), shapes.Make(dtypes.Int32, sh.B, sh.T))
					m := Reshape(CausalMask(ids, nil), sh.B, 1, sh.T, 1, sh.T)
					k, v := MulScalar(q, 0.5), MulScalar(q, -0.25)
					out := form.f(q, k, v, m)
					loss := ReduceAllSum(Mul(out, out))
					return append([]*Node{loss}, Gradient(loss, q)...)
				})
				run := func() {
					for _, o := range exec.MustExec(q) {
						o.FinalizeAll()
					}
				}
				run() // compile
				b.ResetTimer()
				cpu0 := cpuTime()
				for range b.N {
					run()
				}
				b.ReportMetric((cpuTime()-cpu0).Seconds()*1e3/float64(b.N), "cpu_ms/op")
			})
		}
	}
}

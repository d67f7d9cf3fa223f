package llama

import (
	"fmt"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"

	"github.com/loralab/loralab/pkg/backend"
)

// BenchmarkDecodeMatVec is the minimal reproduction of KV-cache decoding's cost on the Go
// backend (pkg/bench/NOTES.md): one token's row x [1, in] times a frozen weight W [out, in]
// passed as a graph parameter, at the Qwen2.5-0.5B shapes (attention 896², MLP 4864×896 and
// 896×4864, the tied head 151936×896) and the tiny model's head (4096×256), as DotGenerals in
// both orientations and as rowTimesWeight's product and row sum (what linear uses). The
// backend's small-matrix kernel (no packing) is chosen only below 4M multiply-adds; above, its
// large kernel packs W on every call and fills 8 (x·Wᵀ) or 32 (W·xᵀ) register rows/columns of
// which one is used.
func BenchmarkDecodeMatVec(b *testing.B) {
	forms := []struct {
		name string
		f    func(x, w *Node) *Node
	}{
		{"x.Wt", func(x, w *Node) *Node { return DotGeneral(x, []int{1}, nil, w, []int{1}, nil) }},
		{"W.xt", func(x, w *Node) *Node {
			return Transpose(DotGeneral(w, []int{1}, nil, x, []int{1}, nil), 0, 1)
		}},
		{"mul+reduce", rowTimesWeight},
	}
	be := backend.MustDefault()
	for _, sh := range [][2]int{{896, 896}, {4096, 256}, {4864, 896}, {896, 4864}, {151936, 896}} {
		out, in := sh[0], sh[1]
		wt := NewFloat32Tensor(out, in)
		xt := NewFloat32Tensor(1, in)
		for _, form := range forms {
			b.Run(fmt.Sprintf("%dx%d/%s", out, in, form.name), func(b *testing.B) {
				exec := MustNewExec(be, func(x, w *Node) *Node { return form.f(x, w) })
				exec.MustExec(xt, wt)[0].FinalizeAll() // compile
				b.ResetTimer()
				cpu0 := cpuTime()
				for range b.N {
					exec.MustExec(xt, wt)[0].FinalizeAll()
				}
				b.ReportMetric((cpuTime()-cpu0).Seconds()*1e3/float64(b.N), "cpu_ms/op")
			})
		}
	}
}

package llama

import (
	"math"
	"path/filepath"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/safetensors"
)

// TestCausalLMLossGolden compares the loss on the golden logits with torch's
// F.cross_entropy(logits[:, :-1], labels[:, 1:], ignore_index=-100, reduction="sum").
func TestCausalLMLossGolden(t *testing.T) {
	for _, name := range []string{"llama_gqa", "llama_packed"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", name)
			var in struct {
				Labels [][]int32 `json:"labels"`
			}
			readJSONFile(t, filepath.Join(dir, "inputs.json"), &in)
			sf, err := safetensors.Open(filepath.Join(dir, "golden.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer sf.Close()
			logits, _ := sf.ReadFloat32("logits")
			wantSum, _ := sf.ReadFloat32("loss_sum")
			wantCount, _ := sf.ReadFloat32("loss_count")
			outs := MustExecOnceN(backend.MustDefault(), func(l, lab *Node) []*Node {
				s, c := CausalLMLoss(l, lab)
				return []*Node{s, c}
			}, logits, tensors.FromValue(in.Labels))
			gs, gc := tensors.ToScalar[float32](outs[0]), tensors.ToScalar[float32](outs[1])
			ws, wc := tensors.MustCopyFlatData[float32](wantSum)[0], tensors.MustCopyFlatData[float32](wantCount)[0]
			if gc != wc {
				t.Errorf("count %v, want %v", gc, wc)
			}
			if math.Abs(float64(gs-ws)) > 1e-5*math.Abs(float64(ws)) {
				t.Errorf("loss sum %v, want %v", gs, ws)
			}
		})
	}
}

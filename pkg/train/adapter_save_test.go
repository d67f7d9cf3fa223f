package train

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/lora"
)

// After training, the adapter given to LoRAModel (whose lora_B are still zero) cannot be
// saved; the trained copy can, and holds trained (non-zero) lora_B.
func TestUntrainedAdapterCannotBeSaved(t *testing.T) {
	base, err := llama.LoadModel(filepath.Join("..", "llama", "testdata", "llama_gqa"))
	if err != nil {
		t.Fatal(err)
	}
	ad, err := lora.New(lora.DefaultConfig(), base, 3)
	if err != nil {
		t.Fatal(err)
	}
	exs := patternExamples(8, base.Config.VocabSize, 1)
	args := toyArgs()
	args.LearningRate, args.MaxSteps = 1e-2, 2
	tr, err := New(testBackend(t), LoRAModel(base, ad), args, &ExampleLoader{Examples: exs, BatchSize: 4, PadToMultipleOf: 16}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	err = ad.Save(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "TrainedAdapter") {
		t.Fatalf("saving the adapter given to LoRAModel: error %v, want one pointing to TrainedAdapter", err)
	}
	trained, err := TrainedAdapter(tr, ad)
	if err != nil {
		t.Fatal(err)
	}
	if err := trained.Save(t.TempDir()); err != nil {
		t.Fatalf("saving the trained adapter: %v", err)
	}
	nonzero := false
	for n, x := range trained.Tensors {
		if strings.HasSuffix(n, "lora_B.weight") {
			for _, v := range f32(x) {
				nonzero = nonzero || v != 0
			}
		}
	}
	if !nonzero {
		t.Error("the trained adapter's lora_B are all zero")
	}
	if err := ad.Clone().Save(t.TempDir()); err != nil {
		t.Errorf("saving a clone of the initial adapter on purpose: %v", err)
	}
}

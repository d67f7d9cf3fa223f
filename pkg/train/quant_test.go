package train

import (
	"path/filepath"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/lora"
)

// QLoRA through the trainer: with an NF4 base (double quantization, bfloat16 embeddings) the
// frozen parameters are the quantized parts, the trainable ones the float32 LoRA tensors, and
// the eval loss falls.
func TestTrainQLoRA(t *testing.T) {
	base, err := llama.LoadModelWith(filepath.Join("..", "llama", "testdata", "llama_gqa"), llama.LoadOptions{TorchDtype: "bfloat16",
		QuantizationConfig: &llama.BitsAndBytesConfig{LoadIn4Bit: true, Bnb4BitUseDoubleQuant: true}})
	if err != nil {
		t.Fatal(err)
	}
	ad, err := lora.New(lora.DefaultConfig(), base, 3)
	if err != nil {
		t.Fatal(err)
	}
	model := LoRAModel(base, ad)
	if _, ok := model.Frozen["model.layers.0.self_attn.q_proj.weight.nf4"]; !ok {
		t.Fatalf("frozen parameters lack the NF4 codes of q_proj")
	}
	for n, p := range model.Trainable {
		if p.DType() != dtypes.Float32 {
			t.Errorf("trainable %s has dtype %s", n, p.DType())
		}
	}
	args := toyArgs()
	args.LearningRate, args.MaxSteps = 1e-2, 40
	mustLearn(t, "QLoRA", model, base.Config.VocabSize, args)
}

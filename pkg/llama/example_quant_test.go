package llama_test

import (
	"fmt"
	"path/filepath"

	"github.com/loralab/loralab/pkg/llama"
)

// Load a base as QLoRA does: decoder Linear weights in NF4 (blocks of 64, double quantization),
// everything else in bfloat16.
func ExampleLoadModelWith() {
	m, err := llama.LoadModelWith(filepath.Join("testdata", "llama_gqa"), llama.LoadOptions{
		TorchDtype: "bfloat16",
		QuantizationConfig: &llama.BitsAndBytesConfig{LoadIn4Bit: true, Bnb4BitQuantType: "nf4",
			Bnb4BitUseDoubleQuant: true},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var bytes int64
	for _, nt := range m.Tensors() {
		bytes += int64(nt.Tensor.Shape().Memory())
	}
	fmt.Println("q_proj quantized:", m.IsQuantized("model.layers.0.self_attn.q_proj.weight"))
	fmt.Println("lm_head quantized:", m.IsQuantized("lm_head.weight"))
	fmt.Printf("%d parameters in %d bytes (float32: %d)\n", m.Config.NumParams(), bytes, 4*m.Config.NumParams())
	// Output:
	// q_proj quantized: true
	// lm_head quantized: false
	// 74176 parameters in 59888 bytes (float32: 296704)
}

package lora

import (
	"strings"
	"testing"

	"github.com/loralab/loralab/pkg/llama"
)

// Qwen3's print(model) names its classes and shows the per-head q_norm/k_norm after o_proj,
// as transformers' Qwen3Attention registers them.
func TestStructureQwen3(t *testing.T) {
	mc := llama.DefaultConfig(100, 32, 64, 2, 4, 2)
	mc.ModelType, mc.Architectures, mc.HeadDim = "qwen3", []string{"Qwen3ForCausalLM"}, 16
	s := Structure(mc, nil)
	pad := strings.Repeat(" ", 10)
	want := "\n" + pad + "(o_proj): Linear(in_features=64, out_features=32, bias=False)\n" +
		pad + "(q_norm): Qwen3RMSNorm((16,), eps=1e-06)\n" +
		pad + "(k_norm): Qwen3RMSNorm((16,), eps=1e-06)\n" + pad[:8] + ")\n"
	if !strings.HasPrefix(s, "Qwen3ForCausalLM(\n  (model): Qwen3Model(") || !strings.Contains(s, want) {
		t.Errorf("structure:\n%s", s)
	}
}

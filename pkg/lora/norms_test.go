package lora

import (
	"strings"
	"testing"

	"github.com/loralab/loralab/pkg/llama"
)

// RMSNorm and rotary modules are not Linear layers: as target_modules they are refused (PEFT
// 0.21.2 raises "Target module LlamaRMSNorm(...) is not supported" from LoraModel
// _create_new_module); RMSNorm weights can be trained as modules_to_save (PEFT wraps any module
// in ModulesToSaveWrapper, matching names with a plain endswith, so "norm" names every norm);
// the rotary embedding has no weights to save.
func TestNormsAndRotary(t *testing.T) {
	mc := llama.DefaultConfig(100, 16, 32, 3, 4, 2)
	for _, tc := range []struct{ target, want string }{
		{"input_layernorm", "target module model.layers.0.input_layernorm (RMSNorm) is not supported"},
		{"norm", "target module model.norm (RMSNorm) is not supported"},
		{"rotary_emb", "target module model.rotary_emb (RotaryEmbedding) is not supported"},
	} {
		cfg := DefaultConfig()
		cfg.TargetModules = TargetNames(tc.target)
		if _, err := cfg.Resolve(mc); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("target_modules=[%q]: error %v, want one containing %q", tc.target, err, tc.want)
		}
	}
	base := DefaultConfig()
	plain, err := base.Resolve(mc)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		save  []string
		norms int
	}{
		{[]string{"input_layernorm", "post_attention_layernorm", "norm"}, 2*3 + 1},
		{[]string{"norm"}, 2*3 + 1}, // endswith: input_layernorm, post_attention_layernorm and model.norm
		{[]string{"model.norm"}, 1},
	} {
		cfg := base
		cfg.ModulesToSave = tc.save
		plan, err := cfg.Resolve(mc)
		if err != nil {
			t.Fatalf("modules_to_save=%q: %v", tc.save, err)
		}
		if len(plan.ModulesToSave) != tc.norms {
			t.Errorf("modules_to_save=%q: %d copies, want %d", tc.save, len(plan.ModulesToSave), tc.norms)
		}
		c, p := plan.Count(), plain.Count()
		extra := int64(tc.norms * mc.HiddenSize)
		if c.Trainable != p.Trainable+extra || c.All != p.All+extra {
			t.Errorf("modules_to_save=%q: %s, want %d more trainable and all params than %s", tc.save, c, extra, p)
		}
		m, err := llama.NewRandomModel(mc, 1)
		if err != nil {
			t.Fatal(err)
		}
		a, err := New(cfg, m, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Tensors["model.norm.weight"]; got == nil {
			t.Errorf("modules_to_save=%q: adapter has no copy of model.norm.weight", tc.save)
		}
	}
	cfg := base
	cfg.ModulesToSave = []string{"rotary_emb"}
	if _, err := cfg.Resolve(mc); err == nil || !strings.Contains(err.Error(), `"rotary_emb" matched no Linear, Embedding or RMSNorm module`) {
		t.Errorf("modules_to_save=[rotary_emb]: error %v", err)
	}
}

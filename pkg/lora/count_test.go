package lora

import (
	"strings"
	"testing"

	"github.com/loralab/loralab/pkg/llama"
)

func deepseek7B() *llama.Config {
	c := llama.DefaultConfig(102400, 4096, 11008, 30, 32, 32)
	c.MaxPositionEmbeddings = 4096
	return c
}

func TestCountDeepSeek7B(t *testing.T) {
	all7 := TargetNames("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
	for _, tc := range []struct {
		name    string
		targets Targets
		r       int
		want    string
	}{
		{"r16 all seven", all7, 16, "trainable params: 37,478,400 || all params: 6,947,844,096 || trainable%: 0.5394"},
		{"all-linear is the same", AllLinear, 16, "trainable params: 37,478,400 || all params: 6,947,844,096 || trainable%: 0.5394"},
		// q_proj,v_proj default at r=8: 30 layers · 2 · 8 · (4096+4096) = 3,932,160.
		{"default targets r8", Targets{}, 8, "trainable params: 3,932,160 || all params: 6,914,297,856 || trainable%: 0.0569"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.R = tc.r
			cfg.LoraAlpha = 32
			cfg.TargetModules = tc.targets
			plan, err := cfg.Resolve(deepseek7B())
			if err != nil {
				t.Fatal(err)
			}
			if got := plan.Count().String(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestCountModulesToSaveAndBias(t *testing.T) {
	mc := llama.DefaultConfig(100, 16, 32, 2, 4, 2)
	mc.ModelType, mc.Architectures = "qwen2", []string{"Qwen2ForCausalLM"}
	cfg := DefaultConfig()
	cfg.R = 2
	cfg.ModulesToSave = []string{"lm_head"}
	cfg.Bias = "lora_only"
	plan, err := cfg.Resolve(mc)
	if err != nil {
		t.Fatal(err)
	}
	// q_proj [16→16], v_proj [16→8] per layer: 2·(16+16) + 2·(16+8) = 112 per layer, 224 total.
	lora := int64(224)
	head := int64(100 * 16)
	bias := int64(2 * (16 + 8)) // q and v biases of both layers (k is not adapted)
	c := plan.Count()
	if c.Trainable != lora+head+bias {
		t.Errorf("trainable %d, want %d", c.Trainable, lora+head+bias)
	}
	if c.All != mc.NumParams()+lora+head {
		t.Errorf("all %d, want %d", c.All, mc.NumParams()+lora+head)
	}
}

func TestStructurePrint(t *testing.T) {
	cfg := DefaultConfig()
	cfg.R = 16
	cfg.TargetModules = AllLinear
	plan, err := cfg.Resolve(deepseek7B())
	if err != nil {
		t.Fatal(err)
	}
	base := Structure(deepseek7B(), nil)
	for _, want := range []string{
		"LlamaForCausalLM(\n  (model): LlamaModel(\n    (embed_tokens): Embedding(102400, 4096)\n    (layers): ModuleList(\n      (0-29): 30 x LlamaDecoderLayer(",
		"(q_proj): Linear(in_features=4096, out_features=4096, bias=False)",
		"(down_proj): Linear(in_features=11008, out_features=4096, bias=False)",
		"(input_layernorm): LlamaRMSNorm((4096,), eps=1e-06)",
		"  (lm_head): Linear(in_features=4096, out_features=102400, bias=False)\n)",
	} {
		if !strings.Contains(base, want) {
			t.Errorf("base print lacks %q:\n%s", want, base)
		}
	}
	peft := Structure(deepseek7B(), plan)
	for _, want := range []string{
		"PeftModelForCausalLM(\n  (base_model): LoraModel(\n    (model): LlamaForCausalLM(",
		"(q_proj): lora.Linear(\n                (base_layer): Linear(in_features=4096, out_features=4096, bias=False)",
		"(default): Linear(in_features=4096, out_features=16, bias=False)",
		"(0-29): 30 x LlamaDecoderLayer(",
	} {
		if !strings.Contains(peft, want) {
			t.Errorf("peft print lacks %q:\n%s", want, peft)
		}
	}
	// layers_to_transform breaks the run of identical layers (PEFT takes it with a target list only).
	cfg.TargetModules = TargetNames("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
	cfg.LayersToTransform = Layers{0}
	plan, err = cfg.Resolve(deepseek7B())
	if err != nil {
		t.Fatal(err)
	}
	if s := Structure(deepseek7B(), plan); !strings.Contains(s, "(0): LlamaDecoderLayer(") || !strings.Contains(s, "(1-29): 29 x LlamaDecoderLayer(") {
		t.Errorf("layers_to_transform=[0] print does not split the layers:\n%s", s)
	}
}

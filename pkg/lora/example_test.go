package lora_test

import (
	"fmt"

	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/lora"
)

// PEFT's print_trainable_parameters line for deepseek-llm-7b with r=16 on all seven projections,
// from the configs alone.
func ExamplePlan_Count() {
	model := llama.DefaultConfig(102400, 4096, 11008, 30, 32, 32)
	cfg := lora.DefaultConfig()
	cfg.R, cfg.LoraAlpha = 16, 32
	cfg.TargetModules = lora.TargetNames("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
	plan, err := cfg.Resolve(model)
	if err != nil {
		panic(err)
	}
	fmt.Println(plan.Count())
	// Output: trainable params: 37,478,400 || all params: 6,947,844,096 || trainable%: 0.5394
}

// A target that matches nothing names the modules that exist.
func ExampleConfig_Resolve() {
	cfg := lora.DefaultConfig()
	cfg.TargetModules = lora.TargetNames("c_attn")
	_, err := cfg.Resolve(llama.DefaultConfig(100, 16, 32, 1, 2, 2))
	fmt.Println(err)
	// Output: target_modules ["c_attn"] matched no module of the model; modules that exist: model, embed_tokens, layers, self_attn, q_proj, k_proj, v_proj, o_proj, mlp, gate_proj, up_proj, down_proj, act_fn, input_layernorm, post_attention_layernorm, norm, rotary_emb, lm_head
}

// DoRA (use_dora): the same deepseek-llm-7b adapter with one trained magnitude per output
// feature of each adapted module on top of A and B — PEFT's line for LoraConfig(r=16,
// lora_alpha=32, target_modules=<all seven>, use_dora=True).
func ExamplePlan_Count_dora() {
	model := llama.DefaultConfig(102400, 4096, 11008, 30, 32, 32)
	cfg := lora.DefaultConfig()
	cfg.R, cfg.LoraAlpha, cfg.UseDora = 16, 32, true
	cfg.TargetModules = lora.TargetNames("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
	plan, err := cfg.Resolve(model)
	if err != nil {
		panic(err)
	}
	fmt.Println(plan.Count())
	// Output: trainable params: 38,753,280 || all params: 6,949,118,976 || trainable%: 0.5577
}

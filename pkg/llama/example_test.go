package llama_test

import (
	"fmt"

	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/llama"
)

// The parameter count of deepseek-llm-7b, from its config alone.
func ExampleConfig_NumParams() {
	cfg, err := llama.ParseConfig([]byte(`{"architectures": ["LlamaForCausalLM"], "model_type": "llama",
		"vocab_size": 102400, "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 30,
		"num_attention_heads": 32, "num_key_value_heads": 32, "rms_norm_eps": 1e-06, "max_position_embeddings": 4096}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.NumParams(), cfg.ParamSpecs()[1].Name)
	// Output: 6910365696 model.layers.0.self_attn.q_proj.weight
}

// Greedy generation with the KV cache on a small random model.
func ExampleRunner_Generate() {
	cfg := llama.DefaultConfig(64, 32, 64, 2, 4, 2)
	m, err := llama.NewRandomModel(cfg, 1)
	if err != nil {
		panic(err)
	}
	r, err := llama.NewRunner(backend.MustDefault(), m, nil)
	if err != nil {
		panic(err)
	}
	g, err := r.Generate([]int{1, 10, 20}, llama.GenerateOptions{MaxNewTokens: 5, EOSTokenIDs: []int{}})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(g.Tokens), g.StopReason)
	// Output: 5 max_new_tokens
}

package llama

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/backend"
)

// TestArchitecturesGolden compares the forward pass of Qwen3, Mistral and the rope_scaling
// types with the plain-torch reference (testdata/gen_golden.py).
func TestArchitecturesGolden(t *testing.T) {
	b := backend.MustDefault()
	for _, tc := range []struct {
		dir     string
		check   func(c *Config) bool
		windows []int // per layer
	}{
		{"qwen3_qknorm", func(c *Config) bool {
			return c.IsQwen3() && c.HeadDimension() == 16 && c.HiddenSize/c.NumAttentionHeads == 12
		}, []int{0, 0}},
		{"llama3_rope", func(c *Config) bool { return c.RopeScaling.Kind() == "llama3" }, []int{0, 0}},
		{"llama_yarn", func(c *Config) bool { return c.RopeScaling.Kind() == "yarn" }, []int{0, 0}},
		{"llama_dynamic", func(c *Config) bool { return c.RopeScaling.Kind() == "dynamic" }, []int{0, 0}},
		{"mistral_window", func(c *Config) bool { return c.IsMistral() }, []int{4, 4}},
		{"qwen3_window", func(c *Config) bool { return c.IsQwen3() && c.UseSlidingWindow }, []int{0, 5}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			dir := filepath.Join("testdata", tc.dir)
			m, err := LoadModel(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(m.Config) {
				t.Fatalf("config not parsed as expected: %+v", m.Config)
			}
			for l, want := range tc.windows {
				if got := m.Config.LayerSlidingWindow(l); got != want {
					t.Errorf("layer %d: sliding window %d, want %d", l, got, want)
				}
			}
			if len(m.Unused) != 0 {
				t.Errorf("checkpoint tensors left unused: %v", m.Unused)
			}
			in, want, _ := readGolden(t, dir)
			r, err := NewRunner(b, m, nil)
			if err != nil {
				t.Fatal(err)
			}
			out, err := r.Logits(in.InputIDs, in.PositionIDs, in.SegmentIDs)
			if err != nil {
				t.Fatal(err)
			}
			got := tensors.MustCopyFlatData[float32](out)
			if len(got) != len(want) {
				t.Fatalf("%d logits, want %d", len(got), len(want))
			}
			e := maxRelErr(got, want)
			t.Logf("max relative error %.3g", e)
			if e > 1e-4 {
				t.Errorf("logits differ from golden: max relative error %.3g > 1e-4", e)
			}
		})
	}
}

// TestSlidingWindowGeneration: greedy generation with the KV cache equals recomputing the
// whole sequence each step, with the window applied at absolute cache positions.
func TestSlidingWindowGeneration(t *testing.T) {
	m, err := LoadModel(filepath.Join("testdata", "mistral_window"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(backend.MustDefault(), m, nil)
	if err != nil {
		t.Fatal(err)
	}
	prompt := []int{3, 14, 15, 9, 26, 5, 35}
	opts := GenerateOptions{MaxNewTokens: 8, EOSTokenIDs: []int{}}
	cached, err := r.Generate(prompt, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.NoCache = true
	plain, err := r.Generate(prompt, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(cached.Tokens) != 8 || len(plain.Tokens) != 8 {
		t.Fatalf("generated %d tokens", len(cached.Tokens))
	}
	for i := range plain.Tokens {
		if plain.Tokens[i] != cached.Tokens[i] {
			t.Fatalf("KV-cache generation %v differs from recomputation %v", cached.Tokens, plain.Tokens)
		}
	}
}

// Real configs (facts from the checkpoints' config.json files) load; the ones we refuse say
// which field and what to do.
func TestConfigsOfRealCheckpoints(t *testing.T) {
	ok := map[string]string{
		"DeepSeek-R1-Distill-Qwen-1.5B": `{"architectures":["Qwen2ForCausalLM"],"attention_dropout":0.0,"bos_token_id":151643,"eos_token_id":151643,"hidden_act":"silu","hidden_size":1536,"initializer_range":0.02,"intermediate_size":8960,"max_position_embeddings":131072,"max_window_layers":21,"model_type":"qwen2","num_attention_heads":12,"num_hidden_layers":28,"num_key_value_heads":2,"rms_norm_eps":1e-06,"rope_theta":10000,"sliding_window":4096,"tie_word_embeddings":false,"torch_dtype":"bfloat16","use_cache":true,"use_mrope":false,"use_sliding_window":false,"vocab_size":151936}`,
		"DeepSeek-R1-Distill-Llama-8B":  `{"architectures":["LlamaForCausalLM"],"attention_bias":false,"attention_dropout":0.0,"bos_token_id":128000,"eos_token_id":128001,"hidden_act":"silu","hidden_size":4096,"initializer_range":0.02,"intermediate_size":14336,"max_position_embeddings":131072,"mlp_bias":false,"model_type":"llama","num_attention_heads":32,"num_hidden_layers":32,"num_key_value_heads":8,"pretraining_tp":1,"rms_norm_eps":1e-05,"rope_scaling":{"factor":8.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"},"rope_theta":500000.0,"tie_word_embeddings":false,"torch_dtype":"bfloat16","use_cache":true,"vocab_size":128256}`,
		"Qwen3-0.6B":                    `{"architectures":["Qwen3ForCausalLM"],"attention_bias":false,"attention_dropout":0.0,"bos_token_id":151643,"eos_token_id":151645,"head_dim":128,"hidden_act":"silu","hidden_size":1024,"initializer_range":0.02,"intermediate_size":3072,"max_position_embeddings":40960,"max_window_layers":28,"model_type":"qwen3","num_attention_heads":16,"num_hidden_layers":28,"num_key_value_heads":8,"rms_norm_eps":1e-06,"rope_scaling":null,"rope_theta":1000000,"sliding_window":null,"tie_word_embeddings":true,"torch_dtype":"bfloat16","use_cache":true,"use_sliding_window":false,"vocab_size":151936}`,
		"Qwen3 with YaRN":               `{"architectures":["Qwen3ForCausalLM"],"head_dim":128,"hidden_size":1024,"intermediate_size":3072,"max_position_embeddings":40960,"model_type":"qwen3","num_attention_heads":16,"num_hidden_layers":28,"num_key_value_heads":8,"rope_scaling":{"rope_type":"yarn","factor":4.0,"original_max_position_embeddings":32768},"vocab_size":151936}`,
		"Mistral-7B-v0.1":               `{"architectures":["MistralForCausalLM"],"bos_token_id":1,"eos_token_id":2,"hidden_act":"silu","hidden_size":4096,"intermediate_size":14336,"max_position_embeddings":32768,"model_type":"mistral","num_attention_heads":32,"num_hidden_layers":32,"num_key_value_heads":8,"rms_norm_eps":1e-05,"rope_theta":10000.0,"sliding_window":4096,"tie_word_embeddings":false,"torch_dtype":"bfloat16","vocab_size":32000}`,
	}
	for name, js := range ok {
		if _, err := ParseConfig([]byte(js)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	c, _ := ParseConfig([]byte(ok["Qwen3-0.6B"]))
	if c.HeadDimension() != 128 || c.NumParams() != 596049920 {
		t.Errorf("Qwen3-0.6B: head_dim %d, %d params (want 128 and 596,049,920 as PyTorch counts)", c.HeadDimension(), c.NumParams())
	}
	refused := []struct{ js, want string }{
		{`{"architectures":["GemmaForCausalLM"],"model_type":"gemma","vocab_size":8,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":1}`, `architectures: "GemmaForCausalLM" is not supported`},
		{`{"model_type":"llama","vocab_size":8,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":1,"rope_scaling":{"rope_type":"longrope","factor":2}}`, `rope_scaling type "longrope" is not supported`},
		{`{"model_type":"llama","vocab_size":8,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":1,"rope_scaling":{"rope_type":"llama3","factor":8}}`, "rope_scaling llama3: needs original_max_position_embeddings"},
		{`{"model_type":"llama","vocab_size":8,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":1,"use_sliding_window":true,"sliding_window":4}`, "use_sliding_window=true is only defined for qwen2/qwen3"},
		{`{"model_type":"qwen2","vocab_size":8,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":1,"use_sliding_window":true}`, "needs a positive sliding_window"},
	}
	for _, tc := range refused {
		_, err := ParseConfig([]byte(tc.js))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %s: error %v, want one containing %q", tc.js, err, tc.want)
		}
	}
}

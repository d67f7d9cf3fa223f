// Package llama is the Llama-architecture causal language model (LlamaForCausalLM and the
// variants Qwen2ForCausalLM with q/k/v biases, Qwen3ForCausalLM with per-head q/k norms,
// MistralForCausalLM with a sliding window; DeepSeek-R1-Distill checkpoints are Qwen2 or
// Llama; see arch.go) on GoMLX: the HF config.json and generation_config.json, safetensors
// checkpoints with HF parameter names, a graph-building forward pass with an optional adapter
// hook (LoRA lives in package lora), the causal-LM loss, and KV-cache generation.
//
// The math follows HF transformers' modeling_llama.py: RMSNorm (x / sqrt(mean(x²)+eps) · w),
// rotary embeddings with rotate_half, grouped-query attention (query head h uses key/value head
// h / (num_attention_heads/num_key_value_heads)), SiLU-gated MLP, tied or separate lm_head.
package llama

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/loralab/loralab/pkg/atomicfile"
)

// RopeScaling is HF's rope_scaling block: "default" (none), "linear" (positions divided by
// Factor), "dynamic" (NTK), "llama3" and "yarn" (see arch.go).
type RopeScaling struct {
	Type     string  `json:"type,omitempty"`      // older spelling
	RopeType string  `json:"rope_type,omitempty"` // newer spelling
	Factor   float64 `json:"factor,omitempty"`
	// llama3 and yarn
	OriginalMaxPositionEmbeddings int     `json:"original_max_position_embeddings,omitempty"`
	LowFreqFactor                 float64 `json:"low_freq_factor,omitempty"`
	HighFreqFactor                float64 `json:"high_freq_factor,omitempty"`
	BetaFast                      float64 `json:"beta_fast,omitempty"`
	BetaSlow                      float64 `json:"beta_slow,omitempty"`
	AttentionFactor               float64 `json:"attention_factor,omitempty"`
	Mscale                        float64 `json:"mscale,omitempty"`
	MscaleAllDim                  float64 `json:"mscale_all_dim,omitempty"`
	Truncate                      *bool   `json:"truncate,omitempty"`
}

// Kind returns the scaling type, whichever spelling the file used.
func (r *RopeScaling) Kind() string {
	if r == nil {
		return "default"
	}
	if r.RopeType != "" {
		return r.RopeType
	}
	if r.Type != "" {
		return r.Type
	}
	return "default"
}

// TokenIDs holds a token id field that HF writes either as one integer or as a list.
type TokenIDs []int

// UnmarshalJSON accepts null, an integer or a list of integers.
func (t *TokenIDs) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		*t = nil
		return nil
	}
	if strings.HasPrefix(s, "[") {
		var l []int
		if err := json.Unmarshal(b, &l); err != nil {
			return err
		}
		*t = l
		return nil
	}
	var v int
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("token id: want an integer or a list, got %s", s)
	}
	*t = TokenIDs{v}
	return nil
}

// MarshalJSON writes a single id as an integer and several as a list.
func (t TokenIDs) MarshalJSON() ([]byte, error) {
	switch len(t) {
	case 0:
		return []byte("null"), nil
	case 1:
		return json.Marshal(t[0])
	}
	return json.Marshal([]int(t))
}

// Config is the subset of a HF config.json this package understands. Field names and JSON
// keys are HF's.
type Config struct {
	Architectures         []string     `json:"architectures,omitempty"`
	ModelType             string       `json:"model_type"` // "llama", "mistral", "qwen2" or "qwen3"
	VocabSize             int          `json:"vocab_size"`
	HiddenSize            int          `json:"hidden_size"`
	IntermediateSize      int          `json:"intermediate_size"`
	NumHiddenLayers       int          `json:"num_hidden_layers"`
	NumAttentionHeads     int          `json:"num_attention_heads"`
	NumKeyValueHeads      int          `json:"num_key_value_heads"` // 0 in the file means = NumAttentionHeads
	HeadDim               int          `json:"head_dim,omitempty"`  // 0 means HiddenSize / NumAttentionHeads
	HiddenAct             string       `json:"hidden_act"`
	RMSNormEps            float64      `json:"rms_norm_eps"`
	RopeTheta             float64      `json:"rope_theta"`
	RopeScaling           *RopeScaling `json:"rope_scaling"`
	MaxPositionEmbeddings int          `json:"max_position_embeddings"`
	TieWordEmbeddings     bool         `json:"tie_word_embeddings"`
	AttentionBias         bool         `json:"attention_bias"` // q/k/v/o biases (llama); qwen2 always has q/k/v biases
	MLPBias               bool         `json:"mlp_bias,omitempty"`
	BOSTokenID            TokenIDs     `json:"bos_token_id"`
	EOSTokenID            TokenIDs     `json:"eos_token_id"`
	PadTokenID            TokenIDs     `json:"pad_token_id,omitempty"`
	TorchDType            string       `json:"torch_dtype,omitempty"`
	UseSlidingWindow      bool         `json:"use_sliding_window,omitempty"`
	SlidingWindow         *int         `json:"sliding_window,omitempty"`    // mistral; qwen2/qwen3 with use_sliding_window
	MaxWindowLayers       int          `json:"max_window_layers,omitempty"` // qwen2/qwen3: layers below it attend fully
	PretrainingTP         int          `json:"pretraining_tp,omitempty"`

	// extra keeps every key of the parsed file, so that saving writes back what it read.
	extra map[string]json.RawMessage
}

// DefaultConfig returns the LlamaConfig defaults of HF transformers for a model of the given
// size (rms_norm_eps 1e-6, rope_theta 10000, silu, untied, bos 1, eos 2).
func DefaultConfig(vocab, hidden, intermediate, layers, heads, kvHeads int) *Config {
	return &Config{
		Architectures: []string{"LlamaForCausalLM"}, ModelType: "llama",
		VocabSize: vocab, HiddenSize: hidden, IntermediateSize: intermediate,
		NumHiddenLayers: layers, NumAttentionHeads: heads, NumKeyValueHeads: kvHeads,
		HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, MaxPositionEmbeddings: 2048,
		BOSTokenID: TokenIDs{1}, EOSTokenID: TokenIDs{2}, TorchDType: "float32",
	}
}

// ParseConfig parses and validates a HF config.json.
func ParseConfig(data []byte) (*Config, error) {
	c := &Config{RMSNormEps: 1e-6, RopeTheta: 10000, HiddenAct: "silu", MaxPositionEmbeddings: 2048}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	if err := json.Unmarshal(data, &c.extra); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	if _, ok := c.extra["dtype"]; ok && c.TorchDType == "" { // newer transformers write "dtype"
		_ = json.Unmarshal(c.extra["dtype"], &c.TorchDType)
	}
	if c.NumKeyValueHeads == 0 {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	return c, nil
}

// LoadConfig reads and validates a config.json file, or the config.json inside a directory.
func LoadConfig(path string) (*Config, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = path + "/config.json"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// IsQwen2 tells whether the model is the Qwen2 variant (q/k/v projections with bias).
func (c *Config) IsQwen2() bool {
	return c.ModelType == "qwen2" || slices.Contains(c.Architectures, "Qwen2ForCausalLM")
}

// HasQKVBias tells whether q_proj, k_proj and v_proj carry a bias.
func (c *Config) HasQKVBias() bool { return c.AttentionBias || c.IsQwen2() }

// HasOBias tells whether o_proj carries a bias (llama attention_bias; never in qwen2).
func (c *Config) HasOBias() bool { return c.AttentionBias && !c.IsQwen2() }

// HeadDimension is head_dim, or hidden_size / num_attention_heads when the file omits it.
func (c *Config) HeadDimension() int {
	if c.HeadDim > 0 {
		return c.HeadDim
	}
	if c.NumAttentionHeads == 0 {
		return 0
	}
	return c.HiddenSize / c.NumAttentionHeads
}

// Validate checks sizes and rejects features this package does not implement.
func (c *Config) Validate() error {
	if err := c.validateArchitecture(); err != nil {
		return err
	}
	pos := map[string]int{"vocab_size": c.VocabSize, "hidden_size": c.HiddenSize,
		"intermediate_size": c.IntermediateSize, "num_hidden_layers": c.NumHiddenLayers,
		"num_attention_heads": c.NumAttentionHeads, "num_key_value_heads": c.NumKeyValueHeads}
	for _, k := range []string{"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads"} {
		if pos[k] <= 0 {
			return fmt.Errorf("%s must be positive, got %d", k, pos[k])
		}
	}
	if c.HeadDim < 0 {
		return fmt.Errorf("head_dim must be positive (or absent), got %d", c.HeadDim)
	}
	if c.MaxPositionEmbeddings < 0 {
		return fmt.Errorf("max_position_embeddings must not be negative, got %d", c.MaxPositionEmbeddings)
	}
	if c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		return fmt.Errorf("num_attention_heads (%d) must be a multiple of num_key_value_heads (%d)", c.NumAttentionHeads, c.NumKeyValueHeads)
	}
	if c.HeadDim == 0 && c.HiddenSize%c.NumAttentionHeads != 0 {
		return fmt.Errorf("hidden_size (%d) must be a multiple of num_attention_heads (%d)", c.HiddenSize, c.NumAttentionHeads)
	}
	if c.HeadDimension()%2 != 0 {
		return fmt.Errorf("head dimension %d must be even for rotary embeddings", c.HeadDimension())
	}
	if c.HiddenAct != "silu" {
		return fmt.Errorf("hidden_act %q is not supported (only silu, the activation of every supported architecture)", c.HiddenAct)
	}
	if c.RMSNormEps <= 0 {
		return fmt.Errorf("rms_norm_eps must be positive, got %g", c.RMSNormEps)
	}
	if c.RopeTheta <= 0 {
		return fmt.Errorf("rope_theta must be positive, got %g", c.RopeTheta)
	}
	if err := c.validateRopeScaling(); err != nil {
		return err
	}
	if c.MLPBias {
		return fmt.Errorf("mlp_bias=true is not supported (no supported architecture has MLP biases); set it to false only if the checkpoint has no mlp.*.bias tensors")
	}
	if err := c.validateSlidingWindow(); err != nil {
		return err
	}
	if c.PretrainingTP > 1 {
		// The math is the same; HF only splits the matmuls. Accepted.
	}
	return nil
}

// MarshalJSON writes the config as HF does, keeping unknown keys of the file it came from.
func (c *Config) MarshalJSON() ([]byte, error) {
	type plain Config
	known, err := json.Marshal((*plain)(c))
	if err != nil {
		return nil, err
	}
	out := map[string]json.RawMessage{}
	for k, v := range c.extra {
		out[k] = v
	}
	var kv map[string]json.RawMessage
	if err := json.Unmarshal(known, &kv); err != nil {
		return nil, err
	}
	for k, v := range kv {
		out[k] = v
	}
	if _, ok := out["dtype"]; ok {
		out["dtype"] = kv["torch_dtype"]
	}
	return json.MarshalIndent(out, "", "  ")
}

// Save writes config.json into dir atomically.
func (c *Config) Save(dir string) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding config: %w", err)
	}
	return atomicfile.Write(dir+"/config.json", append(data, '\n'))
}

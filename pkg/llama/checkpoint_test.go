package llama

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/compute/dtypes/float16"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/safetensors"
)

func readJSONFile(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestParseConfig(t *testing.T) {
	base := `"vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2`
	for _, tc := range []struct {
		name, json, wantErr string
		check               func(*Config) bool
	}{
		{"defaults", `{` + base + `}`, "", func(c *Config) bool {
			return c.NumKeyValueHeads == 2 && c.RMSNormEps == 1e-6 && c.RopeTheta == 10000 && c.HeadDimension() == 4
		}},
		{"eos list", `{` + base + `, "eos_token_id": [2, 7], "bos_token_id": null}`, "", func(c *Config) bool {
			return len(c.EOSTokenID) == 2 && c.EOSTokenID[1] == 7 && c.BOSTokenID == nil
		}},
		{"qwen2 bias", `{` + base + `, "model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"]}`, "", func(c *Config) bool {
			return c.HasQKVBias() && !c.HasOBias()
		}},
		{"linear rope", `{` + base + `, "rope_scaling": {"rope_type": "linear", "factor": 4}}`, "", func(c *Config) bool {
			return c.RopeScaling.Kind() == "linear" && c.RopeScaling.Factor == 4
		}},
		{"dynamic rope", `{` + base + `, "rope_scaling": {"type": "dynamic", "factor": 2}}`, "", func(c *Config) bool {
			return c.RopeScaling.Kind() == "dynamic" && c.RopeScaling.Factor == 2
		}},
		{"longrope", `{` + base + `, "rope_scaling": {"type": "longrope", "factor": 2}}`, `rope_scaling type "longrope"`, nil},
		{"gelu", `{` + base + `, "hidden_act": "gelu"}`, `hidden_act "gelu"`, nil},
		{"mistral", `{` + base + `, "architectures": ["MistralForCausalLM"], "sliding_window": 4}`, "", func(c *Config) bool {
			return c.IsMistral() && c.LayerSlidingWindow(0) == 4
		}},
		{"gemma", `{` + base + `, "architectures": ["GemmaForCausalLM"]}`, `"GemmaForCausalLM" is not supported`, nil},
		{"bad kv heads", `{` + base + `, "num_key_value_heads": 3}`, "multiple of num_key_value_heads", nil},
		{"sliding window", `{` + base + `, "model_type": "qwen2", "use_sliding_window": true}`, "use_sliding_window", nil},
		{"no vocab", `{"hidden_size": 8}`, "vocab_size must be positive", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tc.json))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("parsed config not as expected: %+v", c)
			}
		})
	}
}

func TestConfigRoundTripKeepsUnknownKeys(t *testing.T) {
	c, err := LoadConfig(filepath.Join("testdata", "qwen2_bias_tied"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := c.Save(dir); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	readJSONFile(t, filepath.Join(dir, "config.json"), &m)
	if m["sliding_window"] != float64(4096) || m["tie_word_embeddings"] != true || m["model_type"] != "qwen2" {
		t.Errorf("saved config lost keys: %v", m)
	}
	c2, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c2.NumParams() != c.NumParams() || c2.RopeTheta != c.RopeTheta {
		t.Errorf("config changed in a round trip")
	}
}

func TestModelSaveLoadRoundTrip(t *testing.T) {
	for _, name := range []string{"llama_gqa", "qwen2_bias_tied", "llama_packed", "qwen3_window"} {
		t.Run(name, func(t *testing.T) {
			m, err := LoadModel(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := m.Save(dir); err != nil {
				t.Fatal(err)
			}
			back, err := LoadModel(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(back.Weights) != len(m.Weights) || len(back.Unused) != 0 {
				t.Fatalf("%d weights (%d unused) reloaded, want %d", len(back.Weights), len(back.Unused), len(m.Weights))
			}
			for n, w := range m.Weights {
				a, b := tensors.MustCopyFlatData[float32](w), tensors.MustCopyFlatData[float32](back.Weights[n])
				for i := range a {
					if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
						t.Fatalf("%s[%d]: %v reloaded as %v", n, i, a[i], b[i])
					}
				}
			}
		})
	}
}

func TestLoadModelErrors(t *testing.T) {
	m, err := LoadModel(filepath.Join("testdata", "llama_packed"))
	if err != nil {
		t.Fatal(err)
	}
	writeWith := func(t *testing.T, edit func(ts []safetensors.Tensor) []safetensors.Tensor) string {
		dir := t.TempDir()
		if err := m.Config.Save(dir); err != nil {
			t.Fatal(err)
		}
		var ts []safetensors.Tensor
		for _, n := range m.ParamNames() {
			ts = append(ts, safetensors.Tensor{Name: n, Tensor: m.Weights[n]})
		}
		if err := safetensors.Write(filepath.Join(dir, "model.safetensors"), edit(ts), nil); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	dir := writeWith(t, func(ts []safetensors.Tensor) []safetensors.Tensor { return ts[1:] })
	if _, err := LoadModel(dir); err == nil || !strings.Contains(err.Error(), `"model.embed_tokens.weight"`) {
		t.Errorf("missing weight: got %v", err)
	}
	dir = writeWith(t, func(ts []safetensors.Tensor) []safetensors.Tensor {
		ts[0].Tensor = tensors.FromFlatDataAndDimensions(make([]float32, 6), 2, 3)
		return ts
	})
	if _, err := LoadModel(dir); err == nil || !strings.Contains(err.Error(), "[2 3]") || !strings.Contains(err.Error(), "embed_tokens") {
		t.Errorf("mis-shaped weight: got %v", err)
	}
	// A truncated file is refused with a clear message.
	path := filepath.Join(dir, "model.safetensors")
	data, _ := os.ReadFile(path)
	os.WriteFile(path, data[:len(data)-10], 0o644)
	if _, err := LoadModel(dir); err == nil || !strings.Contains(err.Error(), "data_offsets") {
		t.Errorf("truncated file: got %v", err)
	}
}

// TestSaveShardedHalf saves in bfloat16/float16 shards and checks the reload equals the
// weights rounded to that precision (the reader's conversion back is exact).
func TestSaveShardedHalf(t *testing.T) {
	m, err := LoadModel(filepath.Join("testdata", "llama_gqa"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dtype string
		round func(float32) float32
	}{
		{"bfloat16", func(f float32) float32 { return bfloat16.FromFloat32(f).Float32() }},
		{"float16", func(f float32) float32 { return float16.FromFloat32(f).Float32() }},
		{"float32", func(f float32) float32 { return f }},
	} {
		t.Run(tc.dtype, func(t *testing.T) {
			dir := t.TempDir()
			if err := m.Save(dir); err != nil { // a previous single-file save must not confuse the reload
				t.Fatal(err)
			}
			if err := m.SaveWith(dir, SaveOptions{DType: tc.dtype, MaxShardBytes: 20000}); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); !os.IsNotExist(err) {
				t.Errorf("stale model.safetensors left next to the shards")
			}
			back, err := LoadModel(dir)
			if err != nil {
				t.Fatal(err)
			}
			if back.Config.TorchDType != tc.dtype {
				t.Errorf("torch_dtype %q, want %q", back.Config.TorchDType, tc.dtype)
			}
			var idx struct {
				WeightMap map[string]string `json:"weight_map"`
			}
			readJSONFile(t, filepath.Join(dir, "model.safetensors.index.json"), &idx)
			files := map[string]bool{}
			for _, f := range idx.WeightMap {
				files[f] = true
			}
			if len(files) < 3 {
				t.Errorf("only %d shards", len(files))
			}
			for n, w := range m.Weights {
				a, b := tensors.MustCopyFlatData[float32](w), tensors.MustCopyFlatData[float32](back.Weights[n])
				for i := range a {
					if tc.round(a[i]) != b[i] {
						t.Fatalf("%s[%d]: %v stored as %v, want %v", n, i, a[i], b[i], tc.round(a[i]))
					}
				}
			}
		})
	}
}

package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/loralab/loralab/pkg/atomicfile"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/safetensors"
)

// realConfigs are the config.json files of the models whose shapes the real-shape benchmark
// measures, as published on the Hugging Face Hub (deepseek-ai/deepseek-llm-7b-base, Qwen/Qwen2.5-0.5B,
// Qwen/Qwen2.5-1.5B). Only the shapes matter to the benchmark; the weights are random.
var realConfigs = map[string]string{
	"deepseek-llm-7b": `{
  "architectures": ["LlamaForCausalLM"], "model_type": "llama",
  "vocab_size": 102400, "hidden_size": 4096, "intermediate_size": 11008,
  "num_hidden_layers": 30, "num_attention_heads": 32, "num_key_value_heads": 32,
  "hidden_act": "silu", "rms_norm_eps": 1e-06, "rope_theta": 10000.0, "rope_scaling": null,
  "max_position_embeddings": 4096, "initializer_range": 0.02, "pretraining_tp": 1,
  "bos_token_id": 100000, "eos_token_id": 100001, "tie_word_embeddings": false,
  "torch_dtype": "bfloat16", "use_cache": true}`,
	"qwen2.5-0.5b": `{
  "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
  "vocab_size": 151936, "hidden_size": 896, "intermediate_size": 4864,
  "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
  "hidden_act": "silu", "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
  "max_position_embeddings": 32768, "sliding_window": 32768, "max_window_layers": 24,
  "use_sliding_window": false, "attention_dropout": 0.0, "initializer_range": 0.02,
  "bos_token_id": 151643, "eos_token_id": 151643, "tie_word_embeddings": true,
  "torch_dtype": "bfloat16", "use_cache": true}`,
	"qwen2.5-1.5b": `{
  "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
  "vocab_size": 151936, "hidden_size": 1536, "intermediate_size": 8960,
  "num_hidden_layers": 28, "num_attention_heads": 12, "num_key_value_heads": 2,
  "hidden_act": "silu", "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
  "max_position_embeddings": 131072, "sliding_window": 131072, "max_window_layers": 21,
  "use_sliding_window": false, "attention_dropout": 0.0, "initializer_range": 0.02,
  "bos_token_id": 151643, "eos_token_id": 151643, "tie_word_embeddings": true,
  "torch_dtype": "bfloat16", "use_cache": true}`,
}

// RealShapeNames lists the models of RealConfig, sorted.
func RealShapeNames() []string {
	names := make([]string, 0, len(realConfigs))
	for n := range realConfigs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// RealConfig returns the parsed config.json of a real model ("deepseek-llm-7b",
// "qwen2.5-0.5b", "qwen2.5-1.5b") and its file contents.
func RealConfig(name string) (*llama.Config, []byte, error) {
	src, ok := realConfigs[name]
	if !ok {
		return nil, nil, fmt.Errorf("bench: no real shape %q (have %s)", name, strings.Join(RealShapeNames(), ", "))
	}
	cfg, err := llama.ParseConfig([]byte(src))
	if err != nil {
		return nil, nil, fmt.Errorf("bench: real shape %q: %w", name, err)
	}
	return cfg, []byte(src), nil
}

// WriteSyntheticCheckpoint writes a HF model directory for the config: config.json (data, as
// given) and random bfloat16 weights in safetensors shards of at most maxShardBytes each
// (a larger tensor gets a shard of its own) with model.safetensors.index.json, as
// save_pretrained lays them out. Weights are those of NewRandomModel's kind (matrices normal
// with std 0.02, norms ones, biases zeros), seeded, and written shard by shard: at most
// one shard is held in memory. progress, if not nil, is called after each shard.
func WriteSyntheticCheckpoint(dir string, data []byte, seed uint64, maxShardBytes int64, progress func(file string, bytes int64)) error {
	cfg, err := llama.ParseConfig(data)
	if err != nil {
		return err
	}
	if maxShardBytes <= 0 {
		return fmt.Errorf("bench: maxShardBytes = %d must be > 0", maxShardBytes)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Plan the shards (their names carry the count).
	var shards [][]llama.ParamSpec
	var cur []llama.ParamSpec
	var curBytes, total int64
	for _, s := range cfg.ParamSpecs() {
		size := int64(s.Size()) * 2
		total += size
		if len(cur) > 0 && curBytes+size > maxShardBytes {
			shards = append(shards, cur)
			cur, curBytes = nil, 0
		}
		cur = append(cur, s)
		curBytes += size
	}
	shards = append(shards, cur)
	rng := rand.New(rand.NewPCG(seed, 0x73796e7468))
	weightMap := map[string]string{}
	for i, sh := range shards {
		file := fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards))
		ts := make([]safetensors.Tensor, len(sh))
		var bytes int64
		for j, s := range sh {
			ts[j] = safetensors.Tensor{Name: s.Name, Tensor: randomBF16(s, rng)}
			weightMap[s.Name] = file
			bytes += int64(s.Size()) * 2
		}
		if err := safetensors.Write(filepath.Join(dir, file), ts, map[string]string{"format": "pt"}); err != nil {
			return err
		}
		ts = nil
		debug.FreeOSMemory() // give the shard back before drawing the next one
		if progress != nil {
			progress(file, bytes)
		}
	}
	index, err := json.MarshalIndent(map[string]any{"metadata": map[string]int64{"total_size": total}, "weight_map": weightMap}, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "model.safetensors.index.json"), append(index, '\n')); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "config.json"), data)
}

// randomBF16 makes one parameter as a bfloat16 tensor: ones for norms, zeros for biases,
// normal with std 0.02 otherwise — drawn as one of 4096 equally likely quantiles of that normal
// (fast enough for 7 billion values; the benchmark needs the shape, not the statistics).
func randomBF16(s llama.ParamSpec, rng *rand.Rand) *tensors.Tensor {
	t := tensors.FromShape(shapes.Make(dtypes.BFloat16, s.Shape...))
	tensors.MustMutableFlatData(t, func(f []bfloat16.BFloat16) {
		switch {
		case strings.HasSuffix(s.Name, "norm.weight"):
			one := bfloat16.FromFloat32(1)
			for i := range f {
				f[i] = one
			}
		case strings.HasSuffix(s.Name, ".bias"):
		default:
			for i := 0; i < len(f); i += 5 {
				bits := rng.Uint64() // five 12-bit draws
				for k := i; k < min(i+5, len(f)); k++ {
					f[k] = normalTable[bits&4095]
					bits >>= 12
				}
			}
		}
	})
	return t
}

// normalTable holds the 4096 quantiles (i+½)/4096 of N(0, 0.02²) as bfloat16.
var normalTable = func() (t [4096]bfloat16.BFloat16) {
	for i := range t {
		p := (float64(i) + 0.5) / 4096
		t[i] = bfloat16.FromFloat32(float32(0.02 * math.Sqrt2 * math.Erfinv(2*p-1)))
	}
	return t
}()

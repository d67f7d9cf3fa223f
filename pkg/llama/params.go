package llama

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/atomicfile"
	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/safetensors"
)

// ParamSpec is one parameter of the model: its HF name and shape.
type ParamSpec struct {
	Name  string
	Shape []int
}

// Size is the number of elements.
func (p ParamSpec) Size() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}

// LinearSpec describes a Linear module: HF module name (without ".weight"), in and out features.
type LinearSpec struct {
	Module  string // e.g. "model.layers.0.self_attn.q_proj" or "lm_head"
	In, Out int
	Bias    bool
	Layer   int // decoder layer index, -1 for lm_head
}

// LinearModules lists every Linear module of the model in HF order (lm_head last), from the config alone.
func (c *Config) LinearModules() []LinearSpec {
	h, hd := c.HiddenSize, c.HeadDimension()
	q, kv := c.NumAttentionHeads*hd, c.NumKeyValueHeads*hd
	var out []LinearSpec
	for l := 0; l < c.NumHiddenLayers; l++ {
		p := fmt.Sprintf("model.layers.%d.", l)
		out = append(out,
			LinearSpec{p + "self_attn.q_proj", h, q, c.HasQKVBias(), l},
			LinearSpec{p + "self_attn.k_proj", h, kv, c.HasQKVBias(), l},
			LinearSpec{p + "self_attn.v_proj", h, kv, c.HasQKVBias(), l},
			LinearSpec{p + "self_attn.o_proj", q, h, c.HasOBias(), l},
			LinearSpec{p + "mlp.gate_proj", h, c.IntermediateSize, false, l},
			LinearSpec{p + "mlp.up_proj", h, c.IntermediateSize, false, l},
			LinearSpec{p + "mlp.down_proj", c.IntermediateSize, h, false, l},
		)
	}
	out = append(out, LinearSpec{"lm_head", h, c.VocabSize, false, -1})
	return out
}

// ParamSpecs lists the model's parameters in HF named_parameters order, computed from the config
// alone. With tied embeddings lm_head.weight is omitted (it is model.embed_tokens.weight).
func (c *Config) ParamSpecs() []ParamSpec {
	h := c.HiddenSize
	specs := []ParamSpec{{"model.embed_tokens.weight", []int{c.VocabSize, h}}}
	for _, lin := range c.LinearModules() {
		if lin.Module == "lm_head" {
			continue
		}
		specs = append(specs, ParamSpec{lin.Module + ".weight", []int{lin.Out, lin.In}})
		if lin.Bias {
			specs = append(specs, ParamSpec{lin.Module + ".bias", []int{lin.Out}})
		}
		if strings.HasSuffix(lin.Module, "o_proj") {
			specs = append(specs, c.qkNormParams(lin.Layer)...)
		}
		if strings.HasSuffix(lin.Module, "down_proj") {
			p := fmt.Sprintf("model.layers.%d.", lin.Layer)
			specs = append(specs, ParamSpec{p + "input_layernorm.weight", []int{h}},
				ParamSpec{p + "post_attention_layernorm.weight", []int{h}})
		}
	}
	specs = append(specs, ParamSpec{"model.norm.weight", []int{h}})
	if !c.TieWordEmbeddings {
		specs = append(specs, ParamSpec{"lm_head.weight", []int{c.VocabSize, h}})
	}
	return specs
}

// NumParams is the number of parameters (tied embeddings counted once, as PyTorch does).
func (c *Config) NumParams() int64 {
	var n int64
	for _, p := range c.ParamSpecs() {
		n += int64(p.Size())
	}
	return n
}

// Model is a config plus weights keyed by HF parameter name: float32 (trainable, or a frozen
// base), bfloat16/float16, or quantized (a weight's parts keyed by its name plus a suffix, see
// frozen.go; LoadModelWith).
type Model struct {
	Config  *Config
	Weights map[string]*tensors.Tensor
	// QuantizationConfig is how the base was quantized at load (nil: not quantized).
	QuantizationConfig *BitsAndBytesConfig
	// Unquantized lists Linear weights that quantization left as they were (shape not a whole
	// number of 64-value blocks).
	Unquantized []string
	// Unused lists checkpoint tensors that the model does not use (e.g. rotary_emb.inv_freq,
	// or lm_head.weight of a tied model).
	Unused []string
	// Generation is the checkpoint's generation_config.json (nil without one): its
	// eos_token_id stops Generate (see EOSTokenIDs).
	Generation *GenerationConfig
}

// ParamNames lists the parameter names in HF order.
func (m *Model) ParamNames() []string {
	specs := m.Config.ParamSpecs()
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	return names
}

// Check verifies that every expected weight is present with the right shape: float32, bfloat16
// or float16, or quantized with parts of the right shapes.
func (m *Model) Check() error {
	for _, s := range m.Config.ParamSpecs() {
		if err := m.checkWeight(s); err != nil {
			return err
		}
	}
	return nil
}

// NewRandomModel makes a model with HF-style random initialisation (normal with std 0.02 for
// matrices, ones for norms, zeros for biases), seeded. For tests, benchmarks and from-scratch training.
func NewRandomModel(cfg *Config, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x6c6c616d61))
	m := &Model{Config: cfg, Weights: map[string]*tensors.Tensor{}}
	for _, s := range cfg.ParamSpecs() {
		t := NewFloat32Tensor(s.Shape...)
		tensors.MustMutableFlatData(t, func(f []float32) {
			switch {
			case strings.HasSuffix(s.Name, "norm.weight"):
				for i := range f {
					f[i] = 1
				}
			case strings.HasSuffix(s.Name, ".bias"):
			default:
				for i := range f {
					f[i] = float32(rng.NormFloat64() * 0.02)
				}
			}
		})
		m.Weights[s.Name] = t
	}
	return m, nil
}

// SaveOptions choose how Model.SaveWith writes the weights.
type SaveOptions struct {
	// DType of the stored weights: "float32" (default), "bfloat16" or "float16"; torch_dtype in
	// config.json says the same.
	DType string
	// MaxShardBytes > 0 splits the weights into model-0000i-of-0000n.safetensors files of at most
	// this size (a tensor larger than that gets a shard of its own) plus
	// model.safetensors.index.json, as transformers' save_pretrained does.
	MaxShardBytes int64
	// Transform, when set, is applied to every weight before it is written, one weight at a
	// time, on a float32 copy (HF name, the copy); it returns the tensor to write. Exporting a
	// merged adapter uses it (lora.SaveMerged), so that the model is never cloned.
	Transform func(name string, w *tensors.Tensor) (*tensors.Tensor, error)
}

// Save writes config.json and model.safetensors (float32) into dir, creating it if needed.
// Each file is written atomically.
func (m *Model) Save(dir string) error { return m.SaveWith(dir, SaveOptions{}) }

// SaveWith writes config.json and the weights (one file or shards) into dir. Files from a
// previous save in the other layout are removed, so the directory loads unambiguously. Weights
// are written one at a time: a bfloat16 or quantized one is converted (dequantized) to float32
// just before it is written, then dropped.
func (m *Model) SaveWith(dir string, opts SaveOptions) error {
	if err := m.Check(); err != nil {
		return fmt.Errorf("saving model: %w", err)
	}
	stDType, ok := map[string]dtypes.DType{"": dtypes.Float32, "float32": dtypes.Float32, "bfloat16": dtypes.BFloat16, "float16": dtypes.Float16}[opts.DType]
	if !ok {
		return fmt.Errorf("saving model: dtype %q is not one of float32, bfloat16, float16", opts.DType)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	elem := int64(stDType.Size())
	var shards [][]safetensors.Lazy
	var cur []safetensors.Lazy
	var curBytes, total int64
	for _, s := range m.Config.ParamSpecs() {
		n := s.Name
		size := int64(s.Size()) * elem
		total += size
		if opts.MaxShardBytes > 0 && len(cur) > 0 && curBytes+size > opts.MaxShardBytes {
			shards = append(shards, cur)
			cur, curBytes = nil, 0
		}
		cur = append(cur, safetensors.Lazy{Name: n, DType: stDType, Shape: s.Shape, Load: func() (*tensors.Tensor, error) {
			if t, ok := m.Weights[n]; ok && opts.Transform == nil {
				return t, nil // converted to stDType as it is written
			}
			t, err := m.WeightFloat32(n)
			if err != nil || opts.Transform == nil {
				return t, err
			}
			return opts.Transform(n, t)
		}})
		curBytes += size
	}
	shards = append(shards, cur)
	meta := map[string]string{"format": "pt"}
	indexPath := filepath.Join(dir, "model.safetensors.index.json")
	singlePath := filepath.Join(dir, "model.safetensors")
	if len(shards) == 1 {
		if err := safetensors.WriteLazy(singlePath, shards[0], meta); err != nil {
			return err
		}
		if err := os.Remove(indexPath); err != nil && !os.IsNotExist(err) {
			return err
		}
	} else {
		weightMap := map[string]string{}
		for i, sh := range shards {
			file := fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards))
			if err := safetensors.WriteLazy(filepath.Join(dir, file), sh, meta); err != nil {
				return err
			}
			for _, nt := range sh {
				weightMap[nt.Name] = file
			}
		}
		index, err := json.MarshalIndent(map[string]any{"metadata": map[string]int64{"total_size": total}, "weight_map": weightMap}, "", "  ")
		if err != nil {
			return err
		}
		if err := atomicfile.Write(indexPath, append(index, '\n')); err != nil {
			return err
		}
		if err := os.Remove(singlePath); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	cfg := *m.Config
	cfg.TorchDType = map[dtypes.DType]string{dtypes.Float32: "float32", dtypes.BFloat16: "bfloat16", dtypes.Float16: "float16"}[stDType]
	return cfg.Save(dir)
}

// Clone returns a deep copy of the model (new weight tensors, whatever their dtype). To export
// a merged adapter without holding two models, see lora.SaveMerged.
func (m *Model) Clone() *Model {
	c := &Model{Config: m.Config, Generation: m.Generation, Weights: make(map[string]*tensors.Tensor, len(m.Weights)),
		QuantizationConfig: m.QuantizationConfig, Unquantized: slices.Clone(m.Unquantized), Unused: slices.Clone(m.Unused)}
	for n, t := range m.Weights {
		ct := backend.NewTensor(t.Shape())
		_ = t.ConstBytes(func(src []byte) { _ = ct.MutableBytes(func(dst []byte) { copy(dst, src) }) })
		c.Weights[n] = ct
	}
	return c
}

// ropeInvFreq returns HF's inverse frequencies 1 / theta^(2i/d), i < d/2, computed as
// transformers does (float32 of base ** (arange(0, d, 2) / d)).
func ropeInvFreq(c *Config) []float32 {
	d := c.HeadDimension()
	inv := make([]float32, d/2)
	for i := range inv {
		e := float32(2*i) / float32(d)
		inv[i] = float32(1.0 / math.Pow(c.RopeTheta, float64(e)))
	}
	return inv
}

// NewFloat32Tensor makes a zeroed float32 tensor. On backends with shared buffers (the Go
// backend) it lives in a buffer the backend uses directly, so running a graph on it does not
// copy it: model weights are held once in memory.
func NewFloat32Tensor(dims ...int) *tensors.Tensor {
	return backend.NewTensor(shapes.Make(dtypes.Float32, dims...))
}

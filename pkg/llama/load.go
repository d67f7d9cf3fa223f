package llama

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/compute/dtypes/float16"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/safetensors"
)

// LoadOptions choose how LoadModelWith keeps the frozen base in memory, with the names of
// transformers' from_pretrained.
type LoadOptions struct {
	// TorchDtype is the dtype weights are kept in: "float32" (default, ""), "bfloat16",
	// "float16", or "auto" (each tensor as stored in the checkpoint; float64 becomes float32).
	// Computation is float32 whatever the storage: weights are converted inside the graph.
	TorchDtype string
	// QuantizationConfig quantizes the decoder layers' Linear weights as they are loaded
	// (bitsandbytes' BitsAndBytesConfig); nil keeps them in TorchDtype. Embeddings, lm_head and
	// norms are never quantized (as bitsandbytes does): they stay in TorchDtype.
	QuantizationConfig *BitsAndBytesConfig
}

// BitsAndBytesConfig is the quantization at load of transformers' BitsAndBytesConfig.
type BitsAndBytesConfig struct {
	// LoadIn4Bit quantizes to 4 bits with Bnb4BitQuantType (QLoRA).
	LoadIn4Bit bool `json:"load_in_4bit"`
	// LoadIn8Bit quantizes to 8 bits: blocks of 64 consecutive weights, each stored as int8
	// round(127·w/absmax) with its absmax.
	LoadIn8Bit bool `json:"load_in_8bit"`
	// Bnb4BitQuantType is "nf4" (the default, and the only 4-bit type here).
	Bnb4BitQuantType string `json:"bnb_4bit_quant_type,omitempty"`
	// Bnb4BitUseDoubleQuant also quantizes the absmax constants (groups of 256, 8-bit).
	Bnb4BitUseDoubleQuant bool `json:"bnb_4bit_use_double_quant,omitempty"`
	// LlmInt8SkipModules lists module names (or name suffixes such as "down_proj") left
	// unquantized, besides embed_tokens and lm_head.
	LlmInt8SkipModules []string `json:"llm_int8_skip_modules,omitempty"`
}

// validate checks the options.
func (o LoadOptions) validate() error {
	switch o.TorchDtype {
	case "", "float32", "bfloat16", "float16", "auto":
	default:
		return fmt.Errorf("torch_dtype %q: want float32, bfloat16, float16 or auto", o.TorchDtype)
	}
	if q := o.QuantizationConfig; q != nil {
		if q.LoadIn4Bit == q.LoadIn8Bit {
			return fmt.Errorf("quantization_config: set exactly one of load_in_4bit and load_in_8bit")
		}
		if q.LoadIn4Bit && q.Bnb4BitQuantType != "" && q.Bnb4BitQuantType != "nf4" {
			return fmt.Errorf("quantization_config: bnb_4bit_quant_type %q is not supported (only nf4)", q.Bnb4BitQuantType)
		}
		if q.LoadIn8Bit && q.Bnb4BitUseDoubleQuant {
			return fmt.Errorf("quantization_config: bnb_4bit_use_double_quant applies to load_in_4bit only")
		}
	}
	return nil
}

// storageDType returns the dtype a non-quantized weight is kept in.
func (o LoadOptions) storageDType(stored dtypes.DType) dtypes.DType {
	switch o.TorchDtype {
	case "bfloat16":
		return dtypes.BFloat16
	case "float16":
		return dtypes.Float16
	case "auto":
		if stored == dtypes.BFloat16 || stored == dtypes.Float16 {
			return stored
		}
	}
	return dtypes.Float32
}

// quantizes reports whether the weight of a Linear module is quantized under q.
func (q *BitsAndBytesConfig) quantizes(lin LinearSpec) bool {
	if q == nil || lin.Layer < 0 {
		return false
	}
	for _, s := range q.LlmInt8SkipModules {
		if lin.Module == s || strings.HasSuffix(lin.Module, "."+s) {
			return false
		}
	}
	return true
}

// LoadModel reads config.json, generation_config.json when present, and the safetensors weights
// (single or sharded) of a HF model directory into float32. See LoadModelWith.
func LoadModel(dir string) (*Model, error) { return LoadModelWith(dir, LoadOptions{}) }

// LoadModelWith reads a HF model directory keeping the frozen base as opts say: float32,
// bfloat16 or float16, and optionally the decoder layers' Linear weights quantized to NF4 or
// 8 bits. Loading streams tensor by tensor, and a quantized weight is quantized as it streams
// from the file in small chunks, so the memory peak is the final model plus one tensor (at most).
// A Linear weight whose size is not a whole number of 64-value blocks stays unquantized and is
// listed in Model.Unquantized.
func LoadModelWith(dir string, opts LoadOptions) (*Model, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	cfg, err := LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	ck, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	defer ck.Close()
	q := opts.QuantizationConfig
	m := &Model{Config: cfg, Weights: map[string]*tensors.Tensor{}}
	if m.Generation, err = LoadGenerationConfig(dir); err != nil {
		return nil, err
	}
	if q != nil {
		qc := *q
		if qc.LoadIn4Bit && qc.Bnb4BitQuantType == "" {
			qc.Bnb4BitQuantType = "nf4"
		}
		m.QuantizationConfig = &qc
	}
	linears := map[string]LinearSpec{}
	for _, lin := range cfg.LinearModules() {
		linears[lin.Module+".weight"] = lin
	}
	expected := map[string]bool{}
	for _, s := range cfg.ParamSpecs() {
		expected[s.Name] = true
		info, ok := ck.Info(s.Name)
		if !ok {
			return nil, fmt.Errorf("%s: missing weight %q (expected shape %v)", dir, s.Name, s.Shape)
		}
		if !slices.Equal(info.Shape, s.Shape) {
			return nil, fmt.Errorf("%s: weight %q has shape %v in the checkpoint, config expects %v", dir, s.Name, info.Shape, s.Shape)
		}
		if lin, ok := linears[s.Name]; ok && q.quantizes(lin) {
			if err := checkQuantizable(s.Shape); err == nil {
				f, err := ck.File(s.Name)
				if err != nil {
					return nil, err
				}
				parts, err := quantizeStreamed(f, s.Name, s.Shape, m.QuantizationConfig)
				if err != nil {
					return nil, err
				}
				for _, p := range parts {
					m.Weights[p.Name] = p.Tensor
				}
				continue
			}
			m.Unquantized = append(m.Unquantized, s.Name)
		}
		t, err := ck.ReadAs(s.Name, opts.storageDType(info.DType))
		if err != nil {
			return nil, err
		}
		m.Weights[s.Name] = t
	}
	for _, n := range ck.Names() {
		if !expected[n] {
			m.Unused = append(m.Unused, n)
		}
	}
	return m, nil
}

// quantizeStreamed quantizes one weight from the file chunk by chunk into its graph tensors.
func quantizeStreamed(f *safetensors.File, name string, shape []int, q *BitsAndBytesConfig) ([]safetensors.Tensor, error) {
	out, in := shape[0], shape[1]
	n := out * in
	absmax := make([]float32, n/QuantBlockSize)
	var codes *tensors.Tensor
	var err error
	if q.LoadIn4Bit {
		codes = backend.NewTensor(shapes.Make(dtypes.Uint8, out, in/2))
		err = tensors.MutableFlatData(codes, func(c []uint8) {
			err = f.ScanFloat32(name, func(start int, vals []float32) error {
				b := start / QuantBlockSize
				QuantizeNF4(vals, c[start/2:(start+len(vals))/2], absmax[b:b+len(vals)/QuantBlockSize])
				return nil
			})
		})
	} else {
		codes = backend.NewTensor(shapes.Make(dtypes.Int8, out, in))
		err = tensors.MutableFlatData(codes, func(c []int8) {
			err = f.ScanFloat32(name, func(start int, vals []float32) error {
				b := start / QuantBlockSize
				QuantizeInt8(vals, c[start:start+len(vals)], absmax[b:b+len(vals)/QuantBlockSize])
				return nil
			})
		})
	}
	if err != nil {
		return nil, err
	}
	suffix := suffixInt8
	if q.LoadIn4Bit {
		suffix = suffixNF4
	}
	parts := []safetensors.Tensor{{Name: name + suffix, Tensor: codes}}
	if q.Bnb4BitUseDoubleQuant {
		dq := QuantizeAbsmax(absmax)
		return append(parts,
			safetensors.Tensor{Name: name + suffixAbsmaxCodes, Tensor: tensors.FromFlatDataAndDimensions(dq.Codes, len(dq.Codes))},
			safetensors.Tensor{Name: name + suffixAbsmaxScale, Tensor: tensors.FromFlatDataAndDimensions(dq.Scales, len(dq.Scales))},
			safetensors.Tensor{Name: name + suffixAbsmaxOff, Tensor: tensors.FromScalar(dq.Offset)}), nil
	}
	return append(parts, safetensors.Tensor{Name: name + suffixAbsmax, Tensor: tensors.FromFlatDataAndDimensions(absmax, len(absmax))}), nil
}

// quantSuffixes are the graph-input suffixes of a quantized weight.
var quantSuffixes = []string{suffixNF4, suffixInt8, suffixAbsmax, suffixAbsmaxCodes, suffixAbsmaxScale, suffixAbsmaxOff}

// IsQuantized reports whether the weight name (a HF parameter name) is held quantized.
func (m *Model) IsQuantized(name string) bool {
	_, nf4 := m.Weights[name+suffixNF4]
	_, i8 := m.Weights[name+suffixInt8]
	return nf4 || i8
}

// Tensors lists, sorted by name, every tensor the forward pass reads: the weights under their
// HF names, and a quantized weight as its parts (frozen.go). Executors pass these as graph inputs.
func (m *Model) Tensors() []safetensors.Tensor {
	var out []safetensors.Tensor
	for _, name := range m.ParamNames() {
		if t, ok := m.Weights[name]; ok {
			out = append(out, safetensors.Tensor{Name: name, Tensor: t})
			continue
		}
		for _, s := range quantSuffixes {
			if t, ok := m.Weights[name+s]; ok {
				out = append(out, safetensors.Tensor{Name: name + s, Tensor: t})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// WeightFloat32 returns a new float32 tensor holding the weight name (a HF parameter name):
// a copy of a float32 weight, a bfloat16/float16 one converted, a quantized one dequantized.
func (m *Model) WeightFloat32(name string) (*tensors.Tensor, error) {
	if t, ok := m.Weights[name]; ok {
		out := NewFloat32Tensor(t.Shape().Dimensions...)
		var err error
		tensors.MustMutableFlatData(out, func(dst []float32) {
			switch t.DType() {
			case dtypes.Float32:
				tensors.MustConstFlatData(t, func(src []float32) { copy(dst, src) })
			case dtypes.BFloat16, dtypes.Float16:
				err = t.ConstFlatData(func(flat any) {
					switch src := flat.(type) {
					case []bfloat16.BFloat16:
						for i, v := range src {
							dst[i] = v.Float32()
						}
					case []float16.Float16:
						for i, v := range src {
							dst[i] = v.Float32()
						}
					}
				})
			default:
				err = fmt.Errorf("weight %q has dtype %s", name, t.DType())
			}
		})
		return out, err
	}
	var spec *ParamSpec
	for _, s := range m.Config.ParamSpecs() {
		if s.Name == name {
			spec = &s
			break
		}
	}
	if spec == nil || !m.IsQuantized(name) {
		return nil, fmt.Errorf("model has no weight %q", name)
	}
	n := spec.Size()
	var absmax []float32
	if a, ok := m.Weights[name+suffixAbsmax]; ok {
		absmax = tensors.MustCopyFlatData[float32](a)
	} else {
		dq := DoubleQuant{Codes: tensors.MustCopyFlatData[int8](m.Weights[name+suffixAbsmaxCodes]),
			Scales: tensors.MustCopyFlatData[float32](m.Weights[name+suffixAbsmaxScale]),
			Offset: tensors.MustCopyFlatData[float32](m.Weights[name+suffixAbsmaxOff])[0]}
		absmax = dq.Absmax(n / QuantBlockSize)
	}
	out := NewFloat32Tensor(spec.Shape...)
	tensors.MustMutableFlatData(out, func(dst []float32) {
		if c, ok := m.Weights[name+suffixNF4]; ok {
			tensors.MustConstFlatData(c, func(codes []uint8) { DequantizeNF4(codes, absmax, dst) })
			return
		}
		tensors.MustConstFlatData(m.Weights[name+suffixInt8], func(codes []int8) { DequantizeInt8(codes, absmax, dst) })
	})
	return out, nil
}

// Float32Copy returns a float32 model holding m's weights converted (dequantized) on the host:
// the reference a bfloat16 or quantized base is compared with. It holds the whole model in float32.
func (m *Model) Float32Copy() (*Model, error) {
	c := &Model{Config: m.Config, Generation: m.Generation, Weights: map[string]*tensors.Tensor{}}
	for _, s := range m.Config.ParamSpecs() {
		w, err := m.WeightFloat32(s.Name)
		if err != nil {
			return nil, err
		}
		c.Weights[s.Name] = w
	}
	return c, nil
}

// SetWeight replaces the weight name by t (float32, bfloat16 or float16), dropping its quantized
// parts if it had any.
func (m *Model) SetWeight(name string, t *tensors.Tensor) {
	for _, s := range quantSuffixes {
		delete(m.Weights, name+s)
	}
	m.Weights[name] = t
}

// checkWeight verifies one weight of the model against its spec: present (plain or quantized),
// with the right shapes and dtypes.
func (m *Model) checkWeight(s ParamSpec) error {
	if t, ok := m.Weights[s.Name]; ok && t != nil {
		if !slices.Equal(t.Shape().Dimensions, s.Shape) {
			return fmt.Errorf("weight %q has shape %v, config expects %v", s.Name, t.Shape().Dimensions, s.Shape)
		}
		if dt := t.DType(); dt != dtypes.Float32 && dt != dtypes.BFloat16 && dt != dtypes.Float16 {
			return fmt.Errorf("weight %q has dtype %s, want float32, bfloat16 or float16", s.Name, dt)
		}
		return nil
	}
	if !m.IsQuantized(s.Name) {
		return fmt.Errorf("missing weight %q (expected shape %v)", s.Name, s.Shape)
	}
	if err := checkQuantizable(s.Shape); err != nil {
		return fmt.Errorf("quantized weight %q: %w", s.Name, err)
	}
	out, in := s.Shape[0], s.Shape[1]
	blocks := out * in / QuantBlockSize
	groups := (blocks + DoubleQuantBlockSize - 1) / DoubleQuantBlockSize
	want := map[string]shapes.Shape{}
	if _, ok := m.Weights[s.Name+suffixNF4]; ok {
		want[suffixNF4] = shapes.Make(dtypes.Uint8, out, in/2)
	} else {
		want[suffixInt8] = shapes.Make(dtypes.Int8, out, in)
	}
	if _, ok := m.Weights[s.Name+suffixAbsmax]; ok {
		want[suffixAbsmax] = shapes.Make(dtypes.Float32, blocks)
	} else {
		want[suffixAbsmaxCodes] = shapes.Make(dtypes.Int8, groups*DoubleQuantBlockSize)
		want[suffixAbsmaxScale] = shapes.Make(dtypes.Float32, groups)
		want[suffixAbsmaxOff] = shapes.Make(dtypes.Float32)
	}
	for suffix, sh := range want {
		t, ok := m.Weights[s.Name+suffix]
		if !ok || t == nil {
			return fmt.Errorf("quantized weight %q: missing %q", s.Name, s.Name+suffix)
		}
		if !t.Shape().Equal(sh) {
			return fmt.Errorf("quantized weight %q: %q has shape %s, want %s", s.Name, s.Name+suffix, t.Shape(), sh)
		}
	}
	return nil
}

// WeightShape returns the shape of the weight name (a HF parameter name), plain or quantized.
func (m *Model) WeightShape(name string) ([]int, bool) {
	if t, ok := m.Weights[name]; ok && t != nil {
		return t.Shape().Dimensions, true
	}
	if t, ok := m.Weights[name+suffixNF4]; ok {
		d := t.Shape().Dimensions
		return []int{d[0], 2 * d[1]}, true
	}
	if t, ok := m.Weights[name+suffixInt8]; ok {
		return t.Shape().Dimensions, true
	}
	return nil, false
}

// ConvertFloat32 returns a float32 tensor converted to dtype (float32: t itself; bfloat16 or
// float16: rounded to nearest even).
func ConvertFloat32(t *tensors.Tensor, dtype dtypes.DType) (*tensors.Tensor, error) {
	if dtype == dtypes.Float32 {
		return t, nil
	}
	out := backend.NewTensor(shapes.Make(dtype, t.Shape().Dimensions...))
	var err error
	tensors.MustConstFlatData(t, func(src []float32) {
		err = out.MutableFlatData(func(flat any) {
			switch dst := flat.(type) {
			case []bfloat16.BFloat16:
				for i, v := range src {
					dst[i] = bfloat16.FromFloat32(v)
				}
			case []float16.Float16:
				for i, v := range src {
					dst[i] = float16.FromFloat32(v)
				}
			}
		})
	})
	if err == nil && dtype != dtypes.BFloat16 && dtype != dtypes.Float16 {
		err = fmt.Errorf("cannot convert float32 to %s", dtype)
	}
	return out, err
}

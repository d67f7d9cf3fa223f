package gguf

import (
	"fmt"

	"github.com/loralab/loralab/pkg/lora"
)

// WriteAdapter writes a LoRA adapter as a llama.cpp GGUF adapter (general.type "adapter",
// adapter.type "lora"), loaded over a base model exported by WriteModel with
// `llama-cli -m base.gguf --lora adapter.gguf` or Ollama's ADAPTER.
//
// Each adapted Linear gets the tensors <llama.cpp name>.lora_a (PEFT's A, [r, in]) and .lora_b
// (PEFT's B, [out, r]); for the "llama" architecture B's rows take the same Q/K permutation as
// the base weights. llama.cpp scales every pair by adapter.lora.alpha / r (r read from the
// tensors); a module whose PEFT scaling differs from lora_alpha / r (rsLoRA, rank_pattern with
// alpha_pattern) has the ratio folded into its B, so the adapter computes exactly PEFT's
// B·A·scaling. Embedding LoRA (embed_tokens) becomes token_embd.weight.lora_a
// [vocab, r] (PEFT's lora_embedding_A transposed) and .lora_b [dim, r]. modules_to_save and
// trained biases have no GGUF adapter form, nor has DoRA (use_dora): they are refused (export
// the merged model instead).
func WriteAdapter(path string, a *lora.Adapter) error {
	p := a.Plan
	c := p.Model
	archName, permuteQK, err := arch(c)
	if err != nil {
		return err
	}
	if len(p.ModulesToSave) > 0 || len(p.Biases) > 0 {
		return fmt.Errorf("gguf: adapter has modules_to_save or trained biases, which a GGUF LoRA adapter cannot hold: export the merged model (WriteModel) instead")
	}
	if p.Config.UseDora {
		return fmt.Errorf("gguf: adapter has use_dora=true (DoRA magnitudes on %s, ...), which llama.cpp's GGUF LoRA adapters cannot hold: export the merged model (WriteModel) instead", p.Modules[0].Name)
	}
	alpha := p.Config.LoraAlpha
	if alpha <= 0 {
		return fmt.Errorf("gguf: lora_alpha %g: must be > 0", alpha)
	}
	kvs := []KV{
		{"general.architecture", archName},
		{"general.type", "adapter"},
		{"adapter.type", "lora"},
		{"adapter.lora.alpha", float32(alpha)},
	}
	var ts []Tensor
	for _, m := range p.Modules {
		name, ok := TensorName(m.Name + ".weight")
		if !ok {
			return fmt.Errorf("gguf: %s has no llama.cpp tensor name", m.Name)
		}
		at, bt := a.Tensors[m.AName()], a.Tensors[m.BName()]
		if at == nil || bt == nil {
			return fmt.Errorf("gguf: adapter lacks %s or %s", m.AName(), m.BName())
		}
		// llama.cpp applies alpha/r; PEFT applies m.Scaling.
		fold := m.Scaling * float64(m.R) / alpha
		heads := 0
		if permuteQK {
			heads = qkHeads(c, m.Name)
		}
		m := m
		aShape, aData := m.AShape(), func() ([]float32, error) { return floats(at) }
		if m.Kind == lora.KindEmbedding {
			// llama.cpp gathers the token rows of lora_a ([vocab, r]: PEFT's A transposed) and
			// multiplies them by lora_b ([dim, r], as PEFT's B): see its build_inp_embd.
			aShape, aData = []int{m.In, m.R}, func() ([]float32, error) {
				vals, err := floats(at)
				if err != nil {
					return nil, err
				}
				return transpose(vals, m.R, m.In), nil
			}
		}
		ts = append(ts,
			Tensor{Name: name + ".lora_a", Shape: aShape, Type: F32, Data: aData},
			Tensor{Name: name + ".lora_b", Shape: m.BShape(), Type: F32, Data: func() ([]float32, error) {
				vals, err := floats(bt)
				if err != nil {
					return nil, err
				}
				if fold != 1 {
					for i := range vals {
						vals[i] = float32(float64(vals[i]) * fold)
					}
				}
				if heads > 0 {
					vals = permuteRows(vals, m.Out, heads, false)
				}
				return vals, nil
			}})
	}
	return Write(path, kvs, ts)
}

// transpose returns the [cols, rows] transpose of a row-major [rows, cols] matrix.
func transpose(vals []float32, rows, cols int) []float32 {
	out := make([]float32, len(vals))
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			out[j*rows+i] = vals[i*cols+j]
		}
	}
	return out
}

package lora

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/atomicfile"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/safetensors"
)

// PEFTPrefix is the prefix of every key in adapter_model.safetensors.
const PEFTPrefix = "base_model.model."

// Save writes a PEFT adapter directory (an adapter handed to a trainer is an error, see
// HandTo): adapter_config.json (every LoraConfig field, with
// target_modules resolved as PEFT writes it and inference_mode true) and
// adapter_model.safetensors (float32, PEFT keys). The pair is replaced together
// (atomicfile.Group): after a failed save the directory holds the old pair unchanged.
func (a *Adapter) Save(dir string) error {
	if a.handedTo != "" {
		return fmt.Errorf("saving adapter: it holds the initial weights that %s trains copies of, not the trained ones: save train.TrainedAdapter(trainer, adapter) (or adapter.Clone() to save the initial weights on purpose)", a.handedTo)
	}
	if err := a.Check(); err != nil {
		return fmt.Errorf("saving adapter: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var ts []safetensors.Tensor
	for _, n := range a.Names() {
		ts = append(ts, safetensors.Tensor{Name: PEFTPrefix + a.Plan.peftName(n), Tensor: a.Tensors[n]})
	}
	weights, err := safetensors.Encode(ts, map[string]string{"format": "pt"})
	if err != nil {
		return fmt.Errorf("saving adapter: %w", err)
	}
	cfg := a.Plan.Config
	cfg.InferenceMode = true
	if cfg.PeftType == "" {
		cfg.PeftType = "LORA"
	}
	if cfg.TaskType == "" {
		cfg.TaskType = "CAUSAL_LM"
	}
	if !cfg.TargetModules.Set || cfg.TargetModules.IsAllLinear() {
		// PEFT writes the defaulted list, and expands "all-linear" to the module names it found.
		cfg.TargetModules = TargetNames(a.Plan.TargetModules...)
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding adapter config: %w", err)
	}
	data = append(data, '\n')
	// The two files change together: a directory holds the old pair or the new one.
	var g atomicfile.Group
	g.Write(filepath.Join(dir, "adapter_model.safetensors"), weights)
	g.Write(filepath.Join(dir, "adapter_config.json"), func(w io.Writer) error { _, err := w.Write(data); return err })
	return g.Commit()
}

// Load reads a PEFT adapter directory for the given base model config. Keys must be exactly
// those the config calls for, with the shapes the base model implies; anything else is an error
// naming the key.
func Load(dir string, base *llama.Config) (*Adapter, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	plan, err := cfg.Resolve(base)
	if err != nil {
		return nil, fmt.Errorf("%s: adapter does not fit the base model: %w", dir, err)
	}
	path := filepath.Join(dir, "adapter_model.safetensors")
	sf, err := safetensors.Open(path)
	if err != nil {
		return nil, err
	}
	defer sf.Close()
	a := &Adapter{Plan: plan, Tensors: map[string]*tensors.Tensor{}}
	specs := plan.ParamSpecs()
	for _, s := range specs {
		key := PEFTPrefix + plan.peftName(s.Name)
		info, ok := sf.Info(key)
		if !ok && key != PEFTPrefix+s.Name {
			// Adapters saved by LoRA Lab before it followed PEFT's base_layer naming.
			if info, ok = sf.Info(PEFTPrefix + s.Name); ok {
				key = PEFTPrefix + s.Name
			}
		}
		if !ok {
			// PEFT also accepts keys with the adapter name (".default.") left in.
			alt := strings.Replace(key, ".lora_A.", ".lora_A.default.", 1)
			alt = strings.Replace(alt, ".lora_B.", ".lora_B.default.", 1)
			if info, ok = sf.Info(alt); ok {
				key = alt
			}
		}
		if !ok {
			return nil, fmt.Errorf("%s: missing tensor %q (expected shape %v): the adapter does not match its config or the base model", path, key, s.Shape)
		}
		if !slices.Equal(info.Shape, s.Shape) {
			return nil, fmt.Errorf("%s: tensor %q has shape %v, the base model needs %v", path, key, info.Shape, s.Shape)
		}
		t, err := sf.ReadFloat32(key)
		if err != nil {
			return nil, err
		}
		a.Tensors[s.Name] = t
	}
	if sf.Len() != len(specs) {
		for _, n := range sf.Names() {
			name := strings.TrimPrefix(n, PEFTPrefix)
			name = strings.Replace(strings.Replace(name, ".lora_A.default.", ".lora_A.", 1), ".lora_B.default.", ".lora_B.", 1)
			name = strings.Replace(name, ".base_layer.bias", ".bias", 1)
			if module, ok := strings.CutSuffix(name, ".base_layer.weight"); ok {
				// PEFT's save_embedding_layers (on by default when embed_tokens or lm_head is
				// targeted) also stores the frozen base weight; it must be the base model's, which is used.
				if m, ok := plan.Module(module); ok {
					want := []int{m.Out, m.In} // Linear W [out, in]
					if m.Kind == KindEmbedding {
						want = []int{m.In, m.Out} // E [vocab, dim]
					}
					if info, _ := sf.Info(n); slices.Equal(info.Shape, want) {
						continue
					}
					return nil, fmt.Errorf("%s: tensor %q does not have the base weight's shape %v", path, n, want)
				}
			}
			if _, ok := a.Tensors[name]; !ok {
				return nil, fmt.Errorf("%s: tensor %q does not belong to any module the config targets in this base model", path, n)
			}
		}
	}
	return a, nil
}

// peftName is the name PEFT gives an adapter tensor in adapter_model.safetensors (without
// PEFTPrefix): a trainable bias of a LoRA-wrapped module lives in its base layer
// ("….k_proj.base_layer.bias"); every other name is LoRA Lab's own.
func (p *Plan) peftName(name string) string {
	if module, ok := strings.CutSuffix(name, ".bias"); ok {
		if _, wrapped := p.Module(module); wrapped {
			return module + ".base_layer.bias"
		}
	}
	return name
}

package lora

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/atomicfile"
	"github.com/loralab/loralab/pkg/llama"
)

// PEFTPrefix is the prefix of every key in adapter_model.safetensors.
const PEFTPrefix = "base_model.model."

// Save writes a PEFT adapter directory (an adapter handed to a trainer is an error, see
// HandTo): adapter_config.json (every LoraConfig field, with
// target_modules resolved as PEFT writes it and inference_mode true) and
// adapter_model.safetensors (float32, PEFT keys). Both files are written atomically.
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
	var ts []llama.NamedTensor
	for _, n := range a.Names() {
		ts = append(ts, llama.NamedTensor{Name: PEFTPrefix + n, Tensor: a.Tensors[n]})
	}
	if err := llama.WriteSafetensors(filepath.Join(dir, "adapter_model.safetensors"), ts, map[string]string{"format": "pt"}); err != nil {
		return err
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
	return atomicfile.Write(filepath.Join(dir, "adapter_config.json"), append(data, '\n'))
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
	sf, err := llama.OpenSafetensors(path)
	if err != nil {
		return nil, err
	}
	defer sf.Close()
	a := &Adapter{Plan: plan, Tensors: map[string]*tensors.Tensor{}}
	specs := plan.ParamSpecs()
	for _, s := range specs {
		key := PEFTPrefix + s.Name
		info, ok := sf.ReadInfo(key)
		if !ok {
			// PEFT also accepts keys with the adapter name (".default.") left in.
			alt := strings.Replace(key, ".lora_A.", ".lora_A.default.", 1)
			alt = strings.Replace(alt, ".lora_B.", ".lora_B.default.", 1)
			if info, ok = sf.ReadInfo(alt); ok {
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
	if len(sf.Tensors) != len(specs) {
		for _, n := range sf.Names() {
			name := strings.TrimPrefix(n, PEFTPrefix)
			name = strings.Replace(strings.Replace(name, ".lora_A.default.", ".lora_A.", 1), ".lora_B.default.", ".lora_B.", 1)
			if _, ok := a.Tensors[name]; !ok {
				return nil, fmt.Errorf("%s: tensor %q does not belong to any module the config targets in this base model", path, n)
			}
		}
	}
	return a, nil
}

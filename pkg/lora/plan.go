package lora

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/loralab/loralab/pkg/llama"
)

func sqrt(x float64) float64 { return math.Sqrt(x) }

// Kind is the kind of an adapted module.
type Kind string

// Module kinds.
const (
	KindLinear    Kind = "Linear"
	KindEmbedding Kind = "Embedding"
)

// Module is one adapted module.
type Module struct {
	Name    string // HF module name, e.g. "model.layers.0.self_attn.q_proj"
	Kind    Kind
	In, Out int // Linear: in/out features. Embedding: In = num_embeddings (vocab), Out = embedding_dim.
	R       int
	Alpha   float64
	Scaling float64
	Layer   int  // decoder layer, -1 outside the layers
	Dora    bool // use_dora: the module also has a magnitude vector (dora.go)
}

// Param names of the adapter's tensors, without PEFT's "base_model.model." prefix.
func (m Module) AName() string {
	if m.Kind == KindEmbedding {
		return m.Name + ".lora_embedding_A"
	}
	return m.Name + ".lora_A.weight"
}

// BName is the name of the B tensor.
func (m Module) BName() string {
	if m.Kind == KindEmbedding {
		return m.Name + ".lora_embedding_B"
	}
	return m.Name + ".lora_B.weight"
}

// AShape is [r, in] (Linear) or [r, vocab] (Embedding).
func (m Module) AShape() []int { return []int{m.R, m.In} }

// BShape is [out, r] (Linear) or [dim, r] (Embedding).
func (m Module) BShape() []int { return []int{m.Out, m.R} }

// NumParams is r·(in+out).
func (m Module) NumParams() int64 { return int64(m.R) * int64(m.In+m.Out) }

// Plan is a LoRA config resolved against a model config: which modules get LoRA (in model
// order), which weights are trained as full copies (modules_to_save) and which biases are trained.
type Plan struct {
	Config        Config
	Model         *llama.Config
	Modules       []Module
	ModulesToSave []llama.ParamSpec // full trainable copies, e.g. lm_head.weight
	Biases        []llama.ParamSpec // trainable biases (bias="all" or "lora_only")
	// TargetModules is the resolved target list (module suffixes), as PEFT writes it after resolving "all-linear" or defaults.
	TargetModules []string
}

// moduleInfo is every named module of the model that target matching may see.
type moduleInfo struct {
	name  string
	kind  string // "Linear", "Embedding", "RMSNorm", other
	in    int
	out   int
	layer int
}

func allModules(c *llama.Config) []moduleInfo {
	mods := []moduleInfo{{"model", "Model", 0, 0, -1},
		{"model.embed_tokens", "Embedding", c.VocabSize, c.HiddenSize, -1}, {"model.layers", "ModuleList", 0, 0, -1}}
	cur := -1
	for _, lin := range c.LinearModules() {
		if lin.Layer != cur && lin.Layer >= 0 {
			cur = lin.Layer
			p := fmt.Sprintf("model.layers.%d", cur)
			mods = append(mods, moduleInfo{p, "DecoderLayer", 0, 0, cur}, moduleInfo{p + ".self_attn", "Attention", 0, 0, cur})
		}
		if lin.Module == "lm_head" {
			mods = append(mods, moduleInfo{"model.norm", "RMSNorm", 0, 0, -1}, moduleInfo{"model.rotary_emb", "RotaryEmbedding", 0, 0, -1})
		}
		mods = append(mods, moduleInfo{lin.Module, "Linear", lin.In, lin.Out, lin.Layer})
		if strings.HasSuffix(lin.Module, "o_proj") {
			mods = append(mods, moduleInfo{fmt.Sprintf("model.layers.%d.mlp", lin.Layer), "MLP", 0, 0, lin.Layer})
		}
		if strings.HasSuffix(lin.Module, "down_proj") {
			p := fmt.Sprintf("model.layers.%d.", lin.Layer)
			mods = append(mods, moduleInfo{p + "mlp.act_fn", "SiLU", 0, 0, lin.Layer},
				moduleInfo{p + "input_layernorm", "RMSNorm", 0, 0, lin.Layer},
				moduleInfo{p + "post_attention_layernorm", "RMSNorm", 0, 0, lin.Layer})
		}
	}
	return mods
}

// ModuleNames lists the distinct module name suffixes of a model (what target_modules may name).
func ModuleNames(c *llama.Config) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range allModules(c) {
		i := strings.LastIndexByte(m.name, '.')
		s := m.name[i+1:]
		if _, err := strconv.Atoi(s); err == nil || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}

// layerOf returns the layer index of a module for layers_to_transform, PEFT-style
// (".{layers_pattern}.{index}." in the module name).
func layerOf(name string, patterns []string) (int, bool) {
	for _, p := range patterns {
		re := regexp.MustCompile(`^.*\.` + regexp.QuoteMeta(p) + `\.(\d+)\.`)
		if m := re.FindStringSubmatch(name); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n, true
		}
	}
	return 0, false
}

// Resolve applies the config to a model config: it finds the targeted modules, their ranks,
// alphas and scalings, modules_to_save and trainable biases. A target that matches nothing is an
// error listing the module names that exist; a target that matches an unsupported module type
// (e.g. a norm) is an error too.
func (c Config) Resolve(mc *llama.Config) (*Plan, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := mc.Validate(); err != nil {
		return nil, err
	}
	if err := c.checkModel(mc); err != nil {
		return nil, err
	}
	p := &Plan{Config: c, Model: mc}
	targets := c.TargetModules
	if !targets.Set {
		targets = TargetNames(DefaultTargets...)
	}
	lpat, _ := c.layersPatterns()
	resolved := map[string]bool{}
	for _, m := range allModules(mc) {
		var hit bool
		var err error
		if targets.IsAllLinear() {
			hit = m.kind == "Linear" && m.name != "lm_head"
		} else if hit, err = targets.match(m.name); err != nil {
			return nil, fmt.Errorf("target_modules: %w", err)
		}
		if !hit {
			continue
		}
		if ex, err := c.ExcludeModules.match(m.name); err != nil {
			return nil, fmt.Errorf("exclude_modules: %w", err)
		} else if ex {
			continue
		}
		if len(c.LayersToTransform) > 0 {
			l, ok := layerOf(m.name, lpat)
			if !ok || !slices.Contains(c.LayersToTransform, l) {
				continue
			}
		}
		var kind Kind
		switch m.kind {
		case "Linear":
			kind = KindLinear
		case "Embedding":
			kind = KindEmbedding
		default:
			return nil, fmt.Errorf("target module %s (%s) is not supported: LoRA applies to Linear and Embedding modules", m.name, m.kind)
		}
		r, alpha := c.R, c.LoraAlpha
		if k, ok, err := patternKey(c.RankPattern, m.name); err != nil {
			return nil, fmt.Errorf("rank_pattern: %w", err)
		} else if ok {
			r = c.RankPattern[k]
		}
		if k, ok, err := patternKey(c.AlphaPattern, m.name); err != nil {
			return nil, fmt.Errorf("alpha_pattern: %w", err)
		} else if ok {
			alpha = c.AlphaPattern[k]
		}
		if c.UseDora && kind != KindLinear {
			return nil, fmt.Errorf("use_dora=true: target module %s is an %s; LoRA Lab implements DoRA for Linear modules only "+
				"(remove it from target_modules or set use_dora=false)", m.name, kind)
		}
		p.Modules = append(p.Modules, Module{Name: m.name, Kind: kind, In: m.in, Out: m.out, R: r, Alpha: alpha,
			Scaling: c.Scaling(r, alpha), Layer: m.layer, Dora: c.UseDora})
		resolved[m.name[strings.LastIndexByte(m.name, '.')+1:]] = true
	}
	if len(p.Modules) == 0 && len(c.LayersToTransform) > 0 {
		return nil, fmt.Errorf("target_modules %s matched no module in layers_to_transform %v", describeTargets(targets), []int(c.LayersToTransform))
	}
	if len(p.Modules) == 0 {
		return nil, fmt.Errorf("target_modules %s matched no module of the model; modules that exist: %s",
			describeTargets(targets), strings.Join(ModuleNames(mc), ", "))
	}
	if targets.Names != nil { // each named target must match something
		for _, n := range targets.Names {
			found := false
			for _, m := range allModules(mc) {
				if m.name == n || strings.HasSuffix(m.name, "."+n) {
					found = true
					break
				}
			}
			if !found {
				return nil, fmt.Errorf("target module %q matched no module of the model; modules that exist: %s",
					n, strings.Join(ModuleNames(mc), ", "))
			}
		}
	}
	if err := p.checkSize(); err != nil {
		return nil, err
	}
	for k := range resolved {
		p.TargetModules = append(p.TargetModules, k)
	}
	sort.Strings(p.TargetModules)

	// modules_to_save: every module whose name ends with an entry gets a trainable copy. PEFT's
	// ModulesToSaveWrapper takes any module with weights, so RMSNorm weights can be trained this
	// way too (modules_to_save=["input_layernorm", "post_attention_layernorm", "norm"]).
	specs := mc.ParamSpecs()
	saved := map[string]bool{} // a module two entries match is copied once
	for _, entry := range c.ModulesToSave {
		found := false
		for _, m := range allModules(mc) {
			if !strings.HasSuffix(m.name, entry) || (m.kind != "Linear" && m.kind != "Embedding" && m.kind != "RMSNorm") {
				continue
			}
			found = true
			for _, suffix := range []string{".weight", ".bias"} {
				name := m.name + suffix
				shape := paramShape(mc, specs, name)
				if shape != nil && !saved[name] {
					saved[name] = true
					p.ModulesToSave = append(p.ModulesToSave, llama.ParamSpec{Name: name, Shape: shape})
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("modules_to_save entry %q matched no Linear, Embedding or RMSNorm module; modules that exist: %s",
				entry, strings.Join(ModuleNames(mc), ", "))
		}
	}
	// Trainable biases.
	if c.Bias == "all" || c.Bias == "lora_only" {
		adapted := map[string]bool{}
		for _, m := range p.Modules {
			adapted[m.Name] = true
		}
		for _, s := range specs {
			if !strings.HasSuffix(s.Name, ".bias") {
				continue
			}
			if c.Bias == "lora_only" && !adapted[strings.TrimSuffix(s.Name, ".bias")] {
				continue
			}
			if slices.ContainsFunc(p.ModulesToSave, func(q llama.ParamSpec) bool { return q.Name == s.Name }) {
				continue
			}
			p.Biases = append(p.Biases, s)
		}
	}
	return p, nil
}

// paramShape finds a parameter's shape; lm_head.weight of a tied model is the embedding's shape.
func paramShape(mc *llama.Config, specs []llama.ParamSpec, name string) []int {
	for _, s := range specs {
		if s.Name == name {
			return s.Shape
		}
	}
	if name == "lm_head.weight" {
		return []int{mc.VocabSize, mc.HiddenSize}
	}
	return nil
}

func describeTargets(t Targets) string {
	if t.Names != nil {
		return fmt.Sprintf("%q", t.Names)
	}
	return fmt.Sprintf("%q", t.Regex)
}

// Module returns the adapted module with that name.
func (p *Plan) Module(name string) (Module, bool) {
	for _, m := range p.Modules {
		if m.Name == name {
			return m, true
		}
	}
	return Module{}, false
}

// ParamSpecs lists the adapter's trainable tensors (LoRA A/B, DoRA magnitudes, modules_to_save
// copies, biases) with their shapes, in model order, named without PEFT's "base_model.model." prefix.
func (p *Plan) ParamSpecs() []llama.ParamSpec {
	var out []llama.ParamSpec
	for _, m := range p.Modules {
		out = append(out, llama.ParamSpec{Name: m.AName(), Shape: m.AShape()}, llama.ParamSpec{Name: m.BName(), Shape: m.BShape()})
		if m.Dora {
			out = append(out, llama.ParamSpec{Name: m.MagnitudeName(), Shape: []int{m.Out}})
		}
	}
	out = append(out, p.ModulesToSave...)
	out = append(out, p.Biases...)
	return out
}

// Counts are PEFT's print_trainable_parameters numbers.
type Counts struct {
	Trainable int64 // LoRA A/B + DoRA magnitudes + modules_to_save copies + trainable biases
	All       int64 // base parameters + LoRA A/B + DoRA magnitudes + modules_to_save copies (PEFT keeps the originals too)
}

// Count computes the counts from the configs alone, without allocating weights.
func (p *Plan) Count() Counts {
	var c Counts
	for _, m := range p.Modules {
		c.Trainable += m.NumParams()
		if m.Dora { // PEFT counts lora_magnitude_vector among the trainable parameters
			c.Trainable += int64(m.Out)
		}
	}
	var copies int64
	for _, s := range p.ModulesToSave {
		copies += int64(s.Size())
	}
	var biases int64
	for _, s := range p.Biases {
		biases += int64(s.Size())
	}
	c.All = p.Model.NumParams() + c.Trainable + copies
	c.Trainable += copies + biases
	return c
}

// String is PEFT's line: "trainable params: 37,478,400 || all params: 6,947,844,096 || trainable%: 0.5394".
func (c Counts) String() string {
	pct := 0.0
	if c.All > 0 {
		pct = 100 * float64(c.Trainable) / float64(c.All)
	}
	return fmt.Sprintf("trainable params: %s || all params: %s || trainable%%: %.4f", commas(c.Trainable), commas(c.All), pct)
}

func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

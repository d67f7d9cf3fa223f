// Package lora is LoRA with PEFT's names, meanings, defaults and file formats, for the models
// of package llama: LoraConfig (adapter_config.json), target resolution, the adapter's
// tensors and its graph hook (llama.Adapter), parameter counts and the structure print,
// merge/unmerge, and adapter_model.safetensors in and out.
//
// Semantics (HF PEFT, peft/tuners/lora): scaling = lora_alpha / r (lora_alpha / sqrt(r) with
// use_rslora); Linear: y = W x + B(A(dropout(x))) · scaling with A [r, in], B [out, r];
// Embedding: y = E[ids] + (Aᵀ[ids] · Bᵀ) · scaling with lora_embedding_A [r, vocab] and
// lora_embedding_B [dim, r]. Base weights stay frozen: only the adapter's tensors are trainable.
package lora

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/loralab/loralab/pkg/llama"
)

// Targets is PEFT's target_modules / exclude_modules: a list of module-name suffixes, a regular
// expression matched against the full module name, or "all-linear".
type Targets struct {
	Names []string // list form: a module matches when its name equals an entry or ends with "." + entry
	Regex string   // string form: full-match regular expression ("all-linear" is special)
	Set   bool     // false: the field was null / unset
}

// TargetNames makes the list form.
func TargetNames(names ...string) Targets { return Targets{Names: names, Set: true} }

// TargetRegex makes the string form (a regular expression, or "all-linear").
func TargetRegex(re string) Targets { return Targets{Regex: re, Set: true} }

// AllLinear is "all-linear": every Linear module but the output layer (lm_head).
var AllLinear = TargetRegex("all-linear")

// IsAllLinear tells whether the targets are "all-linear".
func (t Targets) IsAllLinear() bool {
	return t.Set && t.Names == nil && strings.EqualFold(t.Regex, "all-linear")
}

// MarshalJSON writes null, a string or a list.
func (t Targets) MarshalJSON() ([]byte, error) {
	switch {
	case !t.Set:
		return []byte("null"), nil
	case t.Names != nil:
		return json.Marshal(t.Names)
	}
	return json.Marshal(t.Regex)
}

// UnmarshalJSON reads null, a string or a list of strings.
func (t *Targets) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*t = Targets{}
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '"':
		t.Set = true
		return json.Unmarshal(b, &t.Regex)
	}
	t.Set = true
	t.Names = []string{}
	return json.Unmarshal(b, &t.Names)
}

// match tells whether the module name matches (PEFT's check_target_module_exists).
func (t Targets) match(module string) (bool, error) {
	if !t.Set {
		return false, nil
	}
	if t.Names != nil {
		for _, n := range t.Names {
			if module == n || strings.HasSuffix(module, "."+n) {
				return true, nil
			}
		}
		return false, nil
	}
	re, err := regexp.Compile("^(?:" + t.Regex + ")$")
	if err != nil {
		return false, fmt.Errorf("bad regular expression %q: %w", t.Regex, err)
	}
	return re.MatchString(module), nil
}

// InitMode is init_lora_weights: true (A kaiming-uniform with a=√5, B zeros), "gaussian"
// (A normal with std 1/r, B zeros) or false (A and B both random: the adapter is not a no-op).
type InitMode string

// Values of InitMode.
const (
	InitDefault  InitMode = "true"
	InitGaussian InitMode = "gaussian"
	InitRandom   InitMode = "false"
)

// MarshalJSON writes true/false as booleans and other modes as strings.
func (m InitMode) MarshalJSON() ([]byte, error) {
	switch m {
	case "", InitDefault:
		return []byte("true"), nil
	case InitRandom:
		return []byte("false"), nil
	}
	return json.Marshal(string(m))
}

// UnmarshalJSON reads a boolean or a string.
func (m *InitMode) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	switch s {
	case "true", "null":
		*m = InitDefault
	case "false":
		*m = InitRandom
	default:
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("init_lora_weights: want true, false or a string, got %s", s)
		}
		*m = InitMode(v)
	}
	return nil
}

// Layers is layers_to_transform: null, one index or a list.
type Layers []int

// UnmarshalJSON reads null, an integer or a list of integers.
func (l *Layers) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		*l = nil
		return nil
	}
	if strings.HasPrefix(s, "[") {
		var v []int
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("layers_to_transform: %w", err)
		}
		*l = v
		return nil
	}
	var v int
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("layers_to_transform: want an integer or a list, got %s", s)
	}
	*l = Layers{v}
	return nil
}

// Config is PEFT's LoraConfig, with the JSON keys of adapter_config.json. Fields that PEFT
// writes but this package does not implement are kept as raw JSON and must be null/false/empty.
type Config struct {
	PeftType            string             `json:"peft_type"`               // "LORA"
	TaskType            string             `json:"task_type"`               // "CAUSAL_LM"
	BaseModelNameOrPath string             `json:"base_model_name_or_path"` // "" is written as null
	Revision            *string            `json:"revision"`
	InferenceMode       bool               `json:"inference_mode"`
	R                   int                `json:"r"`
	LoraAlpha           float64            `json:"lora_alpha"`
	LoraDropout         float64            `json:"lora_dropout"`
	TargetModules       Targets            `json:"target_modules"`
	ExcludeModules      Targets            `json:"exclude_modules"`
	FanInFanOut         bool               `json:"fan_in_fan_out"`
	Bias                string             `json:"bias"` // "none", "all" or "lora_only"
	UseRSLoRA           bool               `json:"use_rslora"`
	ModulesToSave       []string           `json:"modules_to_save"`
	InitLoraWeights     InitMode           `json:"init_lora_weights"`
	LayersToTransform   Layers             `json:"layers_to_transform"`
	LayersPattern       json.RawMessage    `json:"layers_pattern"` // null, a string or a list; default "layers"
	RankPattern         map[string]int     `json:"rank_pattern"`
	AlphaPattern        map[string]float64 `json:"alpha_pattern"`
	UseDora             bool               `json:"use_dora"`
	LoraBias            bool               `json:"lora_bias"`
	LayerReplication    json.RawMessage    `json:"layer_replication"`
	LoftqConfig         json.RawMessage    `json:"loftq_config"`
	EvaConfig           json.RawMessage    `json:"eva_config"`
	CordaConfig         json.RawMessage    `json:"corda_config"`
	MegatronConfig      json.RawMessage    `json:"megatron_config"`
	MegatronCore        string             `json:"megatron_core"`
	TrainableTokenIdx   json.RawMessage    `json:"trainable_token_indices"`
	AutoMapping         json.RawMessage    `json:"auto_mapping"`

	// UnknownFields lists, sorted, the keys of the parsed adapter_config.json that LoraConfig
	// does not have. Like PEFT, ParseConfig warns about them and ignores them.
	UnknownFields []string `json:"-"`
}

// DefaultConfig returns PEFT's LoraConfig defaults for a causal LM: r=8, lora_alpha=8,
// lora_dropout=0, bias="none", init_lora_weights=true, target_modules unset (resolved to
// q_proj, v_proj for llama and qwen2).
func DefaultConfig() Config {
	return Config{PeftType: "LORA", TaskType: "CAUSAL_LM", R: 8, LoraAlpha: 8, Bias: "none",
		InitLoraWeights: InitDefault, MegatronCore: "megatron.core",
		RankPattern: map[string]int{}, AlphaPattern: map[string]float64{}}
}

// DefaultTargets is PEFT's default target_modules for llama and qwen2 models.
var DefaultTargets = []string{"q_proj", "v_proj"}

func isNullish(r json.RawMessage) bool {
	s := string(bytes.TrimSpace(r))
	return s == "" || s == "null" || s == "{}" || s == "false" || s == "[]"
}

// Validate checks values and rejects PEFT options this package does not implement.
func (c *Config) Validate() error {
	if c.PeftType != "" && c.PeftType != "LORA" {
		return fmt.Errorf("peft_type %q is not supported (only LORA)", c.PeftType)
	}
	if c.TaskType != "" && c.TaskType != "CAUSAL_LM" {
		return fmt.Errorf("task_type %q is not supported (only CAUSAL_LM)", c.TaskType)
	}
	if c.R <= 0 {
		return fmt.Errorf("r must be positive, got %d", c.R)
	}
	if !positiveFinite(c.LoraAlpha) {
		return fmt.Errorf("lora_alpha must be a positive finite number, got %g", c.LoraAlpha)
	}
	if !(c.LoraDropout >= 0 && c.LoraDropout < 1) {
		return fmt.Errorf("lora_dropout must be in [0, 1), got %g", c.LoraDropout)
	}
	for i, l := range c.LayersToTransform {
		if l < 0 {
			return fmt.Errorf("layers_to_transform[%d] = %d is negative", i, l)
		}
	}
	switch c.Bias {
	case "", "none", "all", "lora_only":
	default:
		return fmt.Errorf("bias %q is not one of none, all, lora_only", c.Bias)
	}
	switch c.InitLoraWeights {
	case "", InitDefault, InitGaussian, InitRandom:
	default:
		return fmt.Errorf("init_lora_weights %q is not supported (true, false or \"gaussian\")", string(c.InitLoraWeights))
	}
	for k, v := range c.RankPattern {
		if v <= 0 {
			return fmt.Errorf("rank_pattern[%q] must be positive, got %d", k, v)
		}
	}
	for k, v := range c.AlphaPattern {
		if !positiveFinite(v) {
			return fmt.Errorf("alpha_pattern[%q] must be a positive finite number, got %g", k, v)
		}
	}
	if c.FanInFanOut {
		return fmt.Errorf("fan_in_fan_out=true is for Conv1D (GPT-2) layers; llama uses Linear")
	}
	if c.LoraBias {
		return fmt.Errorf("lora_bias=true is not supported")
	}
	for name, raw := range map[string]json.RawMessage{"layer_replication": c.LayerReplication,
		"loftq_config": c.LoftqConfig, "eva_config": c.EvaConfig, "corda_config": c.CordaConfig,
		"megatron_config": c.MegatronConfig, "trainable_token_indices": c.TrainableTokenIdx} {
		if !isNullish(raw) {
			return fmt.Errorf("%s is not supported (got %s)", name, string(raw))
		}
	}
	// PEFT's LoraConfig refuses these combinations, so an adapter made with them would not load there.
	if c.TargetModules.Regex != "" && len(c.LayersToTransform) > 0 {
		return fmt.Errorf("layers_to_transform cannot be used when target_modules is a string (%q), as in PEFT: name the layers in the regular expression or list the modules", c.TargetModules.Regex)
	}
	if !isNullish(c.LayersPattern) && c.TargetModules.Regex != "" {
		return fmt.Errorf("layers_pattern cannot be used when target_modules is a string (%q), as in PEFT", c.TargetModules.Regex)
	}
	if !isNullish(c.LayersPattern) && len(c.LayersToTransform) == 0 {
		return fmt.Errorf("layers_pattern needs layers_to_transform, as in PEFT")
	}
	if _, err := c.layersPatterns(); err != nil {
		return err
	}
	return nil
}

func positiveFinite(x float64) bool { return x > 0 && !math.IsInf(x, 1) }

// checkModel checks what needs the model: layers_to_transform inside its layers.
func (c *Config) checkModel(mc *llama.Config) error {
	for i, l := range c.LayersToTransform {
		if l >= mc.NumHiddenLayers {
			return fmt.Errorf("layers_to_transform[%d] = %d is out of range: the model has %d layers (0…%d)",
				i, l, mc.NumHiddenLayers, mc.NumHiddenLayers-1)
		}
	}
	return nil
}

// checkSize refuses an adapter with more trainable parameters than the model it adapts (an
// absurd r such as 1e8), saying what training it would need, before anything is allocated.
func (p *Plan) checkSize() error {
	var n float64 // float: r·(in+out) may overflow int64 for absurd ranks
	for _, m := range p.Modules {
		n += float64(m.R) * float64(m.In+m.Out)
	}
	model := float64(p.Model.NumParams())
	if n <= model {
		return nil
	}
	return fmt.Errorf("r=%d gives %.3g trainable LoRA parameters, more than the model's %.3g: training them needs about %s "+
		"(float32 weights, gradients and AdamW's two moments, 16 bytes each); LoRA ranks are usually 4 to 256",
		p.Config.R, n, model, byteSize(16*n))
}

// byteSize writes a byte count with a binary unit.
func byteSize(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	for ; b >= 1024 && i < len(units)-1; i++ {
		b /= 1024
	}
	return fmt.Sprintf("%.3g %s", b, units[i])
}

func (c *Config) layersPatterns() ([]string, error) {
	if isNullish(c.LayersPattern) {
		return []string{"layers"}, nil
	}
	var s string
	if json.Unmarshal(c.LayersPattern, &s) == nil {
		return []string{s}, nil
	}
	var l []string
	if err := json.Unmarshal(c.LayersPattern, &l); err != nil {
		return nil, fmt.Errorf("layers_pattern: want a string or a list, got %s", string(c.LayersPattern))
	}
	return l, nil
}

// ParseConfig reads adapter_config.json content; missing fields take PEFT's defaults.
func ParseConfig(data []byte) (Config, error) {
	c := DefaultConfig()
	c.TargetModules = Targets{}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("adapter_config.json: %w", err)
	}
	// Newer PEFT options this package does not know: refuse them when they are switched on
	// rather than silently computing something else.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err == nil {
		refused := []string{"use_qalora", "target_parameters", "alora_invocation_tokens", "arrow_config", "ensure_weight_tying",
			"use_bdlora", "kasa_config", "lora_ga_config", "monteclora_config", "velora_config"} // as PEFT 0.21 writes them
		for _, k := range refused {
			if v, ok := raw[k]; ok && !isNullish(v) {
				return c, fmt.Errorf("adapter_config.json: %s=%s is not supported", k, string(v))
			}
		}
		// Keys LoraConfig does not have: PEFT warns "Unexpected keyword arguments [...] for
		// class LoraConfig, these are ignored" and loads the rest; so do we.
		known := configKeys()
		for k := range raw {
			if !known[k] && !slices.Contains(refused, k) {
				c.UnknownFields = append(c.UnknownFields, k)
			}
		}
		if len(c.UnknownFields) > 0 {
			sort.Strings(c.UnknownFields)
			log.Printf("lora: adapter_config.json: unexpected keys %q for LoraConfig, these are ignored "+
				"(a file saved by a newer PEFT, or a typo)", c.UnknownFields)
		}
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("adapter_config.json: %w", err)
	}
	return c, nil
}

// configKeys is the set of adapter_config.json keys of Config, plus the keys PEFT writes whose
// values do not change what is computed (qalora_group_size without use_qalora, peft_version).
func configKeys() map[string]bool {
	keys := map[string]bool{"qalora_group_size": true, "peft_version": true}
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		if k, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); k != "" && k != "-" {
			keys[k] = true
		}
	}
	return keys
}

// LoadConfig reads adapter_config.json from a file or from a directory holding it.
func LoadConfig(path string) (Config, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "adapter_config.json")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	c, err := ParseConfig(data)
	if err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// MarshalJSON writes every field PEFT writes, with PEFT's empty values (null, {}), sorted by key.
func (c Config) MarshalJSON() ([]byte, error) {
	type plain Config
	p := plain(c)
	null := json.RawMessage("null")
	for _, f := range []*json.RawMessage{&p.LayersPattern, &p.LayerReplication, &p.EvaConfig, &p.CordaConfig,
		&p.MegatronConfig, &p.TrainableTokenIdx, &p.AutoMapping} {
		if len(bytes.TrimSpace(*f)) == 0 {
			*f = null
		}
	}
	if len(bytes.TrimSpace(p.LoftqConfig)) == 0 || string(p.LoftqConfig) == "null" {
		p.LoftqConfig = json.RawMessage("{}")
	}
	if p.RankPattern == nil {
		p.RankPattern = map[string]int{}
	}
	if p.AlphaPattern == nil {
		p.AlphaPattern = map[string]float64{}
	}
	if p.PeftType == "" {
		p.PeftType = "LORA"
	}
	if p.Bias == "" {
		p.Bias = "none"
	}
	if p.MegatronCore == "" {
		p.MegatronCore = "megatron.core"
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	// Re-encode through a map so keys come out sorted, as PEFT's json.dumps(sort_keys=True) does.
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if string(m["base_model_name_or_path"]) == `""` {
		m["base_model_name_or_path"] = json.RawMessage("null") // PEFT writes None as null
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	buf.WriteString("{\n")
	for i, k := range keys {
		kb, _ := json.Marshal(k)
		var vb bytes.Buffer
		if err := json.Indent(&vb, m[k], "  ", "  "); err != nil {
			return nil, err
		}
		fmt.Fprintf(&buf, "  %s: %s", kb, vb.Bytes())
		if i < len(keys)-1 {
			buf.WriteString(",")
		}
		buf.WriteString("\n")
	}
	buf.WriteString("}")
	return buf.Bytes(), nil
}

// Scaling returns the scaling factor for a given rank and alpha: alpha/r, or alpha/sqrt(r) with use_rslora.
func (c *Config) Scaling(r int, alpha float64) float64 {
	if c.UseRSLoRA {
		return alpha / sqrt(float64(r))
	}
	return alpha / float64(r)
}

// patternKey returns the first key (sorted, for determinism) of a rank/alpha pattern matching
// the module name as PEFT does: re.match(rf"(.*\.)?{key}$", module).
func patternKey[V any](pattern map[string]V, module string) (string, bool, error) {
	keys := make([]string, 0, len(pattern))
	for k := range pattern {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		re, err := regexp.Compile(`^(?:.*\.)?(?:` + k + `)$`)
		if err != nil {
			return "", false, fmt.Errorf("pattern key %q: %w", k, err)
		}
		if re.MatchString(module) {
			return k, true, nil
		}
	}
	return "", false, nil
}

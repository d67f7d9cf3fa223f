package llama

import (
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
)

// Architectures beyond plain Llama, each checked against the plain-torch reference in
// testdata/gen_golden.py:
//
//   - Qwen2ForCausalLM: q/k/v biases. DeepSeek-R1-Distill-Qwen-* are Qwen2 checkpoints.
//   - Qwen3ForCausalLM: RMSNorm over each query and key head (self_attn.q_norm / k_norm,
//     weight [head_dim], before the rotation), head_dim decoupled from hidden/heads.
//   - MistralForCausalLM: Llama weights, sliding_window attention when set.
//   - LlamaForCausalLM with rope_scaling "linear", "llama3" (Llama 3.1/3.2,
//     DeepSeek-R1-Distill-Llama-*), "yarn" and "dynamic", as transformers'
//     modeling_rope_utils computes them.
//
// Sliding windows follow transformers: a query at index q sees keys k with k > q − window;
// Mistral applies sliding_window on every layer, Qwen2/Qwen3 with use_sliding_window on the
// layers from max_window_layers on.

// architectures maps each supported architecture to its model_type.
var architectures = map[string]string{
	"LlamaForCausalLM":   "llama",
	"Qwen2ForCausalLM":   "qwen2",
	"Qwen3ForCausalLM":   "qwen3",
	"MistralForCausalLM": "mistral",
}

// validateArchitecture checks architectures and model_type.
func (c *Config) validateArchitecture() error {
	known := []string{"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"}
	for _, a := range c.Architectures {
		if _, ok := architectures[a]; !ok {
			return fmt.Errorf("architectures: %q is not supported (supported: %v; DeepSeek-R1-Distill checkpoints are Qwen2 or Llama)", a, known)
		}
	}
	if c.ModelType != "" && !slices.Contains([]string{"llama", "qwen2", "qwen3", "mistral"}, c.ModelType) {
		return fmt.Errorf("model_type %q is not supported (want llama, mistral, qwen2 or qwen3)", c.ModelType)
	}
	return nil
}

// IsQwen3 tells whether the model is Qwen3 (per-head q/k RMSNorm).
func (c *Config) IsQwen3() bool {
	return c.ModelType == "qwen3" || slices.Contains(c.Architectures, "Qwen3ForCausalLM")
}

// IsMistral tells whether the model is Mistral.
func (c *Config) IsMistral() bool {
	return c.ModelType == "mistral" || slices.Contains(c.Architectures, "MistralForCausalLM")
}

// ClassPrefix is the prefix of the model's transformers class names ("Llama", "Qwen2",
// "Qwen3", "Mistral": Qwen3ForCausalLM, Qwen3RMSNorm, …).
func (c *Config) ClassPrefix() string {
	switch {
	case c.IsQwen3():
		return "Qwen3"
	case c.IsQwen2():
		return "Qwen2"
	case c.IsMistral():
		return "Mistral"
	}
	return "Llama"
}

// HasQKNorm tells whether attention normalizes each query and key head (Qwen3's q_norm, k_norm).
func (c *Config) HasQKNorm() bool { return c.IsQwen3() }

// LayerSlidingWindow is the sliding window of decoder layer l, 0 for full attention.
func (c *Config) LayerSlidingWindow(l int) int {
	if c.SlidingWindow == nil || *c.SlidingWindow <= 0 {
		return 0
	}
	if c.IsMistral() {
		return *c.SlidingWindow
	}
	if (c.IsQwen2() || c.IsQwen3()) && c.UseSlidingWindow && l >= c.MaxWindowLayers {
		return *c.SlidingWindow
	}
	return 0
}

// validateSlidingWindow rejects sliding windows on architectures that do not define them.
func (c *Config) validateSlidingWindow() error {
	if c.UseSlidingWindow && !(c.IsQwen2() || c.IsQwen3()) {
		return fmt.Errorf("use_sliding_window=true is only defined for qwen2/qwen3; remove it or set model_type")
	}
	if c.UseSlidingWindow && (c.SlidingWindow == nil || *c.SlidingWindow <= 0) {
		return fmt.Errorf("use_sliding_window=true needs a positive sliding_window")
	}
	if c.SlidingWindow != nil && *c.SlidingWindow < 0 {
		return fmt.Errorf("sliding_window must be positive or null, got %d", *c.SlidingWindow)
	}
	return nil
}

// validateRopeScaling checks the rope_scaling block for the types implemented.
func (c *Config) validateRopeScaling() error {
	r := c.RopeScaling
	switch k := r.Kind(); k {
	case "default":
		return nil
	case "linear", "dynamic", "llama3", "yarn":
		if r.Factor <= 0 {
			return fmt.Errorf("rope_scaling %s: factor must be positive, got %g", k, r.Factor)
		}
		if k == "llama3" {
			if r.OriginalMaxPositionEmbeddings <= 0 || r.LowFreqFactor <= 0 || r.HighFreqFactor <= r.LowFreqFactor {
				return fmt.Errorf("rope_scaling llama3: needs original_max_position_embeddings > 0 and 0 < low_freq_factor < high_freq_factor (got %d, %g, %g)",
					r.OriginalMaxPositionEmbeddings, r.LowFreqFactor, r.HighFreqFactor)
			}
		}
		if k == "dynamic" && c.MaxPositionEmbeddings <= 0 {
			return fmt.Errorf("rope_scaling dynamic: max_position_embeddings must be positive")
		}
		if k == "dynamic" && c.HeadDimension() <= 2 {
			return fmt.Errorf("rope_scaling dynamic: head dimension must exceed 2")
		}
		return nil
	default:
		return fmt.Errorf("rope_scaling type %q is not supported (supported: linear, dynamic, llama3, yarn); remove rope_scaling to use the model at its original context length", k)
	}
}

// ropeInvFreqScaled returns the inverse frequencies for the config's rope_scaling (all but
// "dynamic", which depends on the sequence) and the attention factor cos and sin are
// multiplied by (yarn; 1 otherwise), as modeling_rope_utils computes them.
func ropeInvFreqScaled(c *Config) ([]float32, float64) {
	inv := ropeInvFreq(c)
	r := c.RopeScaling
	switch r.Kind() {
	case "llama3":
		factor, lo, hi := r.Factor, r.LowFreqFactor, r.HighFreqFactor
		old := float64(r.OriginalMaxPositionEmbeddings)
		loWL, hiWL := old/lo, old/hi
		for i, f32 := range inv {
			f := float64(f32)
			wl := 2 * math.Pi / f
			switch {
			case wl > loWL:
				f /= factor
			case wl >= hiWL: // medium: smooth interpolation
				s := (old/wl - lo) / (hi - lo)
				f = (1-s)*f/factor + s*f
			}
			inv[i] = float32(f)
		}
		return inv, 1
	case "yarn":
		return yarnInvFreq(c)
	}
	return inv, 1
}

// yarnInvFreq is modeling_rope_utils' YaRN: frequencies ramp from extrapolation (high
// frequencies, below beta_fast rotations over the original context) to interpolation by
// factor (below beta_slow), and the attention factor is 0.1·ln(factor)+1 unless given.
// factor is rope_scaling.factor (transformers versions differ when max_position_embeddings
// is not factor × original_max_position_embeddings; such configs follow the factor field).
func yarnInvFreq(c *Config) ([]float32, float64) {
	r := c.RopeScaling
	d := float64(c.HeadDimension())
	base, factor := c.RopeTheta, r.Factor
	orig := float64(r.OriginalMaxPositionEmbeddings)
	if orig <= 0 {
		orig = float64(c.MaxPositionEmbeddings)
	}
	mscale := func(scale, m float64) float64 {
		if scale <= 1 {
			return 1
		}
		return 0.1*m*math.Log(scale) + 1
	}
	att := r.AttentionFactor
	if att == 0 {
		if r.Mscale != 0 && r.MscaleAllDim != 0 {
			att = mscale(factor, r.Mscale) / mscale(factor, r.MscaleAllDim)
		} else {
			att = mscale(factor, 1)
		}
	}
	betaFast, betaSlow := r.BetaFast, r.BetaSlow
	if betaFast == 0 {
		betaFast = 32
	}
	if betaSlow == 0 {
		betaSlow = 1
	}
	corr := func(rot float64) float64 { return d * math.Log(orig/(rot*2*math.Pi)) / (2 * math.Log(base)) }
	low, high := corr(betaFast), corr(betaSlow)
	if r.Truncate == nil || *r.Truncate {
		low, high = math.Floor(low), math.Ceil(high)
	}
	low, high = math.Max(low, 0), math.Min(high, d-1)
	if low == high {
		high += 0.001
	}
	inv := make([]float32, int(d)/2)
	for i := range inv {
		posFreq := float64(float32(math.Pow(base, float64(float32(2*i)/float32(d)))))
		extra, inter := 1/posFreq, 1/(factor*posFreq)
		ramp := math.Min(math.Max((float64(i)-low)/(high-low), 0), 1)
		keep := 1 - ramp
		inv[i] = float32(inter*(1-keep) + extra*keep)
	}
	return inv, att
}

// ropeFrequencies returns the inverse frequencies [d/2] as a graph node and the attention
// factor. For "dynamic" (NTK) the base grows with L = max(positionIDs)+1 when L exceeds
// max_position_embeddings: base·(factor·L/max − (factor−1))^(d/(d−2)), as transformers
// computes for a model that has not seen a longer sequence before.
func ropeFrequencies(c *Config, positionIDs *Node) (*Node, float64) {
	g := positionIDs.Graph()
	if c.RopeScaling.Kind() != "dynamic" {
		inv, att := ropeInvFreqScaled(c)
		return Const(g, inv), att
	}
	d := float64(c.HeadDimension())
	mpe := float64(c.MaxPositionEmbeddings)
	factor := c.RopeScaling.Factor
	L := AddScalar(ConvertDType(ReduceAllMax(positionIDs), dtypes.Float32), 1)
	grow := AddScalar(MulScalar(L, factor/mpe), -(factor - 1))
	logBase := AddScalar(MulScalar(Log(grow), d/(d-2)), math.Log(c.RopeTheta))
	logBase = Where(GreaterThan(L, Scalar(g, dtypes.Float32, mpe)), logBase, Scalar(g, dtypes.Float32, math.Log(c.RopeTheta)))
	exps := make([]float32, int(d)/2)
	for i := range exps {
		exps[i] = -float32(2*i) / float32(d)
	}
	return Exp(Mul(Const(g, exps), logBase)), 1
}

// headNorm applies Qwen3's per-head RMSNorm (weight module+".weight", [head_dim]) to
// x [B, T, heads, head_dim]; other architectures return x.
func headNorm(cfg *Config, w Weights, module string, x *Node) *Node {
	if !cfg.HasQKNorm() {
		return x
	}
	return rmsNorm(x, w.get(module+".weight"), cfg.RMSNormEps)
}

// layerMasks returns the attention mask [B, 1, T, 1, S] of each layer: mask5 itself, or
// mask5 restricted to the layer's sliding window (key index > query index − window; the
// query index of token t is start+t with a KV cache).
func layerMasks(cfg *Config, mask5 *Node, cache *KVCache) []*Node {
	out := make([]*Node, cfg.NumHiddenLayers)
	windowed := map[int]*Node{}
	for l := range out {
		win := cfg.LayerSlidingWindow(l)
		if win == 0 {
			out[l] = mask5
			continue
		}
		if windowed[win] == nil {
			g := mask5.Graph()
			dims := mask5.Shape().Dimensions // [B, 1, T, 1, S]
			T, S := dims[2], dims[4]
			q := Iota(g, shapes.Make(dtypes.Int32, T, S), 0)
			if cache != nil {
				q = Add(q, ConvertDType(cache.Start, dtypes.Int32))
			}
			k := Iota(g, shapes.Make(dtypes.Int32, T, S), 1)
			in := Reshape(GreaterThan(k, AddScalar(q, float64(-win))), 1, 1, T, 1, S)
			windowed[win] = LogicalAnd(mask5, BroadcastToDims(in, dims...))
		}
		out[l] = windowed[win]
	}
	return out
}

// qkNormParams lists Qwen3's q_norm and k_norm weights of layer l (none for other models).
func (c *Config) qkNormParams(l int) []ParamSpec {
	if !c.HasQKNorm() {
		return nil
	}
	p := fmt.Sprintf("model.layers.%d.self_attn.", l)
	hd := c.HeadDimension()
	return []ParamSpec{{p + "q_norm.weight", []int{hd}}, {p + "k_norm.weight", []int{hd}}}
}

package lora

import (
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/nn"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/safetensors"
)

// Adapter is a LoRA adapter for one base model config: its resolved plan and its tensors, keyed
// by PEFT state-dict names without the "base_model.model." prefix
// ("model.layers.0.self_attn.q_proj.lora_A.weight", "model.embed_tokens.lora_embedding_A",
// "lm_head.weight" for a modules_to_save copy, "model.layers.0.self_attn.q_proj.bias" for a
// trainable bias). Every tensor of an adapter is trainable; base weights never are.
type Adapter struct {
	Plan    *Plan
	Tensors map[string]*tensors.Tensor
	// handedTo names the trainer that trains copies of Tensors (see HandTo): Tensors then
	// stay the initial values, and Save refuses them.
	handedTo string
}

// HandTo records that a trainer now trains copies of a's tensors (train.LoRAModel calls it):
// a keeps the initial values (lora_B still zero), so Save refuses a with an error naming
// what to save instead. Clone returns an adapter without the mark.
func (a *Adapter) HandTo(trainer string) { a.handedTo = trainer }

// New resolves cfg against the base model and initialises the adapter as PEFT does
// (init_lora_weights), seeded. modules_to_save copies and trainable biases start as copies of
// the base weights.
func New(cfg Config, base *llama.Model, seed uint64) (*Adapter, error) {
	plan, err := cfg.Resolve(base.Config)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x6c6f7261))
	a := &Adapter{Plan: plan, Tensors: map[string]*tensors.Tensor{}}
	for _, m := range plan.Modules {
		A := make([]float32, m.R*m.In)
		B := make([]float32, m.Out*m.R)
		mode := cfg.InitLoraWeights
		switch {
		case m.Kind == KindEmbedding && mode == InitRandom: // PEFT: torch.randn for both
			fillNormal(rng, A, 1)
			fillNormal(rng, B, 1)
		case m.Kind == KindEmbedding: // A zeros, B normal
			fillNormal(rng, B, 1)
		case mode == InitGaussian: // A ~ N(0, std=1/r), B zeros
			fillNormal(rng, A, 1/float64(m.R))
		case mode == InitRandom: // nn.Linear default init for both: U(±1/sqrt(fan_in))
			fillUniform(rng, A, 1/math.Sqrt(float64(m.In)))
			fillUniform(rng, B, 1/math.Sqrt(float64(m.R)))
		default: // kaiming_uniform_(a=√5): bound = gain·sqrt(3/fan_in) = 1/sqrt(fan_in)
			fillUniform(rng, A, 1/math.Sqrt(float64(m.In)))
		}
		a.Tensors[m.AName()] = tensors.FromFlatDataAndDimensions(A, m.AShape()...)
		a.Tensors[m.BName()] = tensors.FromFlatDataAndDimensions(B, m.BShape()...)
	}
	for _, s := range append(slices.Clone(plan.ModulesToSave), plan.Biases...) {
		src := s.Name
		if _, ok := base.WeightShape(src); !ok && src == "lm_head.weight" && base.Config.TieWordEmbeddings {
			src = "model.embed_tokens.weight"
		}
		t, err := base.WeightFloat32(src) // a float32 copy, whatever the base's dtype
		if err != nil {
			return nil, fmt.Errorf("base model has no weight %q to copy for %s: %w", src, s.Name, err)
		}
		a.Tensors[s.Name] = t
	}
	if err := a.initMagnitudes(base); err != nil {
		return nil, err
	}
	return a, nil
}

func fillNormal(rng *rand.Rand, x []float32, std float64) {
	for i := range x {
		x[i] = float32(rng.NormFloat64() * std)
	}
}

func fillUniform(rng *rand.Rand, x []float32, bound float64) {
	for i := range x {
		x[i] = float32((2*rng.Float64() - 1) * bound)
	}
}

// Names lists the adapter's tensor names in model order (the order of Plan.ParamSpecs).
func (a *Adapter) Names() []string {
	specs := a.Plan.ParamSpecs()
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.Name
	}
	return out
}

// AdapterTensors implements llama.GraphAdapter.
func (a *Adapter) AdapterTensors() []safetensors.Tensor {
	var out []safetensors.Tensor
	for _, n := range a.Names() {
		out = append(out, safetensors.Tensor{Name: n, Tensor: a.Tensors[n]})
	}
	return out
}

// Bind implements llama.GraphAdapter: the inference-mode hook (no dropout), reading the adapter's
// tensors from w by name.
func (a *Adapter) Bind(w llama.Weights) llama.Adapter {
	return &Bound{Plan: a.Plan, W: w}
}

// Bound is the graph hook of a plan: it reads LoRA tensors from W (by the adapter's names).
// With Training set and LoraDropout > 0, dropout acts on each LoRA input, drawing from RNG (a
// GoMLX RNG state node, e.g. from RNGStateFromSeedForGraph); RNG is advanced as masks are drawn,
// so a trainer can carry the final state out of the graph.
type Bound struct {
	Plan     *Plan
	W        llama.Weights
	Training bool
	RNG      *Node

	grads *[]*Node // gradients of the tensors read since BeginCheckpoint
}

// BindTraining returns a hook for training graphs: dropout (when lora_dropout > 0) draws from rng.
func BindTraining(p *Plan, w llama.Weights, rng *Node) *Bound {
	return &Bound{Plan: p, W: w, Training: true, RNG: rng}
}

func (b *Bound) get(name string) *Node {
	n, ok := b.W[name]
	if !ok || n == nil {
		panic(fmt.Errorf("lora: tensor %q is not among the graph's weights", name))
	}
	return n
}

// BeginCheckpoint implements llama.CheckpointedAdapter: with gradient checkpointing, a layer's
// dropout draws wait for (and are recomputed with) its checkpointed input, and the gradients of
// the LoRA tensors it reads are handed to the layer below.
func (b *Bound) BeginCheckpoint(anchor *Node) (gradients func() []*Node) {
	if b.Training && b.RNG != nil {
		b.RNG = SchedulingBarrier(b.RNG, anchor).Checkpoint()
	}
	grads := new([]*Node)
	b.grads = grads
	return func() []*Node { return *grads }
}

// param returns the adapter tensor name, recording its gradient for BeginCheckpoint's caller.
func (b *Bound) param(name string) *Node {
	n := b.get(name)
	if grads := b.grads; grads != nil {
		n = IdentityWithCustomGradient(n, func(_, v *Node) *Node {
			*grads = append(*grads, v)
			return v
		})
	}
	return n
}

// Linear implements llama.Adapter: y + B(A(dropout(x)))·scaling, or DoRA's output for a
// use_dora module (dora.go).
func (b *Bound) Linear(module string, x, y *Node) *Node {
	m, ok := b.Plan.Module(module)
	if !ok || m.Kind != KindLinear {
		return y
	}
	xin := x
	dropped := false
	scaling := m.Scaling
	if p := b.Plan.Config.LoraDropout; b.Training && p > 0 {
		if b.RNG == nil {
			panic(fmt.Errorf("lora: training with lora_dropout=%g needs an RNG state", p))
		}
		if m.Dora { // DoRA also multiplies W by the dropped-out input: scale it
			b.RNG, xin = Dropout(b.RNG, x, p)
		} else { // dropout's 1/(1−p) joins the scaling, on the narrow [N, r] tensor
			var scale float64
			b.RNG, xin, scale = DropoutUnscaled(b.RNG, x, p)
			scaling *= scale
		}
		dropped = true
	}
	// t = x·Aᵀ [N, r], u = t·Bᵀ [N, out] as GoMLX fused dense layers (nn.Dense; decomposed on
	// backends without them). Their VJP needs transposes of the narrow operands only: dA from
	// dtᵀ [r, N], dB from tᵀ [r, N] (B enters transposed, [r, out], so its gradient is tᵀ·du with
	// du read in place). Plain DotGenerals here cost one transpose of every du [N, out] in the
	// backward: GoMLX puts the incoming gradient on the left, contracting its leading token
	// axis (about 12% of a training step, pkg/bench/NOTES.md).
	x2 := xin
	if xin.Rank() != 2 {
		x2 = Reshape(xin, -1, m.In)
	}
	t := nn.Dense(x2, b.param(m.AName()), nil, compute.DenseLayoutOutputsInput)                 // [N, r]
	t = MulScalar(t, scaling)                                                                   // scale the narrow tensor
	u := nn.Dense(t, Transpose(b.param(m.BName()), 0, 1), nil, compute.DenseLayoutInputOutputs) // [N, out]
	if m.Dora {
		u = b.doraDelta(m, x2, y, u, dropped)
	}
	if y.Rank() != 2 {
		u = Reshape(u, y.Shape().Dimensions...)
	}
	return Add(y, u)
}

// Embedding implements llama.Adapter: y + (Aᵀ[ids] · Bᵀ)·scaling (no dropout, as in PEFT).
func (b *Bound) Embedding(module string, ids, y *Node) *Node {
	m, ok := b.Plan.Module(module)
	if !ok || m.Kind != KindEmbedding {
		return y
	}
	at := Transpose(b.get(m.AName()), 0, 1) // [vocab, r]
	t := Gather(at, InsertAxes(ids, -1))    // [B, T, r]
	t = MulScalar(t, m.Scaling)
	return Add(y, DotGeneral(t, []int{t.Rank() - 1}, nil, b.get(m.BName()), []int{1}, nil))
}

// Check verifies that the adapter holds exactly the plan's tensors with the plan's shapes.
func (a *Adapter) Check() error {
	specs := a.Plan.ParamSpecs()
	for _, s := range specs {
		t, ok := a.Tensors[s.Name]
		if !ok {
			return fmt.Errorf("adapter is missing %q (expected shape %v)", s.Name, s.Shape)
		}
		if !slices.Equal(t.Shape().Dimensions, s.Shape) {
			return fmt.Errorf("adapter tensor %q has shape %v, expected %v", s.Name, t.Shape().Dimensions, s.Shape)
		}
		if t.DType() != dtypes.Float32 {
			return fmt.Errorf("adapter tensor %q has dtype %s, want float32", s.Name, t.DType())
		}
	}
	if len(a.Tensors) != len(specs) {
		for n := range a.Tensors {
			if !slices.ContainsFunc(specs, func(s llama.ParamSpec) bool { return s.Name == n }) {
				return fmt.Errorf("adapter has tensor %q that its config does not call for", n)
			}
		}
	}
	return nil
}

// Merge folds the adapter into the model's weights in place: W += scaling·B·A for Linear
// modules (W = m/‖W + s·B·A‖ ⊙ (W + s·B·A) with use_dora), E += scaling·(B·A)ᵀ for embeddings,
// modules_to_save and bias copies replace the base weights. Merging into a tied
// embedding/lm_head is refused (it would change both).
func (a *Adapter) Merge(m *llama.Model) error { return a.merge(m, +1) }

// Unmerge subtracts what Merge added to LoRA-adapted weights. modules_to_save and biases cannot
// be unmerged (their original values are gone), nor can DoRA modules (the merged weight keeps no
// record of the norm it was divided by), so Unmerge refuses adapters with them.
func (a *Adapter) Unmerge(m *llama.Model) error {
	if a.Plan.Config.UseDora {
		return fmt.Errorf("unmerge: use_dora=true: a DoRA merge rescales each row of W by m/‖W + s·B·A‖ and keeps no record of that norm, so it cannot be undone; merge into a copy (Model.Clone) instead")
	}
	if len(a.Plan.ModulesToSave)+len(a.Plan.Biases) > 0 {
		return fmt.Errorf("unmerge: adapter has modules_to_save or trainable biases, whose base values a merge overwrote")
	}
	return a.merge(m, -1)
}

// checkMerge verifies, before anything is changed, that the adapter fits the model: every
// adapted module's weight exists with the shape the adapter was planned for, modules_to_save and
// bias copies match the weights they replace, and nothing touches a tied embedding.
func (a *Adapter) checkMerge(m *llama.Model) error {
	if err := a.Check(); err != nil {
		return err
	}
	if err := m.Check(); err != nil {
		return err
	}
	for _, mod := range a.Plan.Modules {
		if m.Config.TieWordEmbeddings && (mod.Name == "lm_head" || mod.Name == "model.embed_tokens") {
			return fmt.Errorf("merge: %s shares its weight with the tied embeddings; merging would change both", mod.Name)
		}
		name := mod.Name + ".weight"
		shape, ok := m.WeightShape(name)
		if !ok {
			return fmt.Errorf("merge: model has no weight %q", name)
		}
		want := []int{mod.Out, mod.In} // Linear W [out, in]
		if mod.Kind == KindEmbedding {
			want = []int{mod.In, mod.Out} // E [vocab, dim]
		}
		if !slices.Equal(shape, want) {
			return fmt.Errorf("merge: the adapter's %s (r=%d) was made for a weight of shape %v, the model's %q has shape %v",
				mod.Name, mod.R, want, name, shape)
		}
	}
	for _, s := range append(slices.Clone(a.Plan.ModulesToSave), a.Plan.Biases...) {
		if s.Name == "lm_head.weight" && m.Config.TieWordEmbeddings {
			return fmt.Errorf("merge: lm_head in modules_to_save of a tied model would untie it; not supported")
		}
		shape, ok := m.WeightShape(s.Name)
		if !ok {
			return fmt.Errorf("merge: model has no weight %q for the adapter's copy", s.Name)
		}
		if got := a.Tensors[s.Name].Shape().Dimensions; !slices.Equal(shape, got) {
			return fmt.Errorf("merge: the adapter's %q has shape %v, the model's has %v", s.Name, got, shape)
		}
	}
	return nil
}

// addDelta adds sign·scaling·B·A (Linear, W [out, in]) or sign·scaling·(B·A)ᵀ (embedding,
// E [vocab, dim]) of one module to the float32 weight W.
func (a *Adapter) addDelta(mod Module, W []float32, sign float32) {
	A := tensors.MustCopyFlatData[float32](a.Tensors[mod.AName()])
	B := tensors.MustCopyFlatData[float32](a.Tensors[mod.BName()])
	s := sign * float32(mod.Scaling)
	r := mod.R
	if mod.Kind == KindLinear { // W [out, in] += s · B[out, r] · A[r, in]
		for o := 0; o < mod.Out; o++ {
			row := W[o*mod.In : (o+1)*mod.In]
			for k := 0; k < r; k++ {
				c := s * B[o*r+k]
				if c == 0 {
					continue
				}
				ak := A[k*mod.In : (k+1)*mod.In]
				for i := range row {
					row[i] += c * ak[i]
				}
			}
		}
		return
	}
	// Embedding: E [vocab, dim] += s · Aᵀ[vocab, r] · Bᵀ[r, dim]
	vocab, dim := mod.In, mod.Out
	for v := 0; v < vocab; v++ {
		row := W[v*dim : (v+1)*dim]
		for k := 0; k < r; k++ {
			c := s * A[k*vocab+v]
			if c == 0 {
				continue
			}
			for d := range row {
				row[d] += c * B[d*r+k]
			}
		}
	}
}

// mergeInto merges one module into its float32 weight W: the LoRA delta, or DoRA's rescaled
// weight (sign must then be +1: Unmerge refuses DoRA).
func (a *Adapter) mergeInto(mod Module, W []float32, sign float32) {
	if mod.Dora {
		a.mergeDora(mod, W)
		return
	}
	a.addDelta(mod, W, sign)
}

func (a *Adapter) merge(m *llama.Model, sign float32) error {
	if err := a.checkMerge(m); err != nil { // nothing is changed unless everything fits
		return err
	}
	var dequantized []string
	for _, mod := range a.Plan.Modules {
		name := mod.Name + ".weight"
		if wt, ok := m.Weights[name]; ok && wt.DType() == dtypes.Float32 {
			tensors.MustMutableFlatData(wt, func(W []float32) { a.mergeInto(mod, W, sign) })
			continue
		}
		// bfloat16/float16: merged in float32, stored back in the weight's dtype; quantized:
		// dequantized to float32 first and kept float32 (requantizing would lose the update).
		w, err := m.WeightFloat32(name)
		if err != nil {
			return err
		}
		tensors.MustMutableFlatData(w, func(W []float32) { a.mergeInto(mod, W, sign) })
		if wt, ok := m.Weights[name]; ok {
			if w, err = llama.ConvertFloat32(w, wt.DType()); err != nil {
				return err
			}
		} else {
			dequantized = append(dequantized, name)
		}
		m.SetWeight(name, w)
	}
	if len(dequantized) > 0 {
		log.Printf("lora: merge dequantized %d quantized base weights to float32 before merging (%s, ...): the merged model keeps them in float32",
			len(dequantized), dequantized[0])
	}
	if sign > 0 {
		for _, s := range append(slices.Clone(a.Plan.ModulesToSave), a.Plan.Biases...) {
			src := a.Tensors[s.Name]
			m.SetWeight(s.Name, tensors.FromFlatDataAndDimensions(tensors.MustCopyFlatData[float32](src), src.Shape().Dimensions...))
		}
	}
	return nil
}

// SaveMerged writes base with the adapter merged into dir (a HF model directory, as
// Model.SaveWith with opts), without changing base and without copying it: each weight is
// merged on a float32 copy just before it is written, one at a time. Quantized base weights are
// dequantized first (it says so); opts.DType chooses the stored dtype.
func (a *Adapter) SaveMerged(base *llama.Model, dir string, opts llama.SaveOptions) error {
	if err := a.checkMerge(base); err != nil {
		return err
	}
	if opts.Transform != nil {
		return fmt.Errorf("SaveMerged: opts.Transform is set; SaveMerged provides its own")
	}
	mods := map[string]Module{}
	for _, mod := range a.Plan.Modules {
		mods[mod.Name+".weight"] = mod
	}
	copies := map[string]bool{}
	for _, s := range append(slices.Clone(a.Plan.ModulesToSave), a.Plan.Biases...) {
		copies[s.Name] = true
	}
	dequantized := 0
	opts.Transform = func(name string, w *tensors.Tensor) (*tensors.Tensor, error) {
		if base.IsQuantized(name) {
			dequantized++
		}
		if copies[name] {
			return a.Tensors[name], nil
		}
		if mod, ok := mods[name]; ok {
			tensors.MustMutableFlatData(w, func(W []float32) { a.mergeInto(mod, W, 1) })
		}
		return w, nil
	}
	if err := base.SaveWith(dir, opts); err != nil {
		return err
	}
	if dequantized > 0 {
		log.Printf("lora: SaveMerged dequantized %d quantized base weights before merging; %s holds them dequantized", dequantized, dir)
	}
	return nil
}

// Clone deep-copies the adapter.
func (a *Adapter) Clone() *Adapter {
	c := &Adapter{Plan: a.Plan, Tensors: map[string]*tensors.Tensor{}}
	for n, t := range a.Tensors {
		c.Tensors[n] = tensors.FromFlatDataAndDimensions(tensors.MustCopyFlatData[float32](t), t.Shape().Dimensions...)
	}
	return c
}

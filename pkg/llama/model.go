package llama

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
)

// Adapter changes the model inside a graph: LoRA (package lora) implements it. Module names
// are HF module names without the parameter suffix ("model.layers.0.self_attn.q_proj",
// "lm_head", "model.embed_tokens").
type Adapter interface {
	// Linear returns the output of the Linear module given its input x [..., in] and the base
	// output y = x·Wᵀ (+ bias) [..., out]; return y itself for modules it does not adapt.
	Linear(module string, x, y *Node) *Node
	// Embedding returns the output of an Embedding module given the ids and the base output y.
	Embedding(module string, ids, y *Node) *Node
}

// Weights maps HF parameter names to graph nodes. Frozen base weights and trainable
// replacements (modules_to_save, trainable biases) are both just entries here.
type Weights map[string]*Node

func (w Weights) get(name string) *Node {
	n, ok := w[name]
	if !ok || n == nil {
		panic(fmt.Errorf("llama forward: weight %q is not among the graph's weights", name))
	}
	return n
}

// KVCache holds, for one graph, the key and value buffers of every layer ([B, S, nKV, headDim])
// and the position (scalar int32 node) where the new tokens' keys/values are written. After
// ForwardWithCache returns, Keys and Values hold the updated buffers.
type KVCache struct {
	Keys, Values []*Node
	Start        *Node
}

// Forward builds the logits [B, T, vocab] of the causal LM for inputIDs [B, T] (int32).
//
// positionIDs [B, T] (int32) are the rotary positions; nil means 0..T-1 on every row.
// segmentIDs [B, T] (int32) give packed rows: a token attends only to earlier tokens of its own
// segment (block-diagonal causal mask); nil means a plain causal mask. adapter may be nil.
//
// Weights must hold every name of Config.ParamSpecs (a quantized weight as the inputs listed in
// frozen.go; Model.Tensors lists them all). Base weights may be float32, bfloat16 or float16;
// the computation is float32.
func Forward(cfg *Config, w Weights, adapter Adapter, inputIDs, positionIDs, segmentIDs *Node) *Node {
	h := Hidden(cfg, w, adapter, inputIDs, positionIDs, segmentIDs, nil, nil)
	return LMHead(cfg, w, adapter, h)
}

// Hidden builds the final hidden states [B, T, hidden] (after the last RMSNorm). With a cache,
// keys/values are written into it at cache.Start and attention spans the whole cache under
// mask [B, T, S] (bool, true = may attend); without a cache mask is built from segmentIDs.
func Hidden(cfg *Config, w Weights, adapter Adapter, inputIDs, positionIDs, segmentIDs *Node, cache *KVCache, mask *Node) *Node {
	return hidden(cfg, w, adapter, inputIDs, positionIDs, segmentIDs, cache, mask, false)
}

// hidden is Hidden; with checkpointing each decoder layer is recomputed in the backward pass
// (see HiddenCheckpointed).
func hidden(cfg *Config, w Weights, adapter Adapter, inputIDs, positionIDs, segmentIDs *Node, cache *KVCache, mask *Node, checkpointing bool) *Node {
	g := inputIDs.Graph()
	dims := inputIDs.Shape().Dimensions
	if len(dims) != 2 {
		panic(fmt.Errorf("llama forward: inputIDs must be [batch, seq], got shape %s", inputIDs.Shape()))
	}
	B, T := dims[0], dims[1]
	ids := ConvertDType(inputIDs, dtypes.Int32)
	if positionIDs == nil {
		positionIDs = BroadcastPrefix(Iota(g, shapesInt32(T), 0), B)
	}
	causal := mask == nil // CausalMask's: attention may skip the blocks above the diagonal
	if mask == nil {
		mask = CausalMask(inputIDs, segmentIDs)
	}
	// Scores are laid out [B, nKV, T, group, S]; the mask broadcasts over heads.
	S := mask.Shape().Dimensions[2]
	mask5 := Reshape(mask, B, 1, T, 1, S)

	emb := w.get("model.embed_tokens.weight")
	x := float32Node(Gather(emb, InsertAxes(ids, -1))) // [B, T, H]; a bfloat16 table is converted row by row
	if adapter != nil {
		x = adapter.Embedding("model.embed_tokens", ids, x)
	}
	rot := rotary(cfg, positionIDs)
	masks := layerMasks(cfg, mask5, cache) // mask5, or a sliding window of it
	for l := 0; l < cfg.NumHiddenLayers; l++ {
		if checkpointing {
			x = checkpointedLayer(cfg, w, adapter, l, x, rot, masks[l])
			continue
		}
		x = decoderLayer(cfg, w, adapter, l, x, rot, masks[l], cache, causal)
	}
	if checkpointing {
		x = x.StopCheckpoint()
	}
	return rmsNorm(x, w.get("model.norm.weight"), cfg.RMSNormEps)
}

// LMHead applies lm_head (or the tied embedding) to hidden states [..., hidden] → logits [..., vocab].
func LMHead(cfg *Config, w Weights, adapter Adapter, hidden *Node) *Node {
	return linear(adapter, "lm_head", hidden, w, headWeightName(cfg, w), nil)
}

// headWeightName is the weight LMHead multiplies by: lm_head.weight, or the embedding when tied.
func headWeightName(cfg *Config, w Weights) string {
	name := "lm_head.weight"
	if cfg.TieWordEmbeddings {
		if _, ok := w[name]; !ok { // a modules_to_save copy of lm_head takes precedence
			name = "model.embed_tokens.weight"
		}
	}
	return name
}

// CausalMask returns the bool mask [B, T, T]: position t may attend to s when s <= t and, with
// segmentIDs, both tokens are in the same segment.
func CausalMask(inputIDs, segmentIDs *Node) *Node {
	g := inputIDs.Graph()
	B, T := inputIDs.Shape().Dimensions[0], inputIDs.Shape().Dimensions[1]
	row := Iota(g, shapesInt32(T, T), 0)
	col := Iota(g, shapesInt32(T, T), 1)
	causal := BroadcastPrefix(GreaterOrEqual(row, col), B)
	if segmentIDs == nil {
		return causal
	}
	seg := ConvertDType(segmentIDs, dtypes.Int32)
	same := Equal(InsertAxes(seg, -1), InsertAxes(seg, 1)) // [B,T,1] vs [B,1,T]
	return LogicalAnd(causal, same)
}

func shapesInt32(dims ...int) shapes.Shape { return shapes.Make(dtypes.Int32, dims...) }

// linear computes x·Wᵀ (+ b) for the weight named weight in w (frozenMatmul), contracting x's last axis with W's axis 1 (no transpose), then
// lets the adapter modify the result. Activations are flattened to 2-D [N, in] first: the
// weight gradients GoMLX derives for 2-D operands need only fast 2-D transposes.
func linear(adapter Adapter, module string, x *Node, w Weights, weight string, bias *Node) *Node {
	dims := x.Shape().Dimensions
	in := dims[len(dims)-1]
	x2 := x
	if len(dims) != 2 {
		x2 = Reshape(x, -1, in)
	}
	if _, ok := w[moduleAnchors]; ok { // gradient checkpointing: convert the weight when x2 exists
		w = anchorWeights(w, x2, weight)
	}
	var y *Node
	_, decoding := w[oneRowDecoding]
	switch n := x2.Shape().Dimensions[0]; {
	case n == 1 && decoding:
		y = rowTimesWeight(x2, w.linearWeight(weight))
	case n > 0 && n < 8:
		// A few rows: W·xᵀ runs on the Go backend's large-matrix kernel, several times faster
		// than its small-matrix path for x·Wᵀ.
		y = Transpose(DotGeneral(w.linearWeight(weight), []int{1}, nil, x2, []int{1}, nil), 0, 1)
	default:
		y = w.frozenMatmul(weight, x2)
	}
	if bias != nil {
		y = Add(y, ExpandLeftToRank(bias, 2))
	}
	if adapter != nil {
		y = adapter.Linear(module, x2, y)
	}
	if len(dims) != 2 {
		out := append([]int{}, dims[:len(dims)-1]...)
		y = Reshape(y, append(out, y.Shape().Dimensions[1])...)
	}
	return y
}

// oneRowDecoding is a Weights key (never a parameter name) set by the KV-cache decoding graph:
// a Linear module with a single row of input then uses rowTimesWeight. (Only there: a training
// graph with one-token loss chunks keeps its DotGenerals and their gradients.)
const oneRowDecoding = "\x00one-row-decoding"

// rowTimesWeight is x·Wᵀ for one row x [1, in] (a KV-cache decoding step) and W [out, in], as
// Σ_in (W ⊙ x): on the Go backend an elementwise product and a row sum read W once and take
// 0.45–0.6× the CPU of its DotGeneral, whose kernels for W of 4M values or more pack W on every
// call and fill 8 (x·Wᵀ) or 32 (W·xᵀ) register rows for the one used (BenchmarkDecodeMatVec,
// pkg/bench/NOTES.md).
func rowTimesWeight(x, w *Node) *Node {
	return InsertAxes(ReduceSum(Mul(w, BroadcastToDims(x, w.Shape().Dimensions...)), 1), 0)
}

func proj(cfg *Config, w Weights, adapter Adapter, module string, x *Node, bias bool) *Node {
	var b *Node
	if bias {
		b = float32Node(w.get(module + ".bias"))
	}
	return linear(adapter, module, x, w, module+".weight", b)
}

// rmsNorm is HF's LlamaRMSNorm: w · x / sqrt(mean(x²) + eps). (Rsqrt has no gradient in GoMLX.)
func rmsNorm(x, weight *Node, eps float64) *Node {
	ms := ReduceAndKeep(Square(x), ReduceMean, -1)
	y := Div(x, Sqrt(AddScalar(ms, eps)))
	return Mul(y, ExpandLeftToRank(float32Node(weight), y.Rank()))
}

// rope holds the rotary tables of a forward pass, broadcast to the query and key shapes
// [B, T, heads, 2, headDim/2]: cos twice, and sin as (−sin, +sin), so that applying the
// rotation x·cos + rotate_half(x)·sin (rotate_half(x) = cat(−x₂, x₁)) is two same-shape
// products, a sum and the swap of the two halves (Reverse), forward and backward: no slices,
// pads, concatenations or broadcasting products in every layer. The queries' tables also carry the attention scale
// 1/√headDim (rotation is linear), which saves a pass over q and over its gradient.
type rope struct{ qCos, qSin, kCos, kSin *Node }

// rotary builds the rope tables for positionIDs [B, T] (the two halves of HF's cat(freqs,
// freqs) are equal; rope_scaling in arch.go).
func rotary(cfg *Config, positionIDs *Node) rope {
	pos := ConvertDType(positionIDs, dtypes.Float32)
	if cfg.RopeScaling.Kind() == "linear" {
		pos = DivScalar(pos, cfg.RopeScaling.Factor)
	}
	inv, att := ropeFrequencies(cfg, positionIDs)               // rope_scaling: arch.go
	freqs := Mul(InsertAxes(pos, -1), ExpandLeftToRank(inv, 3)) // [B, T, d/2]
	freqs = InsertAxes(freqs, 2)                                // [B, T, 1, d/2]
	cos, sin := Cos(freqs), Sin(freqs)
	if att != 1 {
		cos, sin = MulScalar(cos, att), MulScalar(sin, att)
	}
	cos2 := Concatenate([]*Node{cos, cos}, 2)      // [B, T, 2, d/2]
	sin2 := Concatenate([]*Node{Neg(sin), sin}, 2) // (−sin, +sin)
	dims := cos2.Shape().Dimensions
	// The tables are broadcast over the heads once, with a rank change (ExpandAndBroadcast): a
	// same-rank broadcast (of a size-1 axis) would be folded into each product by the Go
	// backend's ImplicitBroadcastFusion pass, and a product broadcasting a middle axis runs its
	// generic element-by-element iterator (9% of a forward's CPU, pkg/bench/NOTES.md).
	at := func(t *Node, heads int, scale float64) *Node {
		if scale != 1 {
			t = MulScalar(t, scale)
		}
		return ExpandAndBroadcast(t, []int{dims[0], dims[1], heads, 2, dims[3]}, []int{2})
	}
	qs := 1 / math.Sqrt(float64(cfg.HeadDimension()))
	return rope{
		qCos: at(cos2, cfg.NumAttentionHeads, qs), qSin: at(sin2, cfg.NumAttentionHeads, qs),
		kCos: at(cos2, cfg.NumKeyValueHeads, 1), kSin: at(sin2, cfg.NumKeyValueHeads, 1),
	}
}

// applyRotary is x·cos + rotate_half(x)·sin on x [B, T, heads, d] with the tables of rope.
func applyRotary(x, cos, sin *Node) *Node {
	d := x.Shape().Dimensions
	x5 := Reshape(x, d[0], d[1], d[2], 2, d[3]/2)
	return Reshape(Add(Mul(x5, cos), Mul(Reverse(x5, 3), sin)), d...)
}

// decoderLayer is one decoder layer; causal says that mask5 allows no key after its query
// (CausalMask, or a sliding window of it).
func decoderLayer(cfg *Config, w Weights, adapter Adapter, l int, x *Node, rot rope, mask5 *Node, cache *KVCache, causal bool) *Node {
	p := fmt.Sprintf("model.layers.%d.", l)
	B, T := x.Shape().Dimensions[0], x.Shape().Dimensions[1]
	nH, nKV, hd := cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDimension()

	h := rmsNorm(x, w.get(p+"input_layernorm.weight"), cfg.RMSNormEps)
	q := proj(cfg, w, adapter, p+"self_attn.q_proj", h, cfg.HasQKVBias())
	k := proj(cfg, w, adapter, p+"self_attn.k_proj", h, cfg.HasQKVBias())
	v := proj(cfg, w, adapter, p+"self_attn.v_proj", h, cfg.HasQKVBias())
	// The 1/sqrt(d) scale is in q's rotary tables, applied after Qwen3's per-head norm
	// (headNorm, arch.go; identity for the other architectures).
	q = applyRotary(headNorm(cfg, w, p+"self_attn.q_norm", Reshape(q, B, T, nH, hd)), rot.qCos, rot.qSin)
	k = applyRotary(headNorm(cfg, w, p+"self_attn.k_norm", Reshape(k, B, T, nKV, hd)), rot.kCos, rot.kSin)
	v = Reshape(v, B, T, nKV, hd)
	if cache != nil {
		zero := ScalarZero(x.Graph(), dtypes.Int32)
		start := ConvertDType(cache.Start, dtypes.Int32)
		cache.Keys[l] = DynamicUpdateSlice(cache.Keys[l], k, []*Node{zero, start, zero, zero})
		cache.Values[l] = DynamicUpdateSlice(cache.Values[l], v, []*Node{zero, start, zero, zero})
		k, v = cache.Keys[l], cache.Values[l]
	}
	var att *Node // [B, T, nH*hd]
	if causal && cache == nil {
		att = causalAttention(q, k, v, mask5)
	} else {
		att = attention(q, k, v, mask5)
	}
	x = Add(x, proj(cfg, w, adapter, p+"self_attn.o_proj", att, cfg.HasOBias()))

	h = rmsNorm(x, w.get(p+"post_attention_layernorm.weight"), cfg.RMSNormEps)
	gate := proj(cfg, w, adapter, p+"mlp.gate_proj", h, false)
	up := proj(cfg, w, adapter, p+"mlp.up_proj", h, false)
	act := Mul(Mul(gate, Sigmoid(gate)), up) // SiLU(gate) * up
	return Add(x, proj(cfg, w, adapter, p+"mlp.down_proj", act, false))
}

// attention is softmax(q·kᵀ masked)·v for q [B, T, nH, hd] (already scaled by 1/√hd), k and v
// [B, S, nKV, hd] and mask5 [B, 1, T, 1, S] (true = may attend; a token's own causal, packed or
// sliding-window mask, always exact). It returns [B, T, nH·hd].
//
// GoMLX's fused scaled-dot-product attention (attention.Core) is not used: the Go backend has no
// fused backward (its VJP would recompute these scores beside the fused forward), and its fused
// forward (a scalar loop per query row) made KV-cache decoding 1.5–1.8× more CPU per token than
// this form (pkg/bench/NOTES.md).
//
// It is grouped-query attention without repeating k/v (query head h = kv*group + j), laid out
// batch-major ([B, nKV, ...]) so that every DotGeneral and its gradients run as plain batched
// matmuls in the Go backend (lhs contracting axes last), with two exceptions taken care of: the
// head transposes are rank-4 [0, 2, 1, 3] ones (the backend's fast path; rank 5 would go through
// its element-by-element iterator), and the key and value gradients are formed without
// transposing a [B, nKV, T, group, S] tensor (batchedDot).
func attention(q, k, v, mask5 *Node) *Node {
	qh, kh, vh := headsMajor(q, k, v)
	return headsMinor(attendBlock(qh, kh, vh, mask5), q.Shape())
}

// causalBlockLen is the query block length of causalAttention for T queries: 256, but two
// blocks of T/2 from 256 to 511 queries (bench-small's seq 256: −3 % CPU per step, while at seq
// 512 four blocks of 128 cost more in slices than they save: pkg/bench/NOTES.md); 0 — plain
// attention, one block — below 256.
func causalBlockLen(T int) int {
	switch {
	case T < 256:
		return 0
	case T < 512:
		return (T + 1) / 2
	}
	return 256
}

// causalAttention is attention for a mask that allows no key after its query (T = S): the
// queries are cut into blocks (causalBlockLen) and block i attends only to keys [0, end of block
// i), so that the score blocks above the diagonal — all masked, each exactly 0 after the
// softmax — are neither computed nor differentiated: (nb+1)/(2·nb) of the scores' matmuls,
// masking and softmax (75% at seq 256 and 512, 56% at 2048). The mask is applied within each
// block as in attention, so causal, packed and sliding-window masks stay exact.
func causalAttention(q, k, v, mask5 *Node) *Node {
	T := q.Shape().Dimensions[1]
	block := causalBlockLen(T)
	if block == 0 || k.Shape().Dimensions[1] != T {
		return attention(q, k, v, mask5)
	}
	qh, kh, vh := headsMajor(q, k, v)
	var blocks []*Node
	for lo := 0; lo < T; lo += block {
		hi := min(T, lo+block)
		qb := sliceAxes(qh, []int{2}, []int{lo}, []int{hi})
		kb := sliceAxes(kh, []int{2}, []int{0}, []int{hi})
		vb := sliceAxes(vh, []int{2}, []int{0}, []int{hi})
		mb := sliceAxes(mask5, []int{2, 4}, []int{lo, 0}, []int{hi, hi})
		blocks = append(blocks, attendBlock(qb, kb, vb, mb))
	}
	return headsMinor(Concatenate(blocks, 2), q.Shape())
}

// sliceAxes is x[lo[i]:hi[i]] along each axis of axes (increasing), the other axes whole; x
// itself when that is all of x. It is a gather of one window (GatherSlices), which the Go
// backend copies in contiguous runs — its Slice copies element by element (≈ 2 ns each) — and
// whose gradient is a scatter-add of runs where Slice's is a Pad.
func sliceAxes(x *Node, axes, lo, hi []int) *Node {
	dims := x.Shape().Dimensions
	start := make([]int32, len(axes))
	sizes := make([]int, len(axes))
	whole := true
	for i, a := range axes {
		start[i], sizes[i] = int32(lo[i]), hi[i]-lo[i]
		whole = whole && lo[i] == 0 && hi[i] == dims[a]
	}
	if whole {
		return x
	}
	return GatherSlices(x, axes, Const(x.Graph(), start), sizes, true)
}

// headsMajor lays out q [B, T, nH, hd] as [B, nKV, T, group, hd] and k, v [B, S, nKV, hd] as
// [B, nKV, S, hd] (rank-4 [0, 2, 1, 3] transposes: the Go backend's fast path).
func headsMajor(q, k, v *Node) (qh, kh, vh *Node) {
	qd := q.Shape().Dimensions
	B, T, nH, hd := qd[0], qd[1], qd[2], qd[3]
	nKV := k.Shape().Dimensions[2]
	group := nH / nKV
	qh = Reshape(TransposeAllAxes(Reshape(q, B, T, nKV, group*hd), 0, 2, 1, 3), B, nKV, T, group, hd)
	return qh, TransposeAllAxes(k, 0, 2, 1, 3), TransposeAllAxes(v, 0, 2, 1, 3)
}

// headsMinor turns the attention output [B, nKV, T, group, hd] back into [B, T, nH·hd] (qShape
// is q's [B, T, nH, hd]).
func headsMinor(att *Node, qShape shapes.Shape) *Node {
	B, T, nH, hd := qShape.Dimensions[0], qShape.Dimensions[1], qShape.Dimensions[2], qShape.Dimensions[3]
	nKV := att.Shape().Dimensions[1]
	return Reshape(TransposeAllAxes(Reshape(att, B, nKV, T, nH/nKV*hd), 0, 2, 1, 3), B, T, nH*hd)
}

// attendBlock is softmax(q·kᵀ masked)·v for qh [B, nKV, T, group, hd], kh and vh [B, nKV, S, hd]
// and mask5 [B, 1, T, 1, S]; it returns [B, nKV, T, group, hd].
func attendBlock(qh, kh, vh, mask5 *Node) *Node {
	scores := batchedDot(qh, kh, 3) // [B, nKV, T, group, S]
	return batchedDot(maskedSoftmax(scores, mask5), vh, 2)
}

// maskedSoftmax is Softmax(Where(mask, scores, −MaxFloat32), -1) — masked scores get probability
// exactly 0 — with the gradient written out: dScores = p ⊙ (dP − Σ dP ⊙ p), which is 0 where
// masked. GoMLX's Softmax runs the backend's fused kernel forward, but its gradient comes from
// the decomposed graph (max, exp, sum, div), which the Go backend then computes in the forward
// pass as well, and whose VJP takes several more passes over the scores (and the Where's VJP one
// more). Here, as in batchedDot, the identity on the probabilities records dP and the one on the
// scores, reached later, replaces their gradient; the decomposed graph and its VJP are left
// unused and eliminated by the executor.
func maskedSoftmax(scores, mask *Node) *Node {
	var dP, pUsed *Node
	s := IdentityWithCustomGradient(scores, func(_, v *Node) *Node {
		if dP == nil { // not reached through the probabilities: keep GoMLX's gradient
			return v
		}
		d, p := dP, pUsed
		dP = nil
		return Mul(p, Sub(d, ReduceAndKeep(Mul(d, p), ReduceSum, -1)))
	})
	s = Where(mask, s, Scalar(scores.Graph(), dtypes.Float32, -math.MaxFloat32))
	return IdentityWithCustomGradient(Softmax(s, -1), func(p, v *Node) *Node {
		dP, pUsed = v, p
		return v
	})
}

// batchedDot is DotGeneral(lhs [B, H, T, g, X], {4}, rhs, {rhsAxis}) with batch axes {0, 1},
// where rhs is [B, H, X, Y] (rhsAxis 2) or [B, H, Y, X] (rhsAxis 3); the result is
// [B, H, T, g, Y]. Value and gradients are the plain DotGeneral's, but rhs's gradient
// Σ_{T,g} lhs ⊗ dOut is formed so that the Go backend transposes only the smaller of lhs and
// dOut. GoMLX's own VJP puts dOut on the left contracting its (T, g) axes, which are not
// trailing; the Go backend then transposes both operands element by element, one of them a
// full [B, H, T, g, S] score tensor (the key gradient of q·kᵀ, the value gradient of p·v).
//
// It uses GoMLX's public custom gradients: the identity on the result records dOut (and the lhs
// it was computed from, so that a rematerialised layer uses its recomputed lhs) when the
// backward pass reaches it; the identity on rhs, reached later (it was built earlier), then
// replaces the DotGeneral's rhs gradient, which is left unused and never computed. The recorded
// dOut is consumed there, so that a second Gradient over the same graph records its own.
func batchedDot(lhs, rhs *Node, rhsAxis int) *Node {
	var dOut, lhsUsed *Node
	r := IdentityWithCustomGradient(rhs, func(_, v *Node) *Node {
		if dOut == nil { // not reached through the product: keep GoMLX's gradient
			return v
		}
		d := dOut
		dOut = nil
		b := []int{0, 1}
		if lhsUsed.Shape().Size() <= d.Shape().Size() {
			lt := lastAxisAfterBatch(lhsUsed)                       // [B, H, X, T, g]
			xy := DotGeneral(lt, []int{3, 4}, b, d, []int{2, 3}, b) // [B, H, X, Y]
			if rhsAxis == 2 {
				return xy
			}
			return TransposeAllAxes(xy, 0, 1, 3, 2)
		}
		dt := lastAxisAfterBatch(d)                                   // [B, H, Y, T, g]
		yx := DotGeneral(dt, []int{3, 4}, b, lhsUsed, []int{2, 3}, b) // [B, H, Y, X]
		if rhsAxis == 3 {
			return yx
		}
		return TransposeAllAxes(yx, 0, 1, 3, 2)
	})
	out := DotGeneral(lhs, []int{4}, []int{0, 1}, r, []int{rhsAxis}, []int{0, 1})
	return IdentityWithCustomGradient(out, func(x, v *Node) *Node {
		dOut, lhsUsed = v, lhs
		if in := x.Inputs(); len(in) == 1 && in[0].Type() == NodeTypeDotGeneral {
			lhsUsed = in[0].Inputs()[0]
		}
		return v
	})
}

// lastAxisAfterBatch moves the last axis of x [B, H, T, g, X] after the two batch axes: [B, H,
// X, T, g]. The Go backend has no fast path for that permutation (its element-by-element
// iterator takes 5–6 ns per element); for a short last axis (a head's dimension) the product
// with an X×X identity matrix does the same in its matmul kernel, whose packing is the transpose,
// at 2·X multiply-adds per element — exact for finite values (one product by 1, the others
// by 0). ([8, 8, 256, 1, 32]: 2.2 → 0.4 CPU ms net of reading x, pkg/bench/NOTES.md.)
func lastAxisAfterBatch(x *Node) *Node {
	d := x.Shape().Dimensions
	X := d[len(d)-1]
	if X > 64 {
		return TransposeAllAxes(x, 0, 1, 4, 2, 3)
	}
	eye := BroadcastPrefix(ConvertDType(Diagonal(x.Graph(), X), x.DType()), d[0], d[1]) // [B, H, X, X]
	return DotGeneral(eye, []int{3}, []int{0, 1}, x, []int{4}, []int{0, 1})
}

// NewWeights pairs names with graph nodes (e.g. the inputs of an Exec graph function).
func NewWeights(names []string, nodes []*Node) Weights {
	if len(names) != len(nodes) {
		panic(fmt.Errorf("llama.NewWeights: %d names for %d nodes", len(names), len(nodes)))
	}
	w := make(Weights, len(names))
	for i, n := range names {
		w[n] = nodes[i]
	}
	return w
}

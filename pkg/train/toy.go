package train

import (
	"math/rand/v2"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph-building style
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/loralab/loralab/pkg/mask"
)

// ToyLMConfig configures ToyLM.
type ToyLMConfig struct {
	Vocab, Dim int
	Dropout    float64 // on the hidden state, in training
	Seed       uint64  // initialisation seed
}

// ToyLM returns a tiny language model for tests, examples and notebooks that explain the
// trainer without a real model: each token sees itself and its predecessor,
//
//	h_t = tanh((E[x_t] + E[x_{t−1}]·½) · W)     logits_t = dropout(h_t) · Hᵀ + b
//
// with trainable "embed.weight" E [V, D], "mlp.weight" W [D, D] and "lm_head.weight" H [V, D],
// and a frozen "lm_head.bias" b [V] (random, to show frozen parameters: read, never trained).
func ToyLM(cfg ToyLMConfig) Model {
	r := rand.New(rand.NewPCG(cfg.Seed, 0x70e))
	normal := func(std float64, dims ...int) *tensors.Tensor {
		n := 1
		for _, d := range dims {
			n *= d
		}
		flat := make([]float32, n)
		for i := range flat {
			flat[i] = float32(r.NormFloat64() * std)
		}
		return tensors.FromFlatDataAndDimensions(flat, dims...)
	}
	V, D := cfg.Vocab, cfg.Dim
	m := Model{
		Trainable: map[string]*tensors.Tensor{
			"embed.weight":   normal(0.5, V, D),
			"mlp.weight":     normal(1/float64(D), D, D),
			"lm_head.weight": normal(0.5, V, D),
		},
		Frozen: map[string]*tensors.Tensor{"lm_head.bias": normal(0.1, V)},
	}
	m.Logits = func(in *Inputs) *Node {
		E, W, H, b := in.Param("embed.weight"), in.Param("mlp.weight"), in.Param("lm_head.weight"), in.Param("lm_head.bias")
		ids := ConvertDType(in.InputIDs, dtypes.Int32)
		x := Gather(E, InsertAxes(ids, -1)) // [B, T, D]
		prev := ShiftWithScalar(x, 1, ShiftDirRight, 1, 0)
		if in.SegmentIDs != nil { // packed rows: no mixing across sequences
			seg := ConvertDType(in.SegmentIDs, dtypes.Int32)
			same := Equal(seg, ShiftWithScalar(seg, 1, ShiftDirRight, 1, -1))
			prev = Where(InsertAxes(same, -1), prev, ZerosLike(prev))
		}
		h := Tanh(Einsum("btd,de->bte", Add(x, MulScalar(prev, 0.5)), W))
		h = in.Dropout(h, cfg.Dropout)
		return Add(Einsum("btd,vd->btv", h, H), Reshape(b, 1, 1, V))
	}
	return m
}

// ToyExamples returns n deterministic two-turn "dialogues" over a vocabulary of vocab ≥ 8 ids
// (id 0 is padding): each turn is a prompt of random tokens (label mask.IgnoreIndex, Turn -1)
// followed by a reply in which every token is (previous·3 + 1) mod vocab, the first from the
// last prompt token (supervised, Turn = the 0-based turn index).
// Lengths vary with the seed, so batches need padding.
func ToyExamples(n, vocab int, seed uint64) []mask.Example {
	r := rand.New(rand.NewPCG(seed, 0xe7a))
	out := make([]mask.Example, n)
	for i := range out {
		var ex mask.Example
		for turn := int32(0); turn < 2; turn++ {
			for range 2 + r.IntN(3) {
				ex.InputIDs = append(ex.InputIDs, int32(1+r.IntN(vocab-1)))
				ex.Labels = append(ex.Labels, mask.IgnoreIndex)
				ex.Turn = append(ex.Turn, -1)
			}
			tok := ex.InputIDs[len(ex.InputIDs)-1]
			for range 2 + r.IntN(4) {
				tok = (tok*3 + 1) % int32(vocab)
				ex.InputIDs = append(ex.InputIDs, tok)
				ex.Labels = append(ex.Labels, tok)
				ex.Turn = append(ex.Turn, turn)
			}
		}
		out[i] = ex
	}
	return out
}

package llama

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// GenerateOptions are the decoding settings, named and meant as in HF's GenerationConfig.
type GenerateOptions struct {
	MaxNewTokens      int     // default 64
	DoSample          bool    // false: greedy (argmax) decoding
	Temperature       float64 // sampling temperature; 0 means 1
	TopK              int     // keep the k most likely tokens (0: off)
	TopP              float64 // nucleus sampling: keep the smallest set with probability >= TopP (0 or 1: off)
	RepetitionPenalty float64 // HF's CTRL penalty on every token seen so far (0 or 1: off)
	Seed              uint64  // sampling seed
	// EOSTokenIDs stop generation (the EOS token is kept in the output). nil: the model's
	// (Model.EOSTokenIDs: generation_config.json's eos_token_id, else config.json's).
	EOSTokenIDs []int
	// StopStrings stop generation once the decoded new text contains one of them. Needs Decode.
	StopStrings []string
	// Decode turns token ids into text (the tokenizer's decode); used for stop strings and streaming.
	Decode func(ids []int) string
	// OnToken, when set, receives each new token as it is produced, with the text it adds (when
	// Decode is set). Returning false stops generation.
	OnToken func(id int, text string) bool
	// NoCache recomputes the whole sequence each step instead of using the KV cache (for tests).
	NoCache bool
}

// Generation is the result of Generate.
type Generation struct {
	Tokens     []int  // new tokens (the prompt excluded), EOS included when it stopped the generation
	Text       string // Decode(Tokens), when Decode is set
	StopReason string // "eos", "stop_string", "max_new_tokens" or "callback"
}

// generator holds the compiled step graph of a Runner.
type generator struct {
	step *Exec
}

// stepGraph builds: inputs = weights..., ids [B, T], start (int32 scalar), last (int32 scalar:
// the position within ids whose logits are wanted), caches (2·layers of [B, S, nKV, hd]);
// outputs = logits at position last [B, V], then the updated caches. Prompts are padded to a
// bucket length; the padding's keys/values land in cache slots that later tokens overwrite
// before any query may see them.
func (r *Runner) stepGraph(in []*Node) []*Node {
	cfg := r.Model.Config
	nw := len(r.names)
	w, ad := r.bind(in[:nw])
	w[oneRowDecoding] = nil // one-token steps: rowTimesWeight (model.go)
	ids, start, lastIdx := in[nw], in[nw+1], in[nw+2]
	L := cfg.NumHiddenLayers
	cache := &KVCache{Keys: slices.Clone(in[nw+3 : nw+3+L]), Values: slices.Clone(in[nw+3+L : nw+3+2*L]), Start: start}
	g := ids.Graph()
	B, T := ids.Shape().Dimensions[0], ids.Shape().Dimensions[1]
	S := cache.Keys[0].Shape().Dimensions[1]
	t := Iota(g, shapes.Make(dtypes.Int32, B, T), 1)
	pos := Add(t, start)
	// Query t (at absolute position start+t) may see cache slot s when s <= start+t.
	qpos := Add(Iota(g, shapes.Make(dtypes.Int32, B, T, S), 1), start)
	kpos := Iota(g, shapes.Make(dtypes.Int32, B, T, S), 2)
	mask := GreaterOrEqual(qpos, kpos)
	h := Hidden(cfg, w, ad, ids, pos, nil, cache, mask)
	// Pick position lastIdx with a one-hot contraction (DynamicSlice is not in the Go backend).
	pick := OneHot(ConvertDType(lastIdx, dtypes.Int32), T, dtypes.Float32) // [T]
	last := DotGeneral(h, []int{1}, nil, pick, []int{0}, nil)              // [B, H]
	logits := LMHead(cfg, w, ad, last)                                     // [B, V]
	return append(append([]*Node{logits}, cache.Keys...), cache.Values...)
}

// Generate continues a prompt (token ids, e.g. a chat template's rendering with its generation
// prompt) with a KV cache, one token at a time.
func (r *Runner) Generate(prompt []int, opts GenerateOptions) (*Generation, error) {
	cfg := r.Model.Config
	if len(prompt) == 0 {
		return nil, fmt.Errorf("generate: empty prompt")
	}
	for i, id := range prompt {
		if id < 0 || id >= cfg.VocabSize {
			return nil, fmt.Errorf("generate: prompt token %d is %d, outside the vocabulary [0, %d)", i, id, cfg.VocabSize)
		}
	}
	if opts.MaxNewTokens <= 0 {
		opts.MaxNewTokens = 64
	}
	if len(opts.StopStrings) > 0 && opts.Decode == nil {
		return nil, fmt.Errorf("generate: stop strings need a Decode function")
	}
	eos := opts.EOSTokenIDs
	if eos == nil {
		eos = r.Model.EOSTokenIDs()
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x67656e))
	seq := slices.Clone(prompt)
	res := &Generation{StopReason: "max_new_tokens"}

	var next func() ([]float32, error) // logits for the next token given seq
	if opts.NoCache {
		next = func() ([]float32, error) {
			ids := make([]int32, len(seq))
			for i, v := range seq {
				ids[i] = int32(v)
			}
			out, err := r.Logits([][]int32{ids}, nil, nil)
			if err != nil {
				return nil, err
			}
			all := tensors.MustCopyFlatData[float32](out)
			return all[(len(seq)-1)*cfg.VocabSize:], nil
		}
	} else {
		if r.gen == nil {
			e, err := NewExec(r.Backend, r.stepGraph)
			if err != nil {
				return nil, err
			}
			r.gen = &generator{step: e.SetMaxCache(-1)}
		}
		// The cache length is rounded up so that a few graph shapes serve many calls.
		S := (len(prompt) + opts.MaxNewTokens + 127) / 128 * 128
		L, nKV, hd := cfg.NumHiddenLayers, cfg.NumKeyValueHeads, cfg.HeadDimension()
		caches := make([]*tensors.Tensor, 2*L)
		for i := range caches {
			caches[i] = tensors.FromShape(shapes.Make(dtypes.Float32, 1, S, nKV, hd))
		}
		done := 0 // tokens of seq already in the cache
		next = func() ([]float32, error) {
			chunk := seq[done:]
			n := len(chunk)
			// Pad prompts to a multiple of 16 tokens, so few prefill graphs are compiled (not
			// with dynamic rope scaling, whose frequencies depend on the largest position).
			if n > 1 && cfg.RopeScaling.Kind() != "dynamic" {
				n = min((n+15)/16*16, S-done)
			}
			ids := make([]int32, n)
			for i, v := range chunk {
				ids[i] = int32(v)
			}
			args := r.args(tensors.FromFlatDataAndDimensions(ids, 1, n), int32(done), int32(len(chunk)-1))
			for _, c := range caches {
				// Donate the cache buffers: the backend may update them in place.
				d, err := DonateTensorBuffer(c, r.Backend, 0)
				if err != nil {
					return nil, err
				}
				args = append(args, d)
			}
			outs, err := r.gen.step.Exec(args...)
			if err != nil {
				return nil, err
			}
			copy(caches, outs[1:])
			done = len(seq)
			return tensors.MustCopyFlatData[float32](outs[0]), nil
		}
	}

	prevText := ""
	for len(res.Tokens) < opts.MaxNewTokens {
		logits, err := next()
		if err != nil {
			return nil, fmt.Errorf("generate: step %d: %w", len(res.Tokens), err)
		}
		id := ChooseToken(logits, seq, opts, rng)
		seq = append(seq, id)
		res.Tokens = append(res.Tokens, id)
		text := ""
		if opts.Decode != nil {
			full := opts.Decode(res.Tokens)
			text = strings.TrimPrefix(full, prevText)
			prevText = full
		}
		if opts.OnToken != nil && !opts.OnToken(id, text) {
			res.StopReason = "callback"
			break
		}
		if slices.Contains(eos, id) {
			res.StopReason = "eos"
			break
		}
		if stop := slices.ContainsFunc(opts.StopStrings, func(s string) bool { return s != "" && strings.Contains(prevText, s) }); stop {
			res.StopReason = "stop_string"
			break
		}
	}
	if opts.Decode != nil {
		res.Text = opts.Decode(res.Tokens)
	}
	return res, nil
}

// ChooseToken picks the next token from logits [V] with HF's processors in HF's order:
// repetition penalty over every token of seq, then (when sampling) temperature, top-k and
// top-p, then a draw from the softmax; without DoSample it returns the argmax.
func ChooseToken(logits []float32, seq []int, opts GenerateOptions, rng *rand.Rand) int {
	scores := make([]float64, len(logits))
	for i, v := range logits {
		scores[i] = float64(v)
	}
	if p := opts.RepetitionPenalty; p > 0 && p != 1 {
		seen := map[int]bool{}
		for _, id := range seq {
			if seen[id] || id < 0 || id >= len(scores) {
				continue
			}
			seen[id] = true
			if scores[id] < 0 {
				scores[id] *= p
			} else {
				scores[id] /= p
			}
		}
	}
	if !opts.DoSample {
		best := 0
		for i, s := range scores {
			if s > scores[best] {
				best = i
			}
		}
		return best
	}
	if t := opts.Temperature; t > 0 && t != 1 {
		for i := range scores {
			scores[i] /= t
		}
	}
	negInf := math.Inf(-1)
	if k := opts.TopK; k > 0 && k < len(scores) {
		sorted := slices.Clone(scores)
		sort.Sort(sort.Reverse(sort.Float64Slice(sorted)))
		kth := sorted[k-1]
		for i, s := range scores {
			if s < kth {
				scores[i] = negInf
			}
		}
	}
	probs := softmax64(scores)
	if p := opts.TopP; p > 0 && p < 1 {
		order := make([]int, len(probs))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return probs[order[a]] > probs[order[b]] })
		var above float64
		for n, i := range order {
			if n > 0 && above >= p { // HF keeps a token while the mass ranked above it is < top_p
				scores[i] = negInf
			}
			above += probs[i]
		}
		probs = softmax64(scores)
	}
	u := rng.Float64()
	var acc float64
	last := 0
	for i, q := range probs {
		if q == 0 {
			continue
		}
		last = i
		acc += q
		if u < acc {
			return i
		}
	}
	return last
}

func softmax64(x []float64) []float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, v)
	}
	out := make([]float64, len(x))
	var sum float64
	for i, v := range x {
		if math.IsInf(v, -1) {
			continue
		}
		out[i] = math.Exp(v - mx)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

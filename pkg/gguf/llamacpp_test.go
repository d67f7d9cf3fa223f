package gguf

import (
	"errors"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/lora"
	"github.com/loralab/loralab/pkg/tokenizer"
)

// These tests export models and adapters as GGUF and run them in llama.cpp itself (npm
// node-llama-cpp@3.21.1, prebuilt, CPU, offline; docker/setup.sh installs it into
// $LORALAB_CACHE/llamacpp): llama.cpp's tokens, greedy continuations and next-token
// log-probabilities must equal ours.

const tinyDir = "../../datasets/tiny_base"

// bilingual is the tokenization test set: mixed scripts, digits, code, whitespace runs, emoji.
var bilingual = []string{
	"Hello, world!",
	"你好，世界。今天天气怎么样？",
	"The sky is blue; 天空是蓝色的。",
	"I have 12345 apples and 678 oranges.",
	"func main() { fmt.Println(\"hi\") }",
	"  two spaces, then\ttab\nnew line\r\n",
	"Emoji 🙂 and 𠮷 and café.",
	"我叫小灵 — 很高兴认识你！",
	"trailing spaces   ",
	"MiXeD CaSe and 'quotes' and \"double\" and it's, we'll, they're",
}

// runLlamaCpp runs llama.cpp on the runs; without it the test is skipped (it fails in CI).
func runLlamaCpp(t *testing.T, runs []Run) []RunResult {
	t.Helper()
	res, err := LlamaCpp(runs...)
	if errors.Is(err, ErrNoLlamaCpp) && os.Getenv("CI") == "" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// ours is what LoRA Lab computes for the prompts: greedy continuations (stopping after EOS, as
// the llama.cpp side does) and the log-softmax of the next token's logits.
type ours struct {
	greedy   [][]int
	logprobs [][]float64 // per prompt, over the vocabulary
}

func compute(t *testing.T, m *llama.Model, ad llama.GraphAdapter, prompts [][]int, maxTokens int) ours {
	t.Helper()
	r, err := llama.NewRunner(backend.MustDefault(), m, ad)
	if err != nil {
		t.Fatal(err)
	}
	var o ours
	for _, p := range prompts {
		g, err := r.Generate(p, llama.GenerateOptions{MaxNewTokens: maxTokens})
		if err != nil {
			t.Fatal(err)
		}
		o.greedy = append(o.greedy, g.Tokens)
		ids := make([]int32, len(p))
		for i, id := range p {
			ids[i] = int32(id)
		}
		lt, err := r.Logits([][]int32{ids}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		logits := tensors.MustCopyFlatData[float32](lt)
		V := m.Config.VocabSize
		last := logits[len(logits)-V:]
		mx := slices.Max(last)
		var sum float64
		for _, x := range last {
			sum += math.Exp(float64(x - mx))
		}
		lp := make([]float64, V)
		for i, x := range last {
			lp[i] = float64(x-mx) - math.Log(sum)
		}
		o.logprobs = append(o.logprobs, lp)
	}
	return o
}

// compareNext checks llama.cpp's top next-token log-probabilities against ours, within
// tol·(1 + |log p|) (float32 logits of magnitude L carry errors ∝ L); it returns the largest
// difference.
func compareNext(t *testing.T, what string, got RunResult, want ours, tol float64) float64 {
	t.Helper()
	worst := 0.0
	for i, n := range got.Next {
		for j, id := range n.IDs {
			d := math.Abs(n.LogProbs[j] - want.logprobs[i][id])
			worst = max(worst, d)
			if lim := tol * (1 + math.Abs(want.logprobs[i][id])); d > lim {
				t.Errorf("%s: prompt %d: log p(%d) = %.5f in llama.cpp, %.5f here (|Δ| %.2g > %.2g)", what, i, id, n.LogProbs[j], want.logprobs[i][id], d, lim)
			}
		}
	}
	return worst
}

// chatPrompts renders a few conversations with the tiny template and the generation prompt.
func chatPrompts(t *testing.T, tok *tokenizer.Tokenizer) [][]int {
	t.Helper()
	tmpl, err := chat.Lookup("tiny")
	if err != nil {
		t.Fatal(err)
	}
	var out [][]int
	for _, q := range []string{"What colour is the sky?", "天空是什么颜色的？", "What is 3 plus 4?", "Tell me about the sea.", "你叫什么名字？"} {
		segs, err := tmpl.Render(chat.Conversation{Messages: []chat.Message{{Role: "user", Content: q}}}, true)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tok.EncodeSpecial(chat.Join(segs)))
	}
	return out
}

// loadTiny loads the tiny base model and its tokenizer.
func loadTiny(t *testing.T) (*llama.Model, *tokenizer.Tokenizer) {
	t.Helper()
	m, err := llama.LoadModel(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	return m, tok
}

func TestLlamaCppTinyBase(t *testing.T) {
	m, tok := loadTiny(t)
	prompts := chatPrompts(t, tok)
	dir := t.TempDir()
	types := []Type{F32, F16, Q8_0}
	var runs []Run
	for _, typ := range types {
		path := filepath.Join(dir, "tiny-"+typ.String()+".gguf")
		if err := WriteModel(path, m, tinyDir, ModelOptions{Type: typ}); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, Run{Model: path, Texts: bilingual, Prompts: prompts, MaxTokens: 24, Top: 5})
	}
	res := runLlamaCpp(t, runs)
	for i, text := range bilingual {
		if want := tok.Encode(text); !slices.Equal(res[0].Tokens[i], want) {
			t.Errorf("tokens of %q: llama.cpp %v, ours %v", text, res[0].Tokens[i], want)
		}
	}
	for k, typ := range types {
		want := compute(t, rounded(m, typ), nil, prompts, 24)
		agree := 0
		for i := range prompts {
			if slices.Equal(res[k].Greedy[i], want.greedy[i]) {
				agree++
			} else if typ != Q8_0 {
				t.Errorf("%s: greedy continuation of prompt %d: llama.cpp %q, ours %q", typ, i, tok.Decode(res[k].Greedy[i]), tok.Decode(want.greedy[i]))
			}
		}
		tol := map[Type]float64{F32: 1e-3, F16: 2e-3, Q8_0: 0.02}[typ]
		worst := compareNext(t, typ.String(), res[k], want, tol)
		t.Logf("%s: greedy continuations equal on %d/%d prompts; worst next-token log-prob difference %.2g", typ, agree, len(prompts), worst)
	}
}

// rounded is m with its matrices as llama.cpp reads them back from typ (norms stay float32).
func rounded(m *llama.Model, typ Type) *llama.Model {
	if typ == F32 {
		return m
	}
	out := &llama.Model{Config: m.Config, Weights: map[string]*tensors.Tensor{}}
	for name, w := range m.Weights {
		if w.Shape().Rank() != 2 {
			out.Weights[name] = w
			continue
		}
		vals := tensors.MustCopyFlatData[float32](w)
		t := typ
		if t == Q8_0 && w.Shape().Dimensions[1]%q8Block != 0 {
			t = F16
		}
		out.Weights[name] = tensors.FromFlatDataAndDimensions(RoundTrip(t, vals), w.Shape().Dimensions...)
	}
	return out
}

// qwen2Random is a Qwen2-style model (GQA, q/k/v biases, tied embeddings) with random weights
// large enough that its next-token distributions are peaked, on the tiny tokenizer's vocabulary.
func qwen2Random(t *testing.T) *llama.Model {
	t.Helper()
	cfg := llama.DefaultConfig(4096, 128, 256, 2, 8, 2)
	cfg.Architectures, cfg.ModelType = []string{"Qwen2ForCausalLM"}, "qwen2"
	cfg.TieWordEmbeddings, cfg.RopeTheta, cfg.MaxPositionEmbeddings = true, 1e6, 1024
	cfg.BOSTokenID, cfg.EOSTokenID = llama.TokenIDs{0}, llama.TokenIDs{1}
	m, err := llama.NewRandomModel(cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, name := range slices.Sorted(maps.Keys(m.Weights)) { // in order: the same model every run
		w := m.Weights[name]
		tensors.MustMutableFlatData(w, func(f []float32) {
			for i := range f {
				switch {
				case filepath.Ext(name) == ".bias":
					f[i] = float32(rng.NormFloat64() * 0.1)
				case name == "model.embed_tokens.weight":
					f[i] *= 50 // tied head: peaked logits
				case w.Shape().Rank() == 2:
					f[i] *= 5
				}
			}
		})
	}
	return m
}

func TestLlamaCppQwen2(t *testing.T) {
	m := qwen2Random(t)
	tok, err := tokenizer.Load(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	prompts := chatPrompts(t, tok)
	dir := t.TempDir()
	var runs []Run
	for _, typ := range []Type{F32, F16} {
		path := filepath.Join(dir, "qwen2-"+typ.String()+".gguf")
		if err := WriteModel(path, m, tinyDir, ModelOptions{Type: typ}); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, Run{Model: path, Texts: bilingual[:3], Prompts: prompts, MaxTokens: 12, Top: 5})
	}
	res := runLlamaCpp(t, runs)
	for k, typ := range []Type{F32, F16} {
		want := compute(t, rounded(m, typ), nil, prompts, 12)
		for i := range prompts {
			if !slices.Equal(res[k].Greedy[i], want.greedy[i]) {
				t.Errorf("%s: greedy continuation of prompt %d: llama.cpp %v, ours %v", typ, i, res[k].Greedy[i], want.greedy[i])
			}
		}
		// This model's logits reach magnitude 30–50, and llama.cpp keeps its KV cache in float16
		// (its default cache type): twice the tiny model's relative tolerance.
		worst := compareNext(t, "qwen2 "+typ.String(), res[k], want, map[Type]float64{F32: 2e-3, F16: 3e-3}[typ])
		t.Logf("qwen2 %s: worst next-token log-prob difference %.2g", typ, worst)
	}
}

// trainedLike returns a LoRA adapter on m with non-zero B (as after training), seeded.
func trainedLike(t *testing.T, m *llama.Model, cfg lora.Config) *lora.Adapter {
	t.Helper()
	ad, err := lora.New(cfg, m, 11)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, name := range ad.Names() { // in order: the same values every run
		w := ad.Tensors[name]
		// PEFT starts lora_B (lora_embedding_A for embeddings) at zero: both get random values.
		if strings.Contains(name, ".lora_B.") || strings.Contains(name, ".lora_embedding_") {
			tensors.MustMutableFlatData(w, func(f []float32) {
				for i := range f {
					f[i] = float32(rng.NormFloat64() * 0.05)
				}
			})
		}
	}
	return ad
}

func TestLlamaCppAdapter(t *testing.T) {
	base, tok := loadTiny(t)
	prompts := chatPrompts(t, tok)
	dir := t.TempDir()
	basePath := filepath.Join(dir, "base.gguf")
	if err := WriteModel(basePath, base, tinyDir, ModelOptions{Type: F32}); err != nil {
		t.Fatal(err)
	}
	plain := lora.DefaultConfig()
	plain.R, plain.LoraAlpha = 8, 16
	plain.TargetModules = lora.TargetNames("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
	rs := plain
	rs.UseRSLoRA = true
	rs.RankPattern = map[string]int{"v_proj": 4}
	rs.AlphaPattern = map[string]float64{"down_proj": 3}
	embed := plain // notebook 05's identity adapter: the projections, embed_tokens and lm_head
	embed.TargetModules = lora.TargetNames("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "embed_tokens", "lm_head")
	cases := []struct {
		name string
		cfg  lora.Config
	}{{"r8-alpha16", plain}, {"rslora-patterns", rs}, {"embed-lm_head", embed}}
	var runs []Run
	var merged []*llama.Model
	for _, c := range cases {
		ad := trainedLike(t, base, c.cfg)
		path := filepath.Join(dir, c.name+".gguf")
		if err := WriteAdapter(path, ad); err != nil {
			t.Fatal(err)
		}
		mm := base.Clone()
		if err := ad.Merge(mm); err != nil {
			t.Fatal(err)
		}
		merged = append(merged, mm)
		mergedPath := filepath.Join(dir, c.name+"-merged.gguf")
		if err := WriteModel(mergedPath, mm, tinyDir, ModelOptions{Type: F32}); err != nil {
			t.Fatal(err)
		}
		runs = append(runs,
			Run{Model: basePath, Lora: path, Prompts: prompts, MaxTokens: 16, Top: 5},
			Run{Model: mergedPath, Prompts: prompts, MaxTokens: 16, Top: 5})
	}
	res := runLlamaCpp(t, runs)
	for k, c := range cases {
		want := compute(t, merged[k], nil, prompts, 16)
		for i := range prompts {
			withAdapter, fromMerged := res[2*k].Greedy[i], res[2*k+1].Greedy[i]
			if !slices.Equal(withAdapter, want.greedy[i]) || !slices.Equal(fromMerged, want.greedy[i]) {
				t.Errorf("%s: prompt %d: base+adapter in llama.cpp %q, merged in llama.cpp %q, our merged model %q", c.name, i,
					tok.Decode(withAdapter), tok.Decode(fromMerged), tok.Decode(want.greedy[i]))
			}
		}
		worst := compareNext(t, c.name+" base+adapter", res[2*k], want, 1e-3)
		compareNext(t, c.name+" merged", res[2*k+1], want, 1e-3)
		t.Logf("%s: base+adapter equals our merged model; worst log-prob difference %.2g", c.name, worst)
	}
}

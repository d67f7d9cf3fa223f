package llama

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loralab/loralab/pkg/backend"
)

func loadRunner(t testing.TB, name string) *Runner {
	t.Helper()
	m, err := LoadModel(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(backend.MustDefault(), m, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestGenerateCacheEqualsNoCache: decoding with the KV cache gives the same tokens as
// recomputing the whole sequence at every step, greedy and sampled, on GQA and on qwen2.
func TestGenerateCacheEqualsNoCache(t *testing.T) {
	for _, model := range []string{"llama_gqa", "qwen2_bias_tied"} {
		r := loadRunner(t, model)
		for _, opts := range []GenerateOptions{
			{MaxNewTokens: 12, EOSTokenIDs: []int{}},
			{MaxNewTokens: 12, EOSTokenIDs: []int{}, DoSample: true, Temperature: 0.8, TopK: 20, TopP: 0.9, RepetitionPenalty: 1.3, Seed: 5},
		} {
			t.Run(fmt.Sprintf("%s/sample=%v", model, opts.DoSample), func(t *testing.T) {
				prompt := []int{5, 17, 3, 44, 8}
				cached, err := r.Generate(prompt, opts)
				if err != nil {
					t.Fatal(err)
				}
				opts.NoCache = true
				plain, err := r.Generate(prompt, opts)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("tokens %v", cached.Tokens)
				if len(cached.Tokens) != 12 || !slices.Equal(cached.Tokens, plain.Tokens) {
					t.Errorf("with cache %v, without %v", cached.Tokens, plain.Tokens)
				}
			})
		}
	}
}

func TestGenerateStops(t *testing.T) {
	r := loadRunner(t, "llama_gqa")
	prompt := []int{5, 17, 3}
	free, err := r.Generate(prompt, GenerateOptions{MaxNewTokens: 8, EOSTokenIDs: []int{}})
	if err != nil {
		t.Fatal(err)
	}
	decode := func(ids []int) string {
		var b strings.Builder
		for _, id := range ids {
			fmt.Fprintf(&b, "<%d>", id)
		}
		return b.String()
	}
	// EOS: declare the third greedy token to be EOS.
	g, err := r.Generate(prompt, GenerateOptions{MaxNewTokens: 8, EOSTokenIDs: []int{free.Tokens[2]}})
	if err != nil {
		t.Fatal(err)
	}
	if g.StopReason != "eos" || len(g.Tokens) > 3 {
		t.Errorf("EOS: stopped by %s after %v", g.StopReason, g.Tokens)
	}
	// Stop string: the text of the second token.
	g, err = r.Generate(prompt, GenerateOptions{MaxNewTokens: 8, EOSTokenIDs: []int{}, Decode: decode, StopStrings: []string{fmt.Sprintf("<%d>", free.Tokens[1])}})
	if err != nil {
		t.Fatal(err)
	}
	if g.StopReason != "stop_string" || len(g.Tokens) > 2 {
		t.Errorf("stop string: stopped by %s after %v", g.StopReason, g.Tokens)
	}
	// Streaming: the callback sees every token and its text, and can stop.
	var streamed []string
	g, err = r.Generate(prompt, GenerateOptions{MaxNewTokens: 8, EOSTokenIDs: []int{}, Decode: decode,
		OnToken: func(id int, text string) bool { streamed = append(streamed, text); return len(streamed) < 4 }})
	if err != nil {
		t.Fatal(err)
	}
	if g.StopReason != "callback" || len(streamed) != 4 || strings.Join(streamed, "") != g.Text || !slices.Equal(g.Tokens, free.Tokens[:4]) {
		t.Errorf("streaming: %s, streamed %q, text %q, tokens %v (greedy %v)", g.StopReason, streamed, g.Text, g.Tokens, free.Tokens)
	}
	if _, err := r.Generate([]int{1, 9999}, GenerateOptions{}); err == nil {
		t.Errorf("out-of-vocabulary prompt token accepted")
	}
}

func TestChooseToken(t *testing.T) {
	logits := []float32{2, -1, 1.5, 0.5, -3}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name    string
		seq     []int
		opts    GenerateOptions
		allowed []int // tokens that may come out
	}{
		{"greedy", nil, GenerateOptions{}, []int{0}},
		// penalty 2: token 0 → 1.0, so token 2 (1.5) wins; negative logits get multiplied.
		{"repetition penalty", []int{0, 0, 1}, GenerateOptions{RepetitionPenalty: 2}, []int{2}},
		{"top-k 2", nil, GenerateOptions{DoSample: true, TopK: 2}, []int{0, 2}},
		// softmax ≈ [.50 .02 .30 .11 .00]: top-p 0.6 keeps 0 and 2 (mass above 2 is 0.50 < 0.6).
		{"top-p 0.6", nil, GenerateOptions{DoSample: true, TopP: 0.6}, []int{0, 2}},
		{"top-p 0.4", nil, GenerateOptions{DoSample: true, TopP: 0.4}, []int{0}},
		{"cold temperature", nil, GenerateOptions{DoSample: true, Temperature: 0.01}, []int{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[int]bool{}
			for range 300 {
				id := ChooseToken(logits, tc.seq, tc.opts, rng)
				if !slices.Contains(tc.allowed, id) {
					t.Fatalf("picked %d, allowed %v", id, tc.allowed)
				}
				seen[id] = true
			}
			if len(seen) != len(tc.allowed) {
				t.Errorf("picked only %v of %v", seen, tc.allowed)
			}
		})
	}
	// Seeded sampling is reproducible.
	a := ChooseToken(logits, nil, GenerateOptions{DoSample: true}, rand.New(rand.NewPCG(9, 9)))
	b := ChooseToken(logits, nil, GenerateOptions{DoSample: true}, rand.New(rand.NewPCG(9, 9)))
	if a != b {
		t.Errorf("same seed gave %d and %d", a, b)
	}
}

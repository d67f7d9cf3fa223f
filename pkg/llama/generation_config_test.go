package llama

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/loralab/loralab/pkg/backend"
)

// Qwen3-0.6B's generation_config.json (a fact of the checkpoint).
const qwen3GenerationConfig = `{"bos_token_id": 151643, "do_sample": true, "eos_token_id": [151645, 151643], "pad_token_id": 151643, "temperature": 0.6, "top_k": 20, "top_p": 0.95, "transformers_version": "4.51.0"}`

func TestGenerationConfigOptions(t *testing.T) {
	g, err := ParseGenerationConfig([]byte(qwen3GenerationConfig))
	if err != nil {
		t.Fatal(err)
	}
	o := g.Options()
	if !o.DoSample || o.Temperature != 0.6 || o.TopK != 20 || o.TopP != 0.95 || !slices.Equal(o.EOSTokenIDs, []int{151645, 151643}) {
		t.Errorf("options %+v", o)
	}
	g, _ = ParseGenerationConfig([]byte(`{"do_sample": true, "eos_token_id": 2}`))
	if o := g.Options(); o.TopK != 50 || o.Temperature != 1 || o.TopP != 1 || !slices.Equal(o.EOSTokenIDs, []int{2}) {
		t.Errorf("transformers' defaults: options %+v", o)
	}
	g, _ = ParseGenerationConfig([]byte(`{"eos_token_id": 2, "temperature": 0.1}`))
	if o := g.Options(); o.DoSample || o.Temperature != 0 {
		t.Errorf("greedy: options %+v", o)
	}
	for _, bad := range []string{`{"top_p": 1.5}`, `{"eos_token_id": "x"}`, `{"max_new_tokens": 0}`} {
		if _, err := ParseGenerationConfig([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// TestGenerationStopsAtGenerationConfigEOS: a checkpoint's generation_config.json eos ids
// stop Generate, as they stop transformers' generate(), even when config.json names another.
func TestGenerationStopsAtGenerationConfigEOS(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("testdata", "llama3_rope")
	for _, f := range []string{"config.json", "model.safetensors"} {
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(backend.MustDefault(), m, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A prompt whose first three greedy tokens differ (a random model often repeats one).
	var prompt []int
	var free *Generation
	for p := 0; p < 20 && prompt == nil; p++ {
		try := []int{p, 17 + p, 40, 8}
		g, err := r.Generate(try, GenerateOptions{MaxNewTokens: 6, EOSTokenIDs: []int{}})
		if err != nil {
			t.Fatal(err)
		}
		if k := g.Tokens; k[0] != k[1] && k[1] != k[2] && k[0] != k[2] && !slices.Contains(m.Config.EOSTokenID, k[2]) {
			prompt, free = try, g
		}
	}
	if prompt == nil {
		t.Fatal("no prompt with three distinct greedy tokens")
	}
	stop := free.Tokens[2]
	gc := fmt.Sprintf(`{"eos_token_id": [99, %d]}`, stop)
	if err := os.WriteFile(filepath.Join(dir, "generation_config.json"), []byte(gc), 0o644); err != nil {
		t.Fatal(err)
	}
	if m, err = LoadModel(dir); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.EOSTokenIDs(), []int{99, stop}) {
		t.Fatalf("EOSTokenIDs %v", m.EOSTokenIDs())
	}
	if r, err = NewRunner(backend.MustDefault(), m, nil); err != nil {
		t.Fatal(err)
	}
	got, err := r.Generate(prompt, GenerateOptions{MaxNewTokens: 6})
	if err != nil {
		t.Fatal(err)
	}
	if got.StopReason != "eos" || !slices.Equal(got.Tokens, free.Tokens[:3]) {
		t.Errorf("generated %v (%s), want %v ending at generation_config's eos %d", got.Tokens, got.StopReason, free.Tokens[:3], stop)
	}
}

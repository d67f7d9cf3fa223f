package lora

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/llama"
)

// TestMergeUnmerge: merged weights give the adapted logits; unmerging gives the base logits
// back; the merged model saved as a HF checkpoint loads back with the same logits.
func TestMergeUnmerge(t *testing.T) {
	for _, tc := range goldenCases[:2] {
		t.Run(tc.adapter, func(t *testing.T) {
			base, in := loadBase(t, tc.base)
			a, err := Load(filepath.Join("testdata", tc.adapter), base.Config)
			if err != nil {
				t.Fatal(err)
			}
			adapted := logits(t, base, a, in)
			plain := logits(t, base, nil, in)
			merged := base.Clone()
			if err := a.Merge(merged); err != nil {
				t.Fatal(err)
			}
			if e := maxRelErr(logits(t, merged, nil, in), adapted); e > 1e-4 {
				t.Errorf("merged logits vs adapter logits: max relative error %.3g", e)
			}
			dir := t.TempDir()
			if err := merged.Save(dir); err != nil {
				t.Fatal(err)
			}
			back, err := llama.LoadModel(dir)
			if err != nil {
				t.Fatal(err)
			}
			if e := maxRelErr(logits(t, back, nil, in), adapted); e > 1e-4 {
				t.Errorf("reloaded merged checkpoint: max relative error %.3g", e)
			}
			err = a.Unmerge(merged)
			if len(a.Plan.ModulesToSave) > 0 {
				if err == nil {
					t.Errorf("unmerge of an adapter with modules_to_save should be refused")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e := maxRelErr(logits(t, merged, nil, in), plain); e > 1e-4 {
				t.Errorf("unmerged logits vs base logits: max relative error %.3g", e)
			}
		})
	}
}

func TestMergeTiedRefused(t *testing.T) {
	base, _ := loadBase(t, "qwen2_bias_tied")
	cfg := DefaultConfig()
	cfg.TargetModules = TargetNames("lm_head")
	a, err := New(cfg, base, 1)
	if err != nil {
		t.Fatal(err)
	}
	m := base.Clone()
	if err := a.Merge(m); err == nil || !strings.Contains(err.Error(), "tied") {
		t.Errorf("merging lm_head LoRA into a tied model: got %v, want a refusal", err)
	}
}

// TestGenerateWithAdapter: KV-cache decoding through a LoRA adapter (embedding LoRA and a
// modules_to_save head included) equals step-by-step decoding without the cache, and equals
// decoding with the merged model.
func TestGenerateWithAdapter(t *testing.T) {
	base, _ := loadBase(t, "llama_gqa")
	a, err := Load(filepath.Join("testdata", "adapter_emb_head"), base.Config)
	if err != nil {
		t.Fatal(err)
	}
	r, err := llama.NewRunner(backend.MustDefault(), base, a)
	if err != nil {
		t.Fatal(err)
	}
	opts := llama.GenerateOptions{MaxNewTokens: 10, EOSTokenIDs: []int{}}
	prompt := []int{3, 14, 15, 9, 2, 6}
	cached, err := r.Generate(prompt, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.NoCache = true
	plain, err := r.Generate(prompt, opts)
	if err != nil {
		t.Fatal(err)
	}
	merged := base.Clone()
	if err := a.Merge(merged); err != nil {
		t.Fatal(err)
	}
	rm, err := llama.NewRunner(backend.MustDefault(), merged, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts.NoCache = false
	viaMerge, err := rm.Generate(prompt, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cached.Tokens, plain.Tokens) || !slices.Equal(cached.Tokens, viaMerge.Tokens) {
		t.Errorf("cache %v, no cache %v, merged %v", cached.Tokens, plain.Tokens, viaMerge.Tokens)
	}
}

package lora

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var updateGoSaved = flag.Bool("update-go-saved", false, "rewrite testdata/go_saved (then rerun testdata/check_go_saved.py)")

// TestGoSavedAdapterTorchCheck is the other direction of the PEFT parity check: an adapter
// saved by this package (testdata/go_saved, written with -update-go-saved) is applied by the
// torch reference (testdata/check_go_saved.py, PEFT's formulas), whose logits must equal the
// logits Go computes with the same adapter.
func TestGoSavedAdapterTorchCheck(t *testing.T) {
	base, in := loadBase(t, "llama_gqa")
	dir := filepath.Join("testdata", "go_saved")
	if *updateGoSaved {
		cfg := DefaultConfig()
		cfg.R, cfg.LoraAlpha, cfg.UseRSLoRA = 4, 8, true
		cfg.InitLoraWeights = InitRandom // A and B both nonzero, so every path matters
		cfg.TargetModules = TargetNames("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "embed_tokens", "lm_head")
		cfg.RankPattern = map[string]int{"down_proj": 2}
		cfg.BaseModelNameOrPath = "llama_gqa"
		a, err := New(cfg, base, 2024)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := a.Save(dir); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s; now run /usr/bin/python3 testdata/check_go_saved.py", dir)
	}
	a, err := Load(dir, base.Config)
	if err != nil {
		t.Fatal(err)
	}
	got := logits(t, base, a, in)
	if _, err := os.Stat(filepath.Join(dir, "torch_logits.safetensors")); err != nil {
		t.Fatalf("torch_logits.safetensors missing: run /usr/bin/python3 testdata/check_go_saved.py (%v)", err)
	}
	want := readLogits(t, filepath.Join(dir, "torch_logits.safetensors"))
	plain := logits(t, base, nil, in)
	if e := maxRelErr(got, plain); e < 1e-2 {
		t.Fatalf("the adapter barely changes the logits (%.3g): the check would prove nothing", e)
	}
	e := maxRelErr(got, want)
	t.Logf("Go vs torch logits for the Go-saved adapter: max relative error %.3g", e)
	if e > 1e-4 {
		t.Errorf("torch applying the Go-saved adapter disagrees with Go: max relative error %.3g", e)
	}
}

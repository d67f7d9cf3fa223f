package lora

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/llama"
)

// scaleMagnitudes multiplies every DoRA magnitude by 1 + spread·N(0, 1), seeded, so that m no
// longer equals ‖W + s·B·A‖ and the adapter is not plain LoRA in disguise.
func scaleMagnitudes(a *Adapter, spread float64, seed uint64) int {
	rng := rand.New(rand.NewPCG(seed, 5))
	n := 0
	for _, m := range a.Plan.Modules {
		if !m.Dora {
			continue
		}
		tensors.MustMutableFlatData(a.Tensors[m.MagnitudeName()], func(v []float32) {
			for i := range v {
				v[i] *= float32(1 + spread*rng.NormFloat64())
			}
		})
		n++
	}
	return n
}

// TestDoraMergeEqualsForward: a DoRA adapter with PEFT's default init (B = 0, m = ‖W‖) leaves the
// logits unchanged; with random A, B and moved magnitudes, the merged weights
// m/‖W + s·B·A‖ ⊙ (W + s·B·A) give the logits of the adapter's forward pass, also with biases
// (Qwen2's q/k/v, trained with bias="all") and on lm_head, in place (Merge) or written
// (SaveMerged); Unmerge refuses DoRA.
func TestDoraMergeEqualsForward(t *testing.T) {
	for _, tc := range []struct {
		base    string
		targets []string
		bias    string
	}{
		{"llama_gqa", []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head"}, "none"},
		{"qwen2_bias_tied", []string{"q_proj", "k_proj", "v_proj", "down_proj"}, "all"},
	} {
		t.Run(tc.base, func(t *testing.T) {
			base, in := loadBase(t, tc.base)
			cfg := DefaultConfig()
			cfg.R, cfg.LoraAlpha, cfg.UseDora, cfg.Bias = 4, 8, true, tc.bias
			cfg.TargetModules = TargetNames(tc.targets...)
			plain := logits(t, base, nil, in)
			a, err := New(cfg, base, 1)
			if err != nil {
				t.Fatal(err)
			}
			if e := maxRelErr(logits(t, base, a, in), plain); e > 1e-5 {
				t.Errorf("fresh DoRA adapter (B = 0, m = ‖W‖) changes the logits: max relative error %.3g", e)
			}
			cfg.InitLoraWeights = InitRandom
			if a, err = New(cfg, base, 2); err != nil {
				t.Fatal(err)
			}
			if n := scaleMagnitudes(a, 0.3, 3); n != len(tc.targets)*base.Config.NumHiddenLayers-btoi(tc.base == "llama_gqa")*(base.Config.NumHiddenLayers-1) {
				t.Fatalf("%d DoRA modules, targets %v", n, tc.targets)
			}
			for _, b := range a.Plan.Biases {
				tensors.MustMutableFlatData(a.Tensors[b.Name], func(v []float32) {
					for i := range v {
						v[i] += 0.1 * float32(i%7-3)
					}
				})
			}
			adapted := logits(t, base, a, in)
			if d := maxRelErr(adapted, plain); d < 1e-2 {
				t.Fatalf("the DoRA adapter barely changes the logits (%.3g): the check would prove nothing", d)
			}
			merged := base.Clone()
			if err := a.Merge(merged); err != nil {
				t.Fatal(err)
			}
			e := maxRelErr(logits(t, merged, nil, in), adapted)
			t.Logf("merged vs DoRA forward: max relative error %.3g", e)
			if e > 1e-4 {
				t.Errorf("merged logits differ from the DoRA forward: max relative error %.3g", e)
			}
			dir := t.TempDir() // SaveMerged merges weight by weight while writing
			if err := a.SaveMerged(base, dir, llama.SaveOptions{}); err != nil {
				t.Fatal(err)
			}
			saved, err := llama.LoadModel(dir)
			if err != nil {
				t.Fatal(err)
			}
			if e := maxRelErr(logits(t, saved, nil, in), adapted); e > 1e-4 {
				t.Errorf("SaveMerged checkpoint vs DoRA forward: max relative error %.3g", e)
			}
			if err := a.Unmerge(merged); err == nil || !strings.Contains(err.Error(), "use_dora") {
				t.Errorf("Unmerge of a DoRA adapter: got %v, want a refusal naming use_dora", err)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestDoraRefusesEmbedding: DoRA on an Embedding module is refused, naming the module and the option.
func TestDoraRefusesEmbedding(t *testing.T) {
	base, _ := loadBase(t, "llama_gqa")
	cfg := DefaultConfig()
	cfg.UseDora = true
	cfg.TargetModules = TargetNames("q_proj", "embed_tokens")
	_, err := New(cfg, base, 1)
	if err == nil || !strings.Contains(err.Error(), "model.embed_tokens") || !strings.Contains(err.Error(), "use_dora") {
		t.Fatalf("DoRA on embed_tokens: got %v, want an error naming model.embed_tokens and use_dora", err)
	}
}

// TestDoraCount: print_trainable_parameters counts one magnitude per output feature of each
// DoRA module, on top of r·(in+out); the tiny base with r=4 on q_proj and v_proj is PEFT's
// "trainable params: 13,824 || all params: 3,357,888" (PEFT 0.21.2; pkg/interop checks more
// shapes against PEFT itself).
func TestDoraCount(t *testing.T) {
	mc, err := llama.LoadConfig(filepath.Join("..", "..", "datasets", "tiny_base", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.R, cfg.LoraAlpha, cfg.UseDora = 4, 8, true
	plan, err := cfg.Resolve(mc)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := plan.Count().String(), "trainable params: 13,824 || all params: 3,357,888 || trainable%: 0.4117"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	var mags int
	for _, s := range plan.ParamSpecs() {
		if strings.HasSuffix(s.Name, ".lora_magnitude_vector") {
			mags += s.Size()
		}
	}
	if mags != 2*4*192 {
		t.Errorf("ParamSpecs hold %d magnitude values, want %d", mags, 2*4*192)
	}
}

// TestDoraThroughQuantizedBase: DoRA's weight norm reads the base weight as the forward pass
// does (converted or dequantized in the graph), so over a bfloat16 or NF4 base (QDoRA) the
// loss and the gradients equal those over the float32 copy of the same weights, with and
// without gradient checkpointing and the chunked loss.
func TestDoraThroughQuantizedBase(t *testing.T) {
	_, in := loadBase(t, "llama_gqa")
	for _, opts := range []llama.LoadOptions{
		{TorchDtype: "bfloat16"},
		{TorchDtype: "bfloat16", QuantizationConfig: &llama.BitsAndBytesConfig{LoadIn4Bit: true, Bnb4BitUseDoubleQuant: true}},
	} {
		q := loadBaseWith(t, "llama_gqa", opts)
		a, err := Load(filepath.Join("testdata", "dora_llama_gqa"), q.Config)
		if err != nil {
			t.Fatal(err)
		}
		want := loraGrads(t, floatCopy(t, q), a, in.InputIDs)
		for _, mem := range []llama.MemoryOptions{{}, {GradientCheckpointing: true, LossChunkSize: 5}} {
			got := loraGrads(t, q, a, in.InputIDs, mem)
			names := append([]string{"loss"}, a.Names()...)
			for i := range got {
				if e := maxRelErr(got[i], want[i]); e > 1e-4 {
					t.Errorf("%+v %+v %s: max relative error %.3g", opts.QuantizationConfig, mem, names[i], e)
				}
			}
		}
	}
}

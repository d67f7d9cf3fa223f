package interop

import (
	"maps"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/lora"
	"github.com/loralab/loralab/pkg/safetensors"
)

// logitsTol is the largest relative logits difference accepted between LoRA Lab and
// transformers/PEFT (both float32 on CPU).
const logitsTol = 1e-4

// loadModel loads a HF checkpoint directory with LoRA Lab's loader.
func loadModel(t *testing.T, dir string) *llama.Model {
	t.Helper()
	m, err := llama.LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// perturb adds seeded noise of the given size to every weight whose name has one of the suffixes,
// so that zero-initialised biases and copies of base weights matter in the comparison.
func perturb(weights map[string]*tensors.Tensor, scale float64, seed uint64, suffixes ...string) int {
	rng := rand.New(rand.NewPCG(seed, 17))
	names := make([]string, 0, len(weights))
	for n := range weights {
		names = append(names, n)
	}
	slices.Sort(names)
	count := 0
	for _, n := range names {
		if !slices.ContainsFunc(suffixes, func(s string) bool { return strings.HasSuffix(n, s) }) {
			continue
		}
		tensors.MustMutableFlatData(weights[n], func(f []float32) {
			for i := range f {
				f[i] += float32(rng.NormFloat64() * scale)
			}
		})
		count++
	}
	return count
}

// scale multiplies every value of the weights whose name has the suffix by 1 + spread·N(0, 1), seeded.
func scale(weights map[string]*tensors.Tensor, spread float64, seed uint64, suffix string) {
	rng := rand.New(rand.NewPCG(seed, 19))
	names := slices.Sorted(maps.Keys(weights))
	for _, n := range names {
		if strings.HasSuffix(n, suffix) {
			tensors.MustMutableFlatData(weights[n], func(f []float32) {
				for i := range f {
					f[i] *= float32(1 + spread*rng.NormFloat64())
				}
			})
		}
	}
}

// randomQwen2 is a random Qwen2 checkpoint with grouped-query attention (8 heads, 2 KV heads)
// and nonzero q/k/v biases.
func randomQwen2(t *testing.T) *llama.Model {
	t.Helper()
	cfg := llama.DefaultConfig(151, 64, 112, 2, 8, 2)
	cfg.Architectures, cfg.ModelType = []string{"Qwen2ForCausalLM"}, "qwen2"
	cfg.RopeTheta, cfg.RMSNormEps = 1e6, 1e-6
	m, err := llama.NewRandomModel(cfg, 11)
	if err != nil {
		t.Fatal(err)
	}
	if n := perturb(m.Weights, 0.5, 12, ".bias"); n != 3*cfg.NumHiddenLayers {
		t.Fatalf("random Qwen2 has %d bias tensors, want q/k/v in each of %d layers", n, cfg.NumHiddenLayers)
	}
	return m
}

// randomLlamaTied is a random Llama with tied embeddings and attention biases on q/k/v/o.
func randomLlamaTied(t *testing.T) *llama.Model {
	t.Helper()
	cfg := llama.DefaultConfig(203, 96, 160, 3, 6, 3)
	cfg.TieWordEmbeddings, cfg.AttentionBias = true, true
	m, err := llama.NewRandomModel(cfg, 21)
	if err != nil {
		t.Fatal(err)
	}
	perturb(m.Weights, 0.3, 22, ".bias")
	return m
}

// adapterCase is a LoRA Lab adapter for PEFT to load.
type adapterCase struct {
	name  string
	base  string // key of the bases map
	cfg   func() lora.Config
	merge bool // also compare PEFT's merge_and_unload with our merged export
}

func adapterCases() []adapterCase {
	all7 := []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
	return []adapterCase{
		{"tiny_all7_patterns", "tiny_base", func() lora.Config {
			c := lora.DefaultConfig()
			c.R, c.LoraAlpha, c.TargetModules = 8, 16, lora.TargetNames(all7...)
			c.RankPattern = map[string]int{"o_proj": 4, "model.layers.2.mlp.down_proj": 2}
			c.AlphaPattern = map[string]float64{"gate_proj": 5}
			return c
		}, true},
		{"gqa_emb_head_rslora", "llama_gqa", func() lora.Config {
			c := lora.DefaultConfig()
			c.R, c.LoraAlpha, c.UseRSLoRA = 4, 16, true
			c.TargetModules = lora.TargetNames("embed_tokens", "q_proj", "v_proj")
			c.ModulesToSave = []string{"lm_head"}
			return c
		}, true},
		{"qwen2_regex_bias_all", "qwen2_gqa_bias", func() lora.Config {
			c := lora.DefaultConfig()
			c.R, c.LoraAlpha = 2, 6
			// PEFT refuses layers_to_transform with a regex target_modules: the layer is in the regex.
			c.TargetModules = lora.TargetRegex(`.*\.1\.(self_attn\.(k_proj|v_proj)|mlp\.up_proj)`)
			c.Bias = "all"
			return c
		}, true},
		{"tiny_dora_all7", "tiny_base", func() lora.Config {
			c := lora.DefaultConfig()
			c.R, c.LoraAlpha, c.UseDora, c.TargetModules = 8, 16, true, lora.TargetNames(all7...)
			c.RankPattern = map[string]int{"o_proj": 4}
			return c
		}, true},
		{"qwen2_dora_bias_all", "qwen2_gqa_bias", func() lora.Config {
			c := lora.DefaultConfig()
			c.R, c.LoraAlpha, c.UseDora, c.UseRSLoRA, c.Bias = 4, 8, true, true, "all"
			c.TargetModules = lora.TargetNames("q_proj", "k_proj", "v_proj", "up_proj")
			return c
		}, true},
		{"llama_tied_lm_head_target", "llama_tied_bias", func() lora.Config {
			c := lora.DefaultConfig()
			c.R, c.LoraAlpha = 4, 4
			c.TargetModules = lora.TargetNames("q_proj", "o_proj", "down_proj", "lm_head")
			c.Bias = "lora_only"
			return c
		}, false}, // merging into a tied lm_head is refused by LoRA Lab
	}
}

// TestTransformersAndPEFTLoadOurFiles writes LoRA Lab checkpoints (the committed tiny base, a
// random Qwen2 with GQA and q/k/v biases saved in shards, a tied Llama saved as bfloat16, a
// merged model) and adapters (embedding LoRA, rsLoRA, modules_to_save, rank/alpha patterns,
// regex targets, trainable biases, DoRA with and without biases), has transformers' AutoModelForCausalLM and PEFT's
// PeftModel load them, and compares their logits with ours; PEFT's merge_and_unload() must
// equal our merged export tensor by tensor.
func TestTransformersAndPEFTLoadOurFiles(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	bases := map[string]string{
		"tiny_base": filepath.Join("..", "..", "datasets", "tiny_base"),
		"llama_gqa": filepath.Join("..", "llama", "testdata", "llama_gqa"),
	}
	models := map[string]*llama.Model{}
	for name, d := range bases {
		models[name] = loadModel(t, d)
	}
	q := randomQwen2(t)
	bases["qwen2_gqa_bias"] = filepath.Join(dir, "qwen2_gqa_bias")
	if err := q.SaveWith(bases["qwen2_gqa_bias"], llama.SaveOptions{MaxShardBytes: 64 << 10}); err != nil {
		t.Fatal(err)
	}
	models["qwen2_gqa_bias"] = q
	tied := randomLlamaTied(t)
	bases["llama_tied_bias"] = filepath.Join(dir, "llama_tied_bias")
	if err := tied.SaveWith(bases["llama_tied_bias"], llama.SaveOptions{DType: "bfloat16"}); err != nil {
		t.Fatal(err)
	}
	// What transformers reads is the bfloat16 file: compare with LoRA Lab reading the same file.
	models["llama_tied_bias"] = loadModel(t, bases["llama_tied_bias"])

	type task struct {
		ID        string    `json:"id"`
		Model     string    `json:"model"`
		Adapter   string    `json:"adapter,omitempty"`
		MergedOut string    `json:"merged_out,omitempty"`
		InputIDs  [][]int32 `json:"input_ids"`
	}
	type check struct {
		task   task
		want   []float32    // LoRA Lab's logits
		merged *llama.Model // LoRA Lab's merged export, for merge_and_unload
		plain  []float32    // the base's logits, to prove an adapter changes something
	}
	var checks []check
	baseNames := []string{"tiny_base", "llama_gqa", "qwen2_gqa_bias", "llama_tied_bias"}
	plain := map[string][]float32{}
	inputs := map[string][][]int32{}
	for i, name := range baseNames {
		m := models[name]
		inputs[name] = randomIDs(2, 11, m.Config.VocabSize, uint64(100+i))
		plain[name] = goLogits(t, m, nil, inputs[name])
		checks = append(checks, check{task: task{ID: "base_" + name, Model: bases[name], InputIDs: inputs[name]}, want: plain[name]})
	}
	for i, ac := range adapterCases() {
		base := models[ac.base]
		a, err := lora.New(func() lora.Config {
			c := ac.cfg()
			c.InitLoraWeights = lora.InitRandom // A and B nonzero: every path counts
			c.BaseModelNameOrPath = ac.base
			return c
		}(), base, uint64(200+i))
		if err != nil {
			t.Fatalf("%s: %v", ac.name, err)
		}
		// modules_to_save copies and trainable biases start equal to the base: move them; DoRA
		// magnitudes start at ‖W + s·B·A‖, which would make DoRA equal plain LoRA: scale them.
		perturb(a.Tensors, 0.05, uint64(300+i), "lm_head.weight", ".bias")
		scale(a.Tensors, 0.3, uint64(400+i), ".lora_magnitude_vector")
		adir := filepath.Join(dir, "adapter_"+ac.name)
		if err := a.Save(adir); err != nil {
			t.Fatal(err)
		}
		want := goLogits(t, base, a, inputs[ac.base])
		c := check{task: task{ID: "peft_" + ac.name, Model: bases[ac.base], Adapter: adir, InputIDs: inputs[ac.base]},
			want: want, plain: plain[ac.base]}
		if ac.merge {
			merged := base.Clone()
			if err := a.Merge(merged); err != nil {
				t.Fatalf("%s: merge: %v", ac.name, err)
			}
			mdir := filepath.Join(dir, "merged_"+ac.name)
			if err := merged.Save(mdir); err != nil {
				t.Fatal(err)
			}
			c.task.MergedOut = filepath.Join(dir, "peft_merged_"+ac.name)
			c.merged = merged
			// Our merged export, loaded by transformers, gives the adapted logits.
			checks = append(checks, check{task: task{ID: "merged_" + ac.name, Model: mdir, InputIDs: inputs[ac.base]},
				want: want, plain: plain[ac.base]})
		}
		checks = append(checks, c)
	}

	job := map[string]any{"tasks": func() []task {
		var ts []task
		for _, c := range checks {
			ts = append(ts, c.task)
		}
		return ts
	}()}
	writeJSON(t, filepath.Join(dir, "job.json"), job)
	out := filepath.Join(dir, "out")
	runPython(t, py, "hf_interop.py", "models", filepath.Join(dir, "job.json"), out)

	for _, c := range checks {
		t.Run(c.task.ID, func(t *testing.T) {
			got := readLogits(t, filepath.Join(out, c.task.ID+".safetensors"))
			e := maxRelErr(t, c.want, got)
			t.Logf("LoRA Lab vs transformers/PEFT logits: max relative error %.3g", e)
			if e > logitsTol {
				t.Errorf("logits differ: max relative error %.3g > %g", e, logitsTol)
			}
			if c.plain != nil {
				if d := maxRelErr(t, c.plain, got); d < 1e-2 {
					t.Errorf("the adapter barely changes the logits (%.3g): the check would prove nothing", d)
				}
			}
			if c.merged != nil {
				compareWeights(t, c.merged, c.task.MergedOut)
			}
		})
	}
}

// compareWeights checks that the checkpoint PEFT's merge_and_unload() saved holds our merged
// model's tensors (same names, shapes and values within float32 rounding).
func compareWeights(t *testing.T, ours *llama.Model, peftDir string) {
	t.Helper()
	ck, err := safetensors.OpenDir(peftDir)
	if err != nil {
		t.Fatalf("PEFT's merged model: %v", err)
	}
	defer ck.Close()
	theirs := map[string]bool{}
	for _, n := range ck.Names() {
		theirs[n] = true
	}
	for _, n := range ours.ParamNames() {
		if !theirs[n] {
			t.Errorf("merge_and_unload() output lacks %s", n)
			continue
		}
		delete(theirs, n)
		tt, err := ck.ReadFloat32(n)
		if err != nil {
			t.Fatal(err)
		}
		w := ours.Weights[n]
		if !slices.Equal(tt.Shape().Dimensions, w.Shape().Dimensions) {
			t.Errorf("%s: PEFT shape %v, ours %v", n, tt.Shape().Dimensions, w.Shape().Dimensions)
			continue
		}
		a, b := tensors.MustCopyFlatData[float32](w), tensors.MustCopyFlatData[float32](tt)
		var worst, scale float64
		for i := range a {
			worst = math.Max(worst, math.Abs(float64(a[i])-float64(b[i])))
			scale = math.Max(scale, math.Abs(float64(b[i])))
		}
		if worst > 1e-5*math.Max(scale, 1e-3) {
			t.Errorf("%s: merged weights differ by %.3g (largest |w| %.3g)", n, worst, scale)
		}
	}
	for n := range theirs {
		if !ours.Config.TieWordEmbeddings || n != "lm_head.weight" {
			t.Errorf("merge_and_unload() output has %s, which our merged export lacks", n)
		}
	}
	if t.Failed() {
		return
	}
	t.Logf("merge_and_unload() equals our merged export: %d tensors", len(ours.ParamNames()))
}

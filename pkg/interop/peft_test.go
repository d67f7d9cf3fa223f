package interop

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/lora"
)

// countCase is a real-size model config and a LoraConfig whose print_trainable_parameters line
// PEFT computes on the meta device (no weights) and LoRA Lab computes from the configs alone.
type countCase struct {
	ID     string         `json:"id"`
	Config *llama.Config  `json:"-"`
	Dir    string         `json:"config_dir"`
	Lora   map[string]any `json:"lora"`
}

func countCases() []countCase {
	all7 := []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
	deepseek := llama.DefaultConfig(102400, 4096, 11008, 30, 32, 32) // deepseek-llm-7b
	qwen := llama.DefaultConfig(151936, 896, 4864, 24, 14, 2)        // Qwen2.5-0.5B: tied, GQA, q/k/v bias
	qwen.Architectures, qwen.ModelType, qwen.TieWordEmbeddings, qwen.RopeTheta = []string{"Qwen2ForCausalLM"}, "qwen2", true, 1e6
	return []countCase{
		{ID: "deepseek7b_r16_all7", Config: deepseek, Lora: map[string]any{"r": 16, "lora_alpha": 32, "target_modules": all7}},
		{ID: "deepseek7b_default", Config: deepseek, Lora: map[string]any{}},
		{ID: "deepseek7b_emb_head", Config: deepseek, Lora: map[string]any{"r": 8,
			"target_modules": []string{"embed_tokens", "q_proj", "v_proj"}, "modules_to_save": []string{"lm_head"}}},
		{ID: "deepseek7b_norms_to_save", Config: deepseek, Lora: map[string]any{"r": 16, "lora_alpha": 32, "target_modules": all7,
			"modules_to_save": []string{"input_layernorm", "norm"}}}, // PEFT's endswith: "norm" also names every layer's norms
		{ID: "qwen05b_all_linear_bias", Config: qwen, Lora: map[string]any{"r": 32, "target_modules": "all-linear",
			"bias": "lora_only", "rank_pattern": map[string]int{"down_proj": 8}}},
		{ID: "qwen05b_layers", Config: qwen, Lora: map[string]any{"r": 8, "target_modules": []string{"q_proj", "v_proj"},
			"layers_to_transform": []int{0, 1, 2, 3}, "bias": "all"}},
		{ID: "deepseek7b_dora_all7", Config: deepseek, Lora: map[string]any{"r": 16, "lora_alpha": 32, "target_modules": all7, "use_dora": true}},
		{ID: "qwen05b_dora_all_linear", Config: qwen, Lora: map[string]any{"r": 8, "target_modules": "all-linear", "use_dora": true, "bias": "lora_only"}},
	}
}

// TestWeLoadPEFTAdapters has PEFT make adapters (several LoraConfig shapes: defaults,
// all-linear with rsLoRA, rank/alpha patterns, embedding LoRA with modules_to_save, regex targets
// with trainable biases on Qwen2, layers_to_transform, DoRA with dropout and with biases), train each for three AdamW steps and
// save it; LoRA Lab loads each and must give PEFT's logits. PEFT's print_trainable_parameters
// line must equal ours for the same configs, on the tiny models and on real-size configs
// (deepseek-llm-7b, a Qwen2.5-0.5B shape).
func TestWeLoadPEFTAdapters(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	bases := map[string]string{
		"tiny_base":       filepath.Join("..", "..", "datasets", "tiny_base"),
		"llama_gqa":       filepath.Join("..", "llama", "testdata", "llama_gqa"),
		"qwen2_bias_tied": filepath.Join("..", "llama", "testdata", "qwen2_bias_tied"),
	}
	for k, v := range bases {
		abs, err := filepath.Abs(v)
		if err != nil {
			t.Fatal(err)
		}
		bases[k] = abs
	}
	counts := countCases()
	for i := range counts {
		counts[i].Dir = filepath.Join(dir, "config_"+counts[i].ID)
		if err := os.MkdirAll(counts[i].Dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := counts[i].Config.Save(counts[i].Dir); err != nil {
			t.Fatal(err)
		}
	}
	writeJSON(t, filepath.Join(dir, "job.json"), map[string]any{"bases": bases, "counts": counts})
	out := filepath.Join(dir, "out")
	runPython(t, py, "hf_interop.py", "peft-make", filepath.Join(dir, "job.json"), out)

	var res struct {
		Versions map[string]string `json:"versions"`
		Cases    map[string]struct {
			Base      string    `json:"base"`
			CountLine string    `json:"count_line"`
			InputIDs  [][]int32 `json:"input_ids"`
			Structure string    `json:"structure"`
		} `json:"cases"`
		Counts map[string]struct {
			CountLine  string `json:"count_line"`
			AdapterDir string `json:"adapter_dir"`
		} `json:"counts"`
	}
	readJSON(t, filepath.Join(out, "peft_make.json"), &res)
	t.Logf("made by %v", res.Versions)
	if len(res.Cases) < 5 || len(res.Counts) != len(counts) {
		t.Fatalf("peft_make.json has %d adapters and %d counts, want at least 5 and %d", len(res.Cases), len(res.Counts), len(counts))
	}
	names := make([]string, 0, len(res.Cases))
	for n := range res.Cases {
		names = append(names, n)
	}
	sort.Strings(names)
	models := map[string]*llama.Model{}
	for _, name := range names {
		c := res.Cases[name]
		t.Run(name, func(t *testing.T) {
			base, ok := models[c.Base]
			if !ok {
				base = loadModel(t, bases[c.Base])
				models[c.Base] = base
			}
			adir := filepath.Join(out, name)
			a, err := lora.Load(adir, base.Config)
			if err != nil {
				t.Fatalf("loading PEFT's adapter: %v", err)
			}
			if line := a.Plan.Count().String(); line != c.CountLine {
				t.Errorf("trainable parameters:\nPEFT      %s\nLoRA Lab  %s", c.CountLine, line)
			}
			if s := lora.Structure(base.Config, a.Plan); s != c.Structure {
				t.Errorf("structure print differs from print(peft_model):\nPEFT:\n%s\nLoRA Lab:\n%s", c.Structure, s)
			}
			got := goLogits(t, base, a, c.InputIDs)
			want := readLogits(t, filepath.Join(adir, "logits.safetensors"))
			e := maxRelErr(t, got, want)
			t.Logf("%s: LoRA Lab vs PEFT logits: max relative error %.3g", c.CountLine, e)
			if e > logitsTol {
				t.Errorf("logits differ from PEFT's: max relative error %.3g > %g", e, logitsTol)
			}
			if d := maxRelErr(t, goLogits(t, base, nil, c.InputIDs), want); d < 1e-3 {
				t.Errorf("PEFT's trained adapter barely changes the logits (%.3g): the check would prove nothing", d)
			}
		})
	}
	for _, cc := range counts {
		t.Run("count_"+cc.ID, func(t *testing.T) {
			r := res.Counts[cc.ID]
			cfg, err := lora.LoadConfig(r.AdapterDir)
			if err != nil {
				t.Fatalf("PEFT's LoraConfig: %v", err)
			}
			plan, err := cfg.Resolve(cc.Config)
			if err != nil {
				t.Fatal(err)
			}
			if line := plan.Count().String(); line != r.CountLine {
				t.Errorf("trainable parameters:\nPEFT      %s\nLoRA Lab  %s", r.CountLine, line)
			} else {
				t.Log(line)
			}
		})
	}
}

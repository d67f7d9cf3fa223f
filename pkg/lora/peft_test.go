package lora

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/safetensors"
)

type inputs struct {
	InputIDs    [][]int32 `json:"input_ids"`
	PositionIDs [][]int32 `json:"position_ids"`
	SegmentIDs  [][]int32 `json:"segment_ids"`
}

func loadBase(t testing.TB, name string) (*llama.Model, inputs) {
	t.Helper()
	dir := filepath.Join("..", "llama", "testdata", name)
	m, err := llama.LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	var in inputs
	data, err := os.ReadFile(filepath.Join(dir, "inputs.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &in); err != nil {
		t.Fatal(err)
	}
	return m, in
}

func readLogits(t testing.TB, path string) []float32 {
	t.Helper()
	sf, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	lt, err := sf.ReadFloat32("logits")
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](lt)
}

func logits(t testing.TB, m *llama.Model, a llama.GraphAdapter, in inputs) []float32 {
	t.Helper()
	var ga llama.GraphAdapter
	if a != nil {
		ga = a
	}
	r, err := llama.NewRunner(backend.MustDefault(), m, ga)
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Logits(in.InputIDs, in.PositionIDs, in.SegmentIDs)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](out)
}

func maxRelErr(a, b []float32) float64 {
	var maxB float64
	for _, v := range b {
		maxB = math.Max(maxB, math.Abs(float64(v)))
	}
	var worst float64
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		worst = math.Max(worst, d/math.Max(math.Abs(float64(b[i])), 0.1*maxB))
	}
	return worst
}

var goldenCases = []struct{ adapter, base string }{
	{"adapter_all7", "llama_gqa"},
	{"adapter_emb_head", "llama_gqa"},
	{"adapter_qwen2_regex_bias", "qwen2_bias_tied"},
}

// TestPEFTGolden loads adapters written in PEFT's format by the torch reference and checks that
// the adapted logits match the reference's, and that Save writes the same keys, shapes and config.
func TestPEFTGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.adapter, func(t *testing.T) {
			base, in := loadBase(t, tc.base)
			dir := filepath.Join("testdata", tc.adapter)
			a, err := Load(dir, base.Config)
			if err != nil {
				t.Fatal(err)
			}
			got := logits(t, base, a, in)
			want := readLogits(t, filepath.Join(dir, "golden.safetensors"))
			e := maxRelErr(got, want)
			t.Logf("max relative error %.3g", e)
			if e > 1e-4 {
				t.Errorf("adapted logits differ from the torch reference: max relative error %.3g", e)
			}

			// Save and compare with the reference's files.
			out := t.TempDir()
			if err := a.Save(out); err != nil {
				t.Fatal(err)
			}
			ref, err := safetensors.Open(filepath.Join(dir, "adapter_model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			mine, err := safetensors.Open(filepath.Join(out, "adapter_model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer mine.Close()
			rk, mk := ref.Names(), mine.Names()
			slices.Sort(rk)
			slices.Sort(mk)
			if !slices.Equal(rk, mk) {
				t.Fatalf("saved keys differ:\nref  %v\nmine %v", rk, mk)
			}
			for _, k := range rk {
				ri, _ := ref.Info(k)
				mi, _ := mine.Info(k)
				if !slices.Equal(ri.Shape, mi.Shape) || mi.DType != dtypes.Float32 {
					t.Errorf("%s: shape %v %s, reference %v", k, mi.Shape, mi.DType, ri.Shape)
				}
			}
			var refCfg, myCfg map[string]any
			readJSON(t, filepath.Join(dir, "adapter_config.json"), &refCfg)
			readJSON(t, filepath.Join(out, "adapter_config.json"), &myCfg)
			for k := range refCfg {
				if _, ok := myCfg[k]; !ok {
					t.Errorf("saved adapter_config.json lacks %q", k)
				}
			}
			for k := range myCfg {
				if _, ok := refCfg[k]; !ok {
					t.Errorf("saved adapter_config.json has extra key %q", k)
				}
			}
			for _, k := range []string{"r", "lora_alpha", "use_rslora", "bias", "modules_to_save", "layers_to_transform", "rank_pattern", "alpha_pattern", "peft_type", "task_type", "target_modules"} {
				rj, _ := json.Marshal(refCfg[k])
				mj, _ := json.Marshal(myCfg[k])
				if string(rj) != string(mj) {
					t.Errorf("adapter_config.json %q: saved %s, reference %s", k, mj, rj)
				}
			}
		})
	}
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestSaveLoadRoundTrip checks that a saved adapter reloads bit-identically.
func TestSaveLoadRoundTrip(t *testing.T) {
	base, _ := loadBase(t, "llama_gqa")
	for _, tc := range []struct {
		name string
		cfg  func(*Config)
	}{
		{"default", func(c *Config) {}},
		{"all-linear gaussian rank pattern", func(c *Config) {
			c.TargetModules, c.InitLoraWeights, c.RankPattern = AllLinear, InitGaussian, map[string]int{"q_proj": 3}
		}},
		{"embedding and head", func(c *Config) {
			c.TargetModules, c.ModulesToSave, c.InitLoraWeights = TargetNames("embed_tokens", "lm_head"), []string{"lm_head"}, InitRandom
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.cfg(&cfg)
			a, err := New(cfg, base, 7)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := a.Save(dir); err != nil {
				t.Fatal(err)
			}
			b, err := Load(dir, base.Config)
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Tensors) != len(b.Tensors) {
				t.Fatalf("%d tensors saved, %d loaded", len(a.Tensors), len(b.Tensors))
			}
			for n, ta := range a.Tensors {
				tb, ok := b.Tensors[n]
				if !ok {
					t.Fatalf("tensor %q lost", n)
				}
				x, y := tensors.MustCopyFlatData[float32](ta), tensors.MustCopyFlatData[float32](tb)
				for i := range x {
					if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
						t.Fatalf("tensor %q element %d: %v reloaded as %v", n, i, x[i], y[i])
					}
				}
			}
			if a.Plan.Count() != b.Plan.Count() {
				t.Errorf("counts differ after reload: %v vs %v", a.Plan.Count(), b.Plan.Count())
			}
		})
	}
}

func TestLoadMismatch(t *testing.T) {
	qwen, _ := loadBase(t, "qwen2_bias_tied")
	_, err := Load(filepath.Join("testdata", "adapter_all7"), qwen.Config)
	if err == nil || !strings.Contains(err.Error(), "shape") {
		t.Errorf("loading a llama adapter onto a model of other sizes: got %v, want a shape error", err)
	}
	// A config that targets a module the saved file lacks.
	llamaBase, _ := loadBase(t, "llama_gqa")
	dir := t.TempDir()
	cfg := DefaultConfig()
	a, err := New(cfg, llamaBase, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
	cfg.TargetModules = TargetNames("q_proj", "v_proj", "o_proj")
	data, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "adapter_config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(dir, llamaBase.Config)
	if err == nil || !strings.Contains(err.Error(), "o_proj.lora_A.weight") {
		t.Errorf("missing module: got %v, want an error naming the o_proj key", err)
	}
}

// A save that cannot complete leaves the directory's old pair as it was (issue 13 item 8: a
// directory named adapter_config.json in the way used to leave new weights beside the old config).
func TestSaveKeepsThePair(t *testing.T) {
	base, _ := loadBase(t, "llama_gqa")
	old, err := New(DefaultConfig(), base, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := old.Save(dir); err != nil {
		t.Fatal(err)
	}
	weights := filepath.Join(dir, "adapter_model.safetensors")
	before, _ := os.ReadFile(weights)
	cfg := DefaultConfig()
	cfg.R = 4
	next, err := New(cfg, base, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Put a directory where the config goes.
	if err := os.Rename(filepath.Join(dir, "adapter_config.json"), filepath.Join(dir, "saved_config")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "adapter_config.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := next.Save(dir); err == nil {
		t.Fatal("save over a directory named adapter_config.json succeeded")
	}
	if after, _ := os.ReadFile(weights); !bytes.Equal(before, after) {
		t.Fatal("a failed save replaced adapter_model.safetensors: the pair is now mixed")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Fatalf("temporary files left behind: %d entries", len(entries))
	}
}

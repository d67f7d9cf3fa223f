package lab

import (
	"math"
	"strings"
	"testing"

	"github.com/loralab/loralab/datasets"
	"github.com/loralab/loralab/pkg/bench"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/lora"
)

// A full fine-tuning run trains every weight, keeps the trained model (read back by a later
// call) and has no adapter; a quantized base is refused with a message that says why.
func TestFullFineTune(t *testing.T) {
	LiveCharts = false
	base := Load("", "")
	set := base.Examples(datasets.SFTIdentity, datasets.Train, DataOptions{MaxLength: 64, Limit: 16})
	args := Args(Set{"learning_rate": 1e-3, "max_steps": 2, "per_device_train_batch_size": 8, "disable_tqdm": true})
	run := base.FullFineTune("full", args, set, nil)
	n := base.Model.Config.NumParams()
	if !run.Full || run.Counts != (lora.Counts{Trainable: n, All: n}) || CostOf(run.Counts).OptimizerBytes != 8*n {
		t.Errorf("full run: Full %v, counts %+v", run.Full, run.Counts)
	}
	again := base.FullFineTune("again", args, set, nil)
	if again.fresh || again.Dir != run.Dir {
		t.Errorf("the same full run trained again (%s, %s)", again.Dir, run.Dir)
	}
	if lo := base.FineTune("lora", LoRA(nil), args, set, nil); lo.Dir == run.Dir {
		t.Error("a LoRA run and a full run share a folder")
	}
	tuned := again.Tuned().Base.Model
	name := "model.layers.0.mlp.down_proj.weight"
	a, b := tuned.Weights[name].Value().([][]float32), base.Model.Weights[name].Value().([][]float32)
	if a[0][0] == b[0][0] && a[1][1] == b[1][1] {
		t.Errorf("%s was not trained", name)
	}
	if msg := failed(t, func() { run.Adapter() }); !strings.Contains(msg, "full fine-tuning trains the weights, not an adapter") {
		t.Errorf("Adapter of a full run: %q", msg)
	}
	nf4 := LoadWith("", "", llama.LoadOptions{QuantizationConfig: &llama.BitsAndBytesConfig{LoadIn4Bit: true}})
	if got := nf4.short(); got != "tiny_base (float32, nf4)" {
		t.Errorf("short name %q", got)
	}
	if msg := failed(t, func() { nf4.FullFineTune("nf4", args, set, nil) }); !strings.Contains(msg, "full fine-tuning needs a float32 base") {
		t.Errorf("full fine-tuning of an NF4 base: %q", msg)
	}
}

// WeightBytes (arithmetic from the config) is what the loaded tiny base holds, for each way of
// loading it.
func TestWeightBytesIsWhatLoadHolds(t *testing.T) {
	for _, o := range []llama.LoadOptions{{}, {TorchDtype: "bfloat16"},
		{TorchDtype: "bfloat16", QuantizationConfig: &llama.BitsAndBytesConfig{LoadIn4Bit: true}},
		{QuantizationConfig: &llama.BitsAndBytesConfig{LoadIn8Bit: true}}} {
		b := LoadWith("", "", o)
		if got, want := WeightBytes(b.Model.Config, o), b.HeldBytes(); got != want {
			t.Errorf("%s: WeightBytes %d, loaded model holds %d", b.Name, got, want)
		}
	}
	cfg := Load("", "").Model.Config
	if msg := failed(t, func() {
		WeightBytes(cfg, llama.LoadOptions{QuantizationConfig: &llama.BitsAndBytesConfig{LoadIn4Bit: true, Bnb4BitUseDoubleQuant: true}})
	}); !strings.Contains(msg, "double quantization") {
		t.Errorf("double quantization: %q", msg)
	}
}

// deepseek-llm-7b with LoRA r=16 on the seven projections: PEFT's trainable count (DESIGN.md's
// print_trainable_parameters line) and the weight memory of DESIGN.md's arithmetic.
func TestScaleDeepSeek7B(t *testing.T) {
	cfg, _, err := bench.RealConfig("deepseek-llm-7b")
	if err != nil {
		t.Fatal(err)
	}
	rows := Scale(cfg, LoRA(Set{"r": 16, "lora_alpha": 32, "target_modules": []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}}))
	n := cfg.NumParams()
	if n != 6_910_365_696 || rows[0].Trainable != n || rows[1].Trainable != 37_478_400 || rows[2].Trainable != 37_478_400 {
		t.Fatalf("parameters %d, trainable %d / %d / %d", n, rows[0].Trainable, rows[1].Trainable, rows[2].Trainable)
	}
	table := ScaleTable(LoRA(Set{"r": 16, "lora_alpha": 32, "target_modules": []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}}), []string{"7b"}, cfg)
	if !strings.Contains(table, "| 7b | QLoRA | NF4 + bfloat16 | 37,478,400 (0.54%) | 5.24 GB | 0.15 GB | 0.30 GB | **5.69 GB** |") {
		t.Errorf("ScaleTable:\n%s", table)
	}
	gb := func(b int64) float64 { return float64(b) / 1e9 }
	for _, c := range []struct {
		what      string
		got, want float64
	}{
		{"full: weights", gb(rows[0].Weights), 27.64}, {"full: AdamW state", gb(rows[0].Optimizer), 55.28},
		{"LoRA: bf16 base + LoRA", gb(rows[1].Weights), 13.82 + 0.15}, {"LoRA: AdamW state", gb(rows[1].Optimizer), 0.30},
		// NF4: 6.07 B Linear weights at 0.5 B + a float32 absmax per 64 (3.41 GB), 0.84 B in bf16 (1.68 GB).
		{"QLoRA: NF4 base + LoRA", gb(rows[2].Weights), 3.41 + 1.68 + 0.15},
	} {
		if math.Abs(c.got-c.want) > 0.01 {
			t.Errorf("%s: %.3f GB, want %.2f", c.what, c.got, c.want)
		}
	}
}

package train

import (
	"path/filepath"
	"testing"

	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/lora"
)

// DoRA (use_dora) through the trainer, with lora_dropout (DoRA's dropout path) on a float32 base
// and on an NF4 base (QDoRA): the magnitudes are trained parameters and move, the eval loss
// falls, and the trained adapter saved in PEFT's format loads back with the same eval loss.
func TestTrainDoRA(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts llama.LoadOptions
	}{
		{"float32", llama.LoadOptions{}},
		{"nf4", llama.LoadOptions{TorchDtype: "bfloat16", QuantizationConfig: &llama.BitsAndBytesConfig{LoadIn4Bit: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, err := llama.LoadModelWith(filepath.Join("..", "llama", "testdata", "llama_gqa"), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			cfg := lora.DefaultConfig()
			cfg.UseDora, cfg.LoraDropout, cfg.R, cfg.LoraAlpha = true, 0.1, 4, 8
			cfg.TargetModules = lora.TargetNames("q_proj", "v_proj", "up_proj")
			ad, err := lora.New(cfg, base, 3)
			if err != nil {
				t.Fatal(err)
			}
			mag := "model.layers.0.mlp.up_proj.lora_magnitude_vector"
			m0 := f32(ad.Tensors[mag])
			model := LoRAModel(base, ad)
			if _, ok := model.Trainable[mag]; !ok {
				t.Fatalf("%s is not a trainable parameter", mag)
			}
			args := toyArgs()
			args.LearningRate, args.MaxSteps = 1e-2, 40
			tr, after := mustLearn(t, "DoRA", model, base.Config.VocabSize, args)
			trained, err := TrainedAdapter(tr, ad)
			if err != nil {
				t.Fatal(err)
			}
			var moved float64
			for i, v := range f32(trained.Tensors[mag]) {
				moved = max(moved, float64(abs32(v-m0[i])))
			}
			if moved < 1e-4 {
				t.Errorf("%s moved by at most %.3g in training", mag, moved)
			}
			back := savedAndLoaded(t, trained, base.Config)
			tr2, eval2 := patternTrainer(t, LoRAModel(base, back), base.Config.VocabSize, args)
			again, err := tr2.EvaluateLoader(eval2)
			if err != nil {
				t.Fatal(err)
			}
			if d := again.Loss - after.Loss; d > 1e-4 || d < -1e-4 {
				t.Errorf("saved and reloaded DoRA adapter: eval loss %.6f, trained %.6f", again.Loss, after.Loss)
			}
		})
	}
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

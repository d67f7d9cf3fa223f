package lab

import (
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/loralab/loralab/datasets"
)

// DoRA from a notebook: LoRA(Set{"use_dora": true}) is PEFT's LoraConfig(use_dora=True); the
// run trains the magnitudes (counted in its print_trainable_parameters line), its adapter read
// back from the run's folder answers as the trained one, and the GGUF export is refused with a
// message naming use_dora.
func TestFineTuneDoRA(t *testing.T) {
	LiveCharts = false
	base := Load("", "")
	data := base.Examples(datasets.SFTIdentity, datasets.Train, DataOptions{MaxLength: 64, Limit: 16})
	cfg := LoRA(Set{"r": 4, "lora_alpha": 8, "use_dora": true, "lora_dropout": 0.1})
	if !cfg.UseDora {
		t.Fatal(`LoRA(Set{"use_dora": true}) did not set UseDora`)
	}
	plain := base.FineTune("dora-plain", LoRA(Set{"r": 4, "lora_alpha": 8, "lora_dropout": 0.1}),
		Args(Set{"learning_rate": 1e-2, "max_steps": 2, "per_device_train_batch_size": 4, "disable_tqdm": true}), data, nil)
	run := base.FineTune("dora", cfg,
		Args(Set{"learning_rate": 1e-2, "max_steps": 2, "per_device_train_batch_size": 4, "disable_tqdm": true}), data, nil)
	// q_proj and v_proj of the tiny base (hidden 192) in its 4 layers: 8 magnitudes of 192.
	if d := run.Counts.Trainable - plain.Counts.Trainable; d != 8*192 {
		t.Errorf("DoRA adds %d trainable parameters, want 8·192 magnitudes (%s vs %s)", d, run.Counts, plain.Counts)
	}
	a := run.Adapter()
	mag := "model.layers.0.self_attn.q_proj.lora_magnitude_vector"
	if _, ok := a.Tensors[mag]; !ok {
		t.Fatalf("the run's adapter lacks %s", mag)
	}
	// The same call again reads the run back: its adapter comes from the run's PEFT folder.
	again := base.FineTune("dora again", cfg,
		Args(Set{"learning_rate": 1e-2, "max_steps": 2, "per_device_train_batch_size": 4, "disable_tqdm": true}), data, nil)
	if again.fresh {
		t.Fatal("the same DoRA run trained again instead of being read back")
	}
	got, want := tensors.MustCopyFlatData[float32](again.Adapter().Tensors[mag]), tensors.MustCopyFlatData[float32](a.Tensors[mag])
	if !slices.Equal(got, want) {
		t.Errorf("%s read back from the run's folder differs from the trained one", mag)
	}
	msg := failed(t, func() { run.ExportGGUF(t.TempDir()) })
	if !strings.Contains(msg, "use_dora") {
		t.Errorf("GGUF export of a DoRA run: %q, want a refusal naming use_dora", msg)
	}
}

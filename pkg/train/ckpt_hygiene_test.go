package train

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
)

// tensorBytes parses a safetensors file directly (8-byte header length, JSON header, data),
// independently of the codec, and returns the file and each F32 tensor's byte range in it.
func tensorBytes(t *testing.T, path string) (raw []byte, ranges map[string][2]int) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := int(binary.LittleEndian.Uint64(raw[:8]))
	var header map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+n], &header); err != nil {
		t.Fatal(err)
	}
	ranges = map[string][2]int{}
	for name, h := range header {
		var info struct {
			DType   string `json:"dtype"`
			Offsets [2]int `json:"data_offsets"`
		}
		if name != "__metadata__" && json.Unmarshal(h, &info) == nil && info.DType == "F32" {
			ranges[name] = [2]int{8 + n + info.Offsets[0], 8 + n + info.Offsets[1]}
		}
	}
	return raw, ranges
}

// safetensorsFloats reads the float32 values of every tensor of a safetensors file.
func safetensorsFloats(t *testing.T, path string) map[string][]float32 {
	raw, ranges := tensorBytes(t, path)
	out := map[string][]float32{}
	for name, r := range ranges {
		b := raw[r[0]:r[1]]
		xs := make([]float32, len(b)/4)
		for i := range xs {
			xs[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		out[name] = xs
	}
	return out
}

// setSafetensorsFloat overwrites the first float32 of tensor name in a safetensors file.
func setSafetensorsFloat(t *testing.T, path, name string, v float32) {
	t.Helper()
	raw, ranges := tensorBytes(t, path)
	r, ok := ranges[name]
	if !ok {
		t.Fatalf("%s: no tensor %q", path, name)
	}
	binary.LittleEndian.PutUint32(raw[r[0]:], math.Float32bits(v))
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

func allFinite(t *testing.T, ckpt string) bool {
	for _, f := range []string{TrainableFile, OptimizerFile} {
		for name, xs := range safetensorsFloats(t, filepath.Join(ckpt, f)) {
			for i, x := range xs {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					t.Logf("%s %s[%d] = %v", f, name, i, x)
					return false
				}
			}
		}
	}
	return true
}

// A learning rate that overflows the update (float32) must not leave non-finite parameters in
// the trainer or in any checkpoint, and "last good checkpoint" must name a finite one.
func TestNoNonFiniteCheckpoint(t *testing.T) {
	args := toyArgs()
	args.OutputDir = t.TempDir()
	args.SaveSteps, args.MaxSteps = 1, 4
	args.LRSchedulerType, args.WarmupSteps = "constant_with_warmup", 2 // step 1: lr 0, step 2: lr/2
	args.LearningRate = 1e39                                           // +Inf in float32
	tr := newToyTrainer(t, args, 0)
	err := tr.Train()
	if !errors.Is(err, ErrNonFinite) {
		t.Fatalf("Train: %v, want ErrNonFinite", err)
	}
	steps, _ := Checkpoints(args.OutputDir)
	for _, s := range steps {
		if !allFinite(t, CheckpointDir(args.OutputDir, s)) {
			t.Errorf("checkpoint-%d holds non-finite values", s)
		}
	}
	if len(steps) == 0 || tr.LastCheckpoint() != CheckpointDir(args.OutputDir, steps[len(steps)-1]) ||
		!strings.Contains(err.Error(), "last good checkpoint: "+tr.LastCheckpoint()) {
		t.Errorf("checkpoints %v; error %q should name the last one as last good", steps, err)
	}
	p, _ := tr.Params()
	for n, x := range p {
		for _, v := range f32(x) {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("the trainer holds non-finite %s after stopping", n)
			}
		}
	}
	t.Log(err)

	// A model that starts with a NaN parameter cannot be checkpointed either.
	args.OutputDir = t.TempDir()
	model := ToyLM(ToyLMConfig{Vocab: toyVocab, Dim: toyDim, Seed: 1})
	bad := f32(model.Trainable["mlp.weight"])
	bad[3] = float32(math.NaN())
	model.Trainable["mlp.weight"] = tensors.FromFlatDataAndDimensions(bad, toyDim, toyDim)
	tr2, err := New(testBackend(t), model, args, tr.TrainData, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr2.SaveCheckpoint(); !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), "mlp.weight[3]") {
		t.Errorf("SaveCheckpoint with a NaN parameter: %v", err)
	}
	if steps, _ := Checkpoints(args.OutputDir); len(steps) != 0 {
		t.Errorf("checkpoints %v written with a NaN parameter", steps)
	}
}

// A checkpoint whose state is corrupt (NaN parameter, negative exp_avg_sq, truncated file) is
// refused on load; Resume names the newest intact checkpoint instead of guessing.
func TestResumeRefusesCorruptCheckpoint(t *testing.T) {
	args := toyArgs()
	args.OutputDir = t.TempDir()
	args.SaveSteps, args.MaxSteps = 2, 6
	if err := newToyTrainer(t, args, 0).Train(); err != nil {
		t.Fatal(err)
	}
	dir := args.OutputDir
	c4, c6 := CheckpointDir(dir, 4), CheckpointDir(dir, 6)
	var name string
	for n := range safetensorsFloats(t, filepath.Join(c6, TrainableFile)) {
		name = n
		break
	}
	for _, tc := range []struct {
		what    string
		corrupt func(ckpt string)
		wantErr string
	}{
		{"nan parameter", func(c string) { setSafetensorsFloat(t, filepath.Join(c, TrainableFile), name, float32(math.NaN())) }, name},
		{"negative exp_avg_sq", func(c string) { setSafetensorsFloat(t, filepath.Join(c, OptimizerFile), name+".exp_avg_sq", -1) }, "exp_avg_sq"},
		{"inf exp_avg", func(c string) {
			setSafetensorsFloat(t, filepath.Join(c, OptimizerFile), name+".exp_avg", float32(math.Inf(1)))
		}, "exp_avg"},
		{"truncated", func(c string) {
			p := filepath.Join(c, TrainableFile)
			raw, _ := os.ReadFile(p)
			_ = os.WriteFile(p, raw[:len(raw)/2], 0o644)
		}, TrainableFile},
	} {
		t.Run(strings.ReplaceAll(tc.what, " ", "_"), func(t *testing.T) {
			// A fresh copy of checkpoint-6 to damage.
			work := t.TempDir()
			for _, c := range []string{c4, c6} {
				dst := filepath.Join(work, filepath.Base(c))
				if err := os.MkdirAll(dst, 0o755); err != nil {
					t.Fatal(err)
				}
				entries, _ := os.ReadDir(c)
				for _, e := range entries {
					raw, _ := os.ReadFile(filepath.Join(c, e.Name()))
					if err := os.WriteFile(filepath.Join(dst, e.Name()), raw, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			tc.corrupt(filepath.Join(work, "checkpoint-6"))
			tr := newToyTrainer(t, args, 0)
			if err := tr.LoadCheckpoint(filepath.Join(work, "checkpoint-6")); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("LoadCheckpoint: %v, want an error naming %q", err, tc.wantErr)
			}
			ok, err := tr.Resume(work)
			var ue *UnreadableCheckpointError
			if ok || !errors.As(err, &ue) || ue.Intact != filepath.Join(work, "checkpoint-4") ||
				!strings.Contains(err.Error(), "checkpoint-4") || !strings.Contains(err.Error(), "checkpoint-6") {
				t.Fatalf("Resume: %v, %v; want an error naming the unreadable checkpoint-6 and the intact checkpoint-4", ok, err)
			}
			if tr.Step() != 0 {
				t.Errorf("Resume changed the trainer (step %d)", tr.Step())
			}
			if err := tr.LoadCheckpoint(ue.Intact); err != nil || tr.Step() != 4 {
				t.Errorf("loading the intact checkpoint: step %d, %v", tr.Step(), err)
			}
		})
	}
}

package lora

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/llama"
)

func loadBaseWith(t testing.TB, name string, opts llama.LoadOptions) *llama.Model {
	t.Helper()
	m, err := llama.LoadModelWith(filepath.Join("..", "llama", "testdata", name), opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func floatCopy(t testing.TB, m *llama.Model) *llama.Model {
	c, err := m.Float32Copy()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// loraGrads returns the loss and the gradients of the adapter's tensors for a base model
// (plain, bfloat16 or quantized: its graph tensors are the inputs).
func loraGrads(t testing.TB, base *llama.Model, a *Adapter, ids [][]int32, mem ...llama.MemoryOptions) [][]float32 {
	baseTs := base.Tensors()
	loraNames := a.Names()
	var names []string
	var args []any
	for _, nt := range baseTs {
		names = append(names, nt.Name)
		args = append(args, nt.Tensor)
	}
	for _, n := range loraNames {
		names = append(names, n)
		args = append(args, a.Tensors[n])
	}
	args = append(args, tensors.FromValue(ids))
	exec := MustNewExec(backend.MustDefault(), func(inputs []*Node) []*Node {
		w := llama.NewWeights(names, inputs[:len(names)])
		in := inputs[len(names)]
		hook := &Bound{Plan: a.Plan, W: w}
		var opts llama.MemoryOptions // none: the plain path, CausalLMLoss(Forward(…))
		if len(mem) > 0 {
			opts = mem[0]
		}
		sum, _ := llama.TrainingLoss(base.Config, w, hook, in, nil, nil, in, nil, opts)
		trainable := make([]*Node, len(loraNames))
		for i, n := range loraNames {
			trainable[i] = hook.get(n)
		}
		return append([]*Node{sum}, Gradient(sum, trainable...)...)
	})
	out := exec.MustExec(args...)
	res := make([][]float32, len(out))
	for i, o := range out {
		res[i] = tensors.MustCopyFlatData[float32](o)
	}
	return res
}

// TestGradientsThroughQuantizedBase: the loss and the LoRA gradients through a bfloat16, 8-bit or
// NF4 base (converted/dequantized inside the graph) equal those through the float32 copy of the
// same weights; LoRA tensors and gradients stay float32.
func TestGradientsThroughQuantizedBase(t *testing.T) {
	_, in := loadBase(t, "llama_gqa")
	for _, tc := range []struct {
		name string
		opts llama.LoadOptions
	}{
		{"bfloat16", llama.LoadOptions{TorchDtype: "bfloat16"}},
		{"int8", llama.LoadOptions{QuantizationConfig: &llama.BitsAndBytesConfig{LoadIn8Bit: true}}},
		{"nf4", llama.LoadOptions{QuantizationConfig: &llama.BitsAndBytesConfig{LoadIn4Bit: true, Bnb4BitUseDoubleQuant: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := loadBaseWith(t, "llama_gqa", tc.opts)
			a, err := Load(filepath.Join("testdata", "adapter_all7"), q.Config) // B ≠ 0: A gets gradients too
			if err != nil {
				t.Fatal(err)
			}
			got := loraGrads(t, q, a, in.InputIDs)
			want := loraGrads(t, floatCopy(t, q), a, in.InputIDs)
			names := append([]string{"loss"}, a.Names()...)
			for i := range got {
				if e := maxRelErr(got[i], want[i]); e > 1e-4 {
					t.Errorf("%s: max relative error %.3g", names[i], e)
				}
			}
		})
	}
}

func weightBytes(m *llama.Model) map[string][]byte {
	out := map[string][]byte{}
	for n, t := range m.Weights {
		_ = t.ConstBytes(func(b []byte) { out[n] = bytes.Clone(b) })
	}
	return out
}

// TestMergeChecksShapesFirst: an adapter planned for another model shape is refused before any
// weight is touched (issue 13 item 7: one for hidden 128 merged into hidden 64 overwrote weights
// at wrong offsets; one whose MLP does not fit panicked after writing the attention weights).
// Gradient checkpointing and the chunked loss over bf16, int8 and NF4 bases (their conversions
// tied to each layer's checkpoint and redone in the backward pass, the bf16 head converted in
// blocks) give the LoRA gradients of the plain path.
func TestGradientsThroughQuantizedBaseMemoryLean(t *testing.T) {
	_, in := loadBase(t, "llama_gqa")
	for _, opts := range []llama.LoadOptions{
		{TorchDtype: "bfloat16"},
		{TorchDtype: "bfloat16", QuantizationConfig: &llama.BitsAndBytesConfig{LoadIn8Bit: true}},
		{TorchDtype: "bfloat16", QuantizationConfig: &llama.BitsAndBytesConfig{LoadIn4Bit: true, Bnb4BitUseDoubleQuant: true}},
	} {
		q := loadBaseWith(t, "llama_gqa", opts)
		a, err := Load(filepath.Join("testdata", "adapter_all7"), q.Config)
		if err != nil {
			t.Fatal(err)
		}
		want := loraGrads(t, q, a, in.InputIDs)
		got := loraGrads(t, q, a, in.InputIDs, llama.MemoryOptions{GradientCheckpointing: true, LossChunkSize: 5})
		names := append([]string{"loss"}, a.Names()...)
		for i := range got {
			if e := maxRelErr(got[i], want[i]); e > 1e-4 {
				t.Errorf("%+v %s: max relative error %.3g", opts.QuantizationConfig, names[i], e)
			}
		}
	}
}

func TestMergeChecksShapesFirst(t *testing.T) {
	base, _ := loadBase(t, "llama_gqa")
	cfg := DefaultConfig()
	cfg.TargetModules = TargetNames("q_proj", "v_proj", "gate_proj", "down_proj")
	for _, tc := range []struct {
		name string
		edit func(c *llama.Config)
	}{
		{"hidden 128", func(c *llama.Config) { c.HiddenSize = 128 }},
		{"intermediate 128 (attention fits, MLP does not)", func(c *llama.Config) { c.IntermediateSize = 128 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other := *base.Config
			tc.edit(&other)
			om, err := llama.NewRandomModel(&other, 1)
			if err != nil {
				t.Fatal(err)
			}
			a, err := New(cfg, om, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, tn := range a.Names() { // B ≠ 0, so a wrong merge would change weights
				tensors.MustMutableFlatData(a.Tensors[tn], func(f []float32) {
					for i := range f {
						f[i] = 0.5
					}
				})
			}
			before := weightBytes(base)
			err = a.Merge(base)
			if err == nil || !strings.Contains(err.Error(), "shape") {
				t.Fatalf("merge of a mis-shaped adapter: %v", err)
			}
			after := weightBytes(base)
			for n, b := range before {
				if !bytes.Equal(b, after[n]) {
					t.Errorf("%s changed by a failed merge", n)
				}
			}
			if err := a.SaveMerged(base, t.TempDir(), llama.SaveOptions{}); err == nil {
				t.Errorf("SaveMerged accepted a mis-shaped adapter")
			}
		})
	}
}

// TestMergeIntoQuantizedBase: on float32, bfloat16 and NF4 bases, SaveMerged writes a model
// whose logits are the adapted logits, without changing the base; merging in place into an NF4
// base dequantizes the adapted weights (they become float32) and gives the adapted logits; into
// a bfloat16 base it gives the weights of a bfloat16 export.
func TestMergeIntoQuantizedBase(t *testing.T) {
	_, in := loadBase(t, "llama_gqa")
	for _, opts := range []llama.LoadOptions{{}, {TorchDtype: "bfloat16"}, {QuantizationConfig: &llama.BitsAndBytesConfig{LoadIn4Bit: true}}} {
		q := loadBaseWith(t, "llama_gqa", opts)
		a, err := Load(filepath.Join("testdata", "adapter_all7"), q.Config)
		if err != nil {
			t.Fatal(err)
		}
		adapted := logits(t, q, a, in)
		before := weightBytes(q)
		dir := t.TempDir()
		if err := a.SaveMerged(q, dir, llama.SaveOptions{}); err != nil {
			t.Fatal(err)
		}
		after := weightBytes(q)
		for n, b := range before {
			if !bytes.Equal(b, after[n]) {
				t.Fatalf("SaveMerged changed the base's %s", n)
			}
		}
		saved, err := llama.LoadModel(dir)
		if err != nil {
			t.Fatal(err)
		}
		if e := maxRelErr(logits(t, saved, nil, in), adapted); e > 1e-4 {
			t.Errorf("%+v: SaveMerged model vs adapter on the base: max relative error %.3g", opts, e)
		}
		if err := a.Merge(q); err != nil {
			t.Fatal(err)
		}
		if opts.TorchDtype == "bfloat16" {
			// Merge rounds W + ΔW back to bfloat16 (as PEFT's merge_and_unload does on a bfloat16
			// model): the same weights as an export stored in bfloat16.
			dir16 := t.TempDir()
			if err := a.SaveMerged(loadBaseWith(t, "llama_gqa", opts), dir16, llama.SaveOptions{DType: "bfloat16"}); err != nil {
				t.Fatal(err)
			}
			saved16, err := llama.LoadModelWith(dir16, llama.LoadOptions{TorchDtype: "auto"})
			if err != nil {
				t.Fatal(err)
			}
			if e := maxRelErr(logits(t, q, nil, in), logits(t, saved16, nil, in)); e > 1e-5 {
				t.Errorf("bfloat16 merge in place vs SaveMerged in bfloat16: max relative error %.3g", e)
			}
		} else if e := maxRelErr(logits(t, q, nil, in), adapted); e > 1e-4 {
			t.Errorf("%+v: merged in place vs adapter on the base: max relative error %.3g", opts, e)
		}
		for _, mod := range a.Plan.Modules {
			if q.IsQuantized(mod.Name + ".weight") {
				t.Errorf("%s still quantized after the merge", mod.Name)
			}
		}
	}
}

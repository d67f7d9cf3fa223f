package lora

import (
	"path/filepath"
	"slices"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/safetensors"
)

// goldenTensors reads every tensor of a golden file as float32.
func goldenTensors(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	sf, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	out := map[string][]float32{}
	for _, n := range sf.Names() {
		v, err := sf.ReadFloat32(n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = tensors.MustCopyFlatData[float32](v)
	}
	return out
}

// gradTol is the largest relative gradient difference accepted against torch (float32 both,
// relative to max(|g|, 10% of the tensor's largest |g|)).
const gradTol = 1e-4

// TestDoraPEFTGolden checks DoRA against the real PEFT 0.21.2 (testdata/gen_dora_golden.py):
// PEFT's saved DoRA adapters load; their logits, the summed token loss of one training-mode
// step and the gradients of every lora_A, lora_B, lora_magnitude_vector (and lora_only bias)
// equal torch's, also with gradient checkpointing and the chunked loss; magnitudes initialised
// from A and B equal PEFT's ‖W + s·B·A‖; Save writes PEFT's keys and shapes.
func TestDoraPEFTGolden(t *testing.T) {
	for _, tc := range []struct{ dir, base string }{
		{"dora_llama_gqa", "llama_gqa"},        // all seven projections and lm_head
		{"dora_qwen2_bias", "qwen2_bias_tied"}, // bfloat16 base, q/k/v biases (lora_only), rsLoRA
	} {
		t.Run(tc.dir, func(t *testing.T) {
			base, in := loadBase(t, tc.base)
			dir := filepath.Join("testdata", tc.dir)
			a, err := Load(dir, base.Config)
			if err != nil {
				t.Fatal(err)
			}
			if !a.Plan.Config.UseDora {
				t.Fatal("the golden adapter has use_dora=false")
			}
			want := goldenTensors(t, filepath.Join(dir, "golden.safetensors"))

			e := maxRelErr(logits(t, base, a, in), want["logits"])
			t.Logf("logits vs PEFT: max relative error %.3g", e)
			if e > 1e-4 {
				t.Errorf("logits differ from PEFT's: max relative error %.3g", e)
			}
			if d := maxRelErr(logits(t, base, nil, in), want["logits"]); d < 1e-2 {
				t.Errorf("PEFT's DoRA adapter barely changes the logits (%.3g): the check would prove nothing", d)
			}

			names := a.Names()
			for _, opts := range []llama.MemoryOptions{{}, {GradientCheckpointing: true, LossChunkSize: 5}} {
				got := loraGrads(t, base, a, in.InputIDs, opts)
				if e := maxRelErr(got[0], want["loss_sum"]); e > 1e-5 {
					t.Errorf("%+v: loss sum %v, PEFT %v", opts, got[0], want["loss_sum"])
				}
				var worst float64
				for i, n := range names {
					w, ok := want["grad."+n]
					if !ok {
						t.Fatalf("golden has no gradient for %s", n)
					}
					e := maxRelErr(got[1+i], w)
					worst = max(worst, e)
					if e > gradTol {
						t.Errorf("%+v: gradient of %s: max relative error %.3g > %g", opts, n, e, gradTol)
					}
				}
				t.Logf("%+v: %d gradients vs torch: max relative error %.3g", opts, len(names), worst)
			}

			// Magnitude init: PEFT's ‖W + s·B·A‖ from the same A and B.
			fresh := a.Clone()
			if err := fresh.initMagnitudes(base); err != nil {
				t.Fatal(err)
			}
			for _, m := range a.Plan.Modules {
				got := tensors.MustCopyFlatData[float32](fresh.Tensors[m.MagnitudeName()])
				if e := maxRelErr(got, want["init_magnitude."+m.Name]); e > 1e-5 {
					t.Errorf("%s: initial magnitude vs PEFT's: max relative error %.3g", m.Name, e)
				}
			}

			// Save writes PEFT's keys and shapes.
			out := t.TempDir()
			if err := a.Save(out); err != nil {
				t.Fatal(err)
			}
			ours, err := safetensors.Open(filepath.Join(out, "adapter_model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer ours.Close()
			theirs, err := safetensors.Open(filepath.Join(dir, "adapter_model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer theirs.Close()
			on, tn := ours.Names(), theirs.Names()
			slices.Sort(on)
			slices.Sort(tn)
			if !slices.Equal(on, tn) {
				t.Errorf("saved keys differ from PEFT's:\nours   %v\nPEFT's %v", on, tn)
			}
			for _, n := range tn {
				ti, _ := theirs.Info(n)
				if oi, ok := ours.Info(n); ok && !slices.Equal(oi.Shape, ti.Shape) {
					t.Errorf("%s: saved shape %v, PEFT's %v", n, oi.Shape, ti.Shape)
				}
			}
		})
	}
}

// TestDoraDropoutPathGolden: with dropout acting in training, PEFT computes DoRA's base term on
// the dropped-out input (x̃·Wᵀ, no bias) instead of reusing the layer's output. PEFT's lora.Linear
// around an nn.Linear with bias, its dropout replaced by a known mask (gen_dora_golden.py), gives
// the output and the gradients of sum(out·G) w.r.t. A, B, the magnitude and x; doraDelta on
// the same x̃ must match them.
func TestDoraDropoutPathGolden(t *testing.T) {
	g := goldenTensors(t, filepath.Join("testdata", "dora_dropout_layer", "golden.safetensors"))
	const n, in, out, r = 5, 24, 16, 3
	mod := Module{Name: "proj", Kind: KindLinear, In: in, Out: out, R: r, Alpha: 5, Scaling: 5.0 / r, Dora: true}
	if s := float64(g["scaling"][0]); s != float64(float32(mod.Scaling)) {
		t.Fatalf("PEFT's scaling %v, ours %v", s, mod.Scaling)
	}
	cfg := DefaultConfig()
	cfg.UseDora, cfg.LoraDropout = true, 0.5
	plan := &Plan{Config: cfg, Model: &llama.Config{}, Modules: []Module{mod}}
	inputs := []struct {
		name string
		dims []int
	}{{"W", []int{out, in}}, {"bias", []int{out}}, {"A", []int{r, in}}, {"B", []int{out, r}}, {"m", []int{out}},
		{"x", []int{n, in}}, {"mask", []int{n, in}}, {"G", []int{n, out}}}
	var args []any
	for _, i := range inputs {
		args = append(args, tensors.FromFlatDataAndDimensions(g[i.name], i.dims...))
	}
	exec := MustNewExec(backend.MustDefault(), func(p []*Node) []*Node {
		b := &Bound{Plan: plan, Training: true, W: llama.Weights{"proj.weight": p[0], "proj.bias": p[1],
			mod.AName(): p[2], mod.BName(): p[3], mod.MagnitudeName(): p[4]}}
		x, mask, G := p[5], p[6], p[7]
		xt := Mul(x, mask)                                                               // the dropped-out input
		y := Add(DotGeneral(x, []int{1}, nil, p[0], []int{1}, nil), InsertAxes(p[1], 0)) // base layer, bias included
		u := MulScalar(DotGeneral(DotGeneral(xt, []int{1}, nil, p[2], []int{1}, nil), []int{1}, nil, p[3], []int{1}, nil), mod.Scaling)
		res := Add(y, b.doraDelta(mod, xt, y, u, true))
		loss := ReduceAllSum(Mul(res, G))
		return append([]*Node{res}, Gradient(loss, p[2], p[3], p[4], x)...)
	})
	res := exec.MustExec(args...)
	for i, name := range []string{"out", "grad.A", "grad.B", "grad.m", "grad.x"} {
		got := tensors.MustCopyFlatData[float32](res[i])
		e := maxRelErr(got, g[name])
		t.Logf("%s vs PEFT: max relative error %.3g", name, e)
		if e > gradTol {
			t.Errorf("%s differs from PEFT's: max relative error %.3g > %g", name, e, gradTol)
		}
	}
	// The same layer without dropout (base = y − bias) must differ: the golden exercises the dropout path.
	exec2 := MustNewExec(backend.MustDefault(), func(p []*Node) []*Node {
		b := &Bound{Plan: plan, W: llama.Weights{"proj.weight": p[0], "proj.bias": p[1],
			mod.AName(): p[2], mod.BName(): p[3], mod.MagnitudeName(): p[4]}}
		xt := Mul(p[5], p[6])
		y := Add(DotGeneral(p[5], []int{1}, nil, p[0], []int{1}, nil), InsertAxes(p[1], 0))
		u := MulScalar(DotGeneral(DotGeneral(xt, []int{1}, nil, p[2], []int{1}, nil), []int{1}, nil, p[3], []int{1}, nil), mod.Scaling)
		return []*Node{Add(y, b.doraDelta(mod, xt, y, u, false))}
	})
	if e := maxRelErr(tensors.MustCopyFlatData[float32](exec2.MustExec(args...)[0]), g["out"]); e < 1e-2 {
		t.Errorf("reusing the undropped base output gives PEFT's dropout-path output too (%.3g): the golden proves nothing", e)
	}
}

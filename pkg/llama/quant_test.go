package llama

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/safetensors"
)

// quantGolden reads testdata/quant_golden.safetensors (made by gen_quant_golden.py, plain torch).
func quantGolden(t *testing.T) map[string]*tensors.Tensor {
	t.Helper()
	g, err := safetensors.ReadAll(filepath.Join("testdata", "quant_golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// sameFloats checks got == want within rel relative error (0: bit for bit).
func sameFloats(t *testing.T, what string, got, want []float32, rel float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if got[i] != want[i] && d > rel*math.Abs(float64(want[i])) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// TestQuantizeGolden: NF4, 8-bit and double quantization equal the plain-torch goldens: codes
// bit for bit; scales and values bit for bit on the host and within 1e-6 in the graph. Double
// quantization's scales agree within 1e-6 and its absmax within 1e-4: torch's float32 mean sums in
// another order, and adding the offset back cancels digits.
func TestQuantizeGolden(t *testing.T) {
	g := quantGolden(t)
	for _, name := range []string{"small", "wide", "edge"} {
		t.Run(name, func(t *testing.T) {
			w := g[name]
			vals := tensors.MustCopyFlatData[float32](w)
			n := len(vals)
			out, in := w.Shape().Dimensions[0], w.Shape().Dimensions[1]

			codes := make([]byte, n/2)
			absmax := make([]float32, n/QuantBlockSize)
			QuantizeNF4(vals, codes, absmax)
			if want := tensors.MustCopyFlatData[uint8](g[name+".nf4"]); !slices.Equal(codes, want) {
				for i := range codes {
					if codes[i] != want[i] {
						t.Fatalf("nf4 codes[%d] = %#02x, want %#02x (value pair %v, %v, absmax %v)", i, codes[i], want[i], vals[2*i], vals[2*i+1], absmax[2*i/QuantBlockSize])
					}
				}
			}
			sameFloats(t, "nf4 absmax", absmax, tensors.MustCopyFlatData[float32](g[name+".nf4.absmax"]), 0)
			deq := make([]float32, n)
			DequantizeNF4(codes, absmax, deq)
			sameFloats(t, "nf4 dequantized", deq, tensors.MustCopyFlatData[float32](g[name+".nf4.dequant"]), 0)

			q8 := make([]int8, n)
			a8 := make([]float32, n/QuantBlockSize)
			QuantizeInt8(vals, q8, a8)
			if want := tensors.MustCopyFlatData[int8](g[name+".int8"]); !slices.Equal(q8, want) {
				t.Fatalf("int8 codes differ")
			}
			sameFloats(t, "int8 absmax", a8, tensors.MustCopyFlatData[float32](g[name+".int8.absmax"]), 0)
			deq8 := make([]float32, n)
			DequantizeInt8(q8, a8, deq8)
			sameFloats(t, "int8 dequantized", deq8, tensors.MustCopyFlatData[float32](g[name+".int8.dequant"]), 0)

			dq := QuantizeAbsmax(absmax)
			if want := tensors.MustCopyFlatData[int8](g[name+".dq.codes"]); !slices.Equal(dq.Codes, want) {
				t.Fatalf("double-quant codes %v, want %v", dq.Codes, want)
			}
			sameFloats(t, "double-quant scales", dq.Scales, tensors.MustCopyFlatData[float32](g[name+".dq.scales"]), 1e-6)
			sameFloats(t, "double-quant offset", []float32{dq.Offset}, tensors.MustCopyFlatData[float32](g[name+".dq.offset"]), 1e-6)
			dabs := dq.Absmax(len(absmax))
			sameFloats(t, "double-quant absmax", dabs, tensors.MustCopyFlatData[float32](g[name+".dq.absmax"]), 1e-4)
			DequantizeNF4(codes, dabs, deq)
			sameFloats(t, "double-quant dequantized", deq, tensors.MustCopyFlatData[float32](g[name+".dq.dequant"]), 1e-4)

			// The graph's dequantization equals the host's.
			b := backend.MustDefault()
			res := MustExecOnceN(b, func(x []*Node) []*Node {
				c, a, c8, a8, dc, ds, doff := x[0], x[1], x[2], x[3], x[4], x[5], x[6]
				return []*Node{DequantizeNF4Node(c, a), DequantizeInt8Node(c8, a8),
					DequantizeNF4Node(c, DequantizeAbsmax(dc, ds, doff, len(absmax)))}
			}, g[name+".nf4"], g[name+".nf4.absmax"], tensors.FromFlatDataAndDimensions(q8, out, in), g[name+".int8.absmax"],
				g[name+".dq.codes"], g[name+".dq.scales"], g[name+".dq.offset"])
			sameFloats(t, "graph nf4", tensors.MustCopyFlatData[float32](res[0]), tensors.MustCopyFlatData[float32](g[name+".nf4.dequant"]), 1e-6)
			sameFloats(t, "graph int8", tensors.MustCopyFlatData[float32](res[1]), tensors.MustCopyFlatData[float32](g[name+".int8.dequant"]), 1e-6)
			sameFloats(t, "graph double-quant nf4", tensors.MustCopyFlatData[float32](res[2]), tensors.MustCopyFlatData[float32](g[name+".dq.dequant"]), 1e-4)
		})
	}
}

// TestNF4CodeFastPath: the binned lookup gives the binary search's code on a dense sweep of
// [-1, 1] and at every midpoint and its neighbouring floats.
func TestNF4CodeFastPath(t *testing.T) {
	check := func(x float32) {
		if a, b := nf4Code(x), nf4CodeSearch(x); a != b {
			t.Fatalf("nf4Code(%v) = %d, search gives %d", x, a, b)
		}
	}
	for i := -1 << 20; i <= 1<<20; i++ {
		check(float32(i) / (1 << 20))
	}
	for _, m := range nf4Mid {
		check(m)
		check(math.Nextafter32(m, 2))
		check(math.Nextafter32(m, -2))
	}
}

func float32Copy(t testing.TB, m *Model) *Model {
	c, err := m.Float32Copy()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func runLogits(t testing.TB, m *Model, in goldenInputs) []float32 {
	t.Helper()
	r, err := NewRunner(backend.MustDefault(), m, nil)
	if err != nil {
		t.Fatal(err)
	}
	lt, err := r.Logits(in.InputIDs, in.PositionIDs, in.SegmentIDs)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](lt)
}

var loadCases = []struct {
	name string
	opts LoadOptions
}{
	{"bfloat16", LoadOptions{TorchDtype: "bfloat16"}},
	{"float16", LoadOptions{TorchDtype: "float16"}},
	{"int8", LoadOptions{QuantizationConfig: &BitsAndBytesConfig{LoadIn8Bit: true}}},
	{"nf4", LoadOptions{QuantizationConfig: &BitsAndBytesConfig{LoadIn4Bit: true}}},
	{"nf4 double quant, bfloat16", LoadOptions{TorchDtype: "bfloat16",
		QuantizationConfig: &BitsAndBytesConfig{LoadIn4Bit: true, Bnb4BitUseDoubleQuant: true}}},
}

// TestLoadQuantizedAndHalf: a model loaded in bfloat16, float16, NF4 (with and without double
// quantization) or 8 bits quantizes every Linear weight of the decoder layers and nothing else,
// and its forward pass (weights converted or dequantized inside the graph) gives the logits of
// the float32 model holding the same weights converted on the host.
func TestLoadQuantizedAndHalf(t *testing.T) {
	for _, dir := range []string{filepath.Join("testdata", "llama_gqa"), filepath.Join("testdata", "qwen2_bias_tied")} {
		in, _, _ := readGolden(t, dir)
		for _, tc := range loadCases {
			t.Run(filepath.Base(dir)+"/"+tc.name, func(t *testing.T) {
				m, err := LoadModelWith(dir, tc.opts)
				if err != nil {
					t.Fatal(err)
				}
				if err := m.Check(); err != nil {
					t.Fatal(err)
				}
				for _, lin := range m.Config.LinearModules() {
					name := lin.Module + ".weight"
					if _, ok := m.WeightShape(name); !ok {
						continue // tied head
					}
					if q := m.IsQuantized(name); q != (tc.opts.QuantizationConfig != nil && lin.Layer >= 0) {
						t.Errorf("%s quantized: %v", name, q)
					}
				}
				if dt := m.Weights["model.embed_tokens.weight"].DType(); tc.opts.TorchDtype == "bfloat16" && dt != dtypes.BFloat16 {
					t.Errorf("embeddings kept as %s, want bfloat16", dt)
				}
				if e := maxRelErr(runLogits(t, m, in), runLogits(t, float32Copy(t, m), in)); e > 1e-5 {
					t.Errorf("logits differ from the host-dequantized float32 copy's: max relative error %.3g", e)
				}
			})
		}
	}
	dir := filepath.Join("testdata", "llama_gqa")
	if _, err := LoadModelWith(dir, LoadOptions{TorchDtype: "float8"}); err == nil {
		t.Errorf("torch_dtype float8 accepted")
	}
	if _, err := LoadModelWith(dir, LoadOptions{QuantizationConfig: &BitsAndBytesConfig{LoadIn4Bit: true, Bnb4BitQuantType: "fp4"}}); err == nil {
		t.Errorf("fp4 accepted")
	}
}

// TestReducedPrecisionLogits: the logits of the pretrained tiny base (datasets/tiny_base) in
// bfloat16, float16, 8-bit and NF4 against its float32 logits on a text of its corpus: the
// relative RMS error ‖a−b‖/‖b‖ and the agreement of the top-1 token, with bounds. Run with -v to
// see the figures.
func TestReducedPrecisionLogits(t *testing.T) {
	dir := filepath.Join("..", "..", "datasets", "tiny_base")
	ref, err := LoadModel(dir)
	if err != nil {
		t.Skipf("no tiny base: %v", err)
	}
	ids := make([]int32, 128)
	for i := range ids {
		ids[i] = int32((i*2654435761 + 7) % ref.Config.VocabSize) // a fixed pseudo-random row
	}
	in := goldenInputs{InputIDs: [][]int32{ids}}
	want := runLogits(t, ref, in)
	V := ref.Config.VocabSize
	bounds := map[string][2]float64{ // max relative RMS error, min top-1 agreement
		"bfloat16": {0.01, 0.95}, "float16": {0.002, 0.99}, "int8": {0.02, 0.95},
		"nf4": {0.15, 0.8}, "nf4 double quant, bfloat16": {0.15, 0.8},
	}
	for _, tc := range loadCases {
		m, err := LoadModelWith(dir, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		got := runLogits(t, m, in)
		var num, den float64
		for i := range got {
			d := float64(got[i] - want[i])
			num += d * d
			den += float64(want[i]) * float64(want[i])
		}
		rms := math.Sqrt(num / den)
		agree := 0
		for p := 0; p < len(got)/V; p++ {
			if argmax(got[p*V:(p+1)*V]) == argmax(want[p*V:(p+1)*V]) {
				agree++
			}
		}
		frac := float64(agree) / float64(len(got)/V)
		t.Logf("%-28s logits relative RMS error %.4f, top-1 agreement %.3f", tc.name, rms, frac)
		if b := bounds[tc.name]; rms > b[0] || frac < b[1] {
			t.Errorf("%s: relative RMS error %.4f (bound %.4f), top-1 agreement %.3f (bound %.3f)", tc.name, rms, b[0], frac, b[1])
		}
	}
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// TestSaveQuantizedDequantizes: saving a quantized model writes the dequantized weights, which
// reload to the same logits.
func TestSaveQuantizedDequantizes(t *testing.T) {
	dir := filepath.Join("testdata", "qwen2_bias_tied")
	m, err := LoadModelWith(dir, LoadOptions{QuantizationConfig: &BitsAndBytesConfig{LoadIn4Bit: true}})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := m.Save(out); err != nil {
		t.Fatal(err)
	}
	back, err := LoadModel(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range m.Config.ParamSpecs() {
		w, err := m.WeightFloat32(s.Name)
		if err != nil {
			t.Fatal(err)
		}
		sameFloats(t, s.Name, tensors.MustCopyFlatData[float32](back.Weights[s.Name]), tensors.MustCopyFlatData[float32](w), 0)
	}
}

// TestQuantizedLinearUnderCheckpointing: frozenMatmul of a quantized weight gives the same loss
// and input gradient inside a GoMLX gradient-checkpointed block (the input passed through
// Node.Checkpoint, as gradient checkpointing per decoder layer does) and outside one.
func TestQuantizedLinearUnderCheckpointing(t *testing.T) {
	const in, out, tokens = 128, 64, 16
	w := make([]float32, out*in)
	x := make([]float32, tokens*in)
	for i := range w {
		w[i] = float32(math.Sin(float64(i)))
	}
	for i := range x {
		x[i] = float32(math.Cos(float64(i) * 0.7))
	}
	codes := make([]byte, out*in/2)
	absmax := make([]float32, out*in/QuantBlockSize)
	QuantizeNF4(w, codes, absmax)
	args := []any{tensors.FromFlatDataAndDimensions(x, tokens, in), tensors.FromFlatDataAndDimensions(codes, out, in/2),
		tensors.FromFlatDataAndDimensions(absmax, len(absmax))}
	run := func(checkpoint bool) []float32 {
		res := MustExecOnceN(backend.MustDefault(), func(p []*Node) []*Node {
			xin := p[0]
			h := xin
			if checkpoint {
				h = h.Checkpoint()
			}
			y := Tanh(Weights{"w.nf4": p[1], "w.absmax": p[2]}.frozenMatmul("w", h))
			if checkpoint {
				y = y.StopCheckpoint()
			}
			loss := ReduceAllSum(Mul(y, y))
			return []*Node{loss, Gradient(loss, xin)[0]}
		}, args...)
		return append(tensors.MustCopyFlatData[float32](res[0]), tensors.MustCopyFlatData[float32](res[1])...)
	}
	if e := maxRelErr(run(true), run(false)); e > 1e-5 {
		t.Errorf("checkpointed vs plain: max relative error %.3g", e)
	}
}

// TestGenerateQuantized: KV-cache decoding on an NF4 (double-quantized) base with bfloat16
// embeddings gives the tokens of its float32 copy.
func TestGenerateQuantized(t *testing.T) {
	m, err := LoadModelWith(filepath.Join("testdata", "qwen2_bias_tied"), LoadOptions{TorchDtype: "bfloat16",
		QuantizationConfig: &BitsAndBytesConfig{LoadIn4Bit: true, Bnb4BitUseDoubleQuant: true}})
	if err != nil {
		t.Fatal(err)
	}
	gen := func(m *Model) []int {
		r, err := NewRunner(backend.MustDefault(), m, nil)
		if err != nil {
			t.Fatal(err)
		}
		g, err := r.Generate([]int{5, 17, 3, 44, 8}, GenerateOptions{MaxNewTokens: 12, EOSTokenIDs: []int{}})
		if err != nil {
			t.Fatal(err)
		}
		return g.Tokens
	}
	if got, want := gen(m), gen(float32Copy(t, m)); !slices.Equal(got, want) {
		t.Errorf("NF4 base generated %v, its float32 copy %v", got, want)
	}
}

package gguf

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	hfgguf "github.com/gomlx/go-huggingface/models/gguf"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/loralab/loralab/pkg/backend"
)

func randomValues(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	v[3] = 0 // an exact zero, and an all-zero Q8_0 block below
	for i := 64; i < 96 && i < n; i++ {
		v[i] = 0
	}
	return v
}

func constant(v []float32) func() ([]float32, error) {
	return func() ([]float32, error) { return v, nil }
}

// TestReadBack writes every tensor type and metadata type and reads them back with
// go-huggingface's independent GGUF reader (its Q8_0 dequantizer included).
func TestReadBack(t *testing.T) {
	vals := randomValues(4*96, 1)
	kvs := []KV{
		{"general.architecture", "llama"}, {"u8", uint8(7)}, {"i8", int8(-7)}, {"u16", uint16(700)},
		{"i16", int16(-700)}, {"u32", uint32(70000)}, {"i32", int32(-70000)}, {"f32", float32(0.5)},
		{"b", true}, {"u64", uint64(1 << 40)}, {"i64", int64(-1 << 40)}, {"f64", 0.25},
		{"strs", []string{"a", "", "中文"}}, {"i32s", []int32{1, -2, 3}}, {"f32s", []float32{1.5, -2}},
	}
	types := []Type{F32, F16, BF16, Q8_0}
	var ts []Tensor
	for _, typ := range types {
		ts = append(ts, Tensor{Name: "w." + typ.String(), Shape: []int{4, 96}, Type: typ, Data: constant(vals)})
	}
	ts = append(ts, Tensor{Name: "vector", Shape: []int{5}, Type: F32, Data: constant(vals[:5])})
	path := filepath.Join(t.TempDir(), "x.gguf")
	if err := Write(path, kvs, ts); err != nil {
		t.Fatal(err)
	}
	f, err := hfgguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 3 || f.Alignment != Alignment {
		t.Errorf("version %d alignment %d", f.Version, f.Alignment)
	}
	for _, kv := range kvs {
		got, ok := f.GetKeyValue(kv.Key)
		if !ok {
			t.Errorf("metadata %q missing", kv.Key)
			continue
		}
		var want any = kv.Value
		if g, w := got.Raw(), want; !equalAny(g, w) {
			t.Errorf("metadata %q = %#v, want %#v", kv.Key, g, w)
		}
	}
	r, err := hfgguf.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b := backend.MustDefault()
	for _, typ := range types {
		info, _ := f.GetTensorInfo("w." + typ.String())
		if !slices.Equal(info.Shape, []uint64{96, 4}) {
			t.Errorf("%s: GGUF dims %v, want innermost first [96 4]", typ, info.Shape)
		}
		tt, err := r.ReadTensor(b, "w."+typ.String())
		if err != nil {
			t.Fatal(err)
		}
		got := asFloat32(t, tt)
		want := RoundTrip(typ, vals)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: value %d reads back as %v, want %v (from %v)", typ, i, got[i], want[i], vals[i])
			}
		}
		if typ == Q8_0 { // at most half a step, plus the float16 rounding of the scale (≤ 2⁻¹¹ relative, times |q| ≤ 127)
			for i := range vals {
				step := float64(slices.Max(absAll(vals[i/32*32:i/32*32+32]))) / 127
				if d, lim := math.Abs(float64(want[i]-vals[i])), step*(0.5+127.0/2048); d > lim {
					t.Fatalf("Q8_0 value %d: error %g > %g", i, d, lim)
				}
			}
		}
	}
}

func absAll(v []float32) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(math.Abs(float64(x)))
	}
	return out
}

func asFloat32(t *testing.T, tt *tensors.Tensor) []float32 {
	t.Helper()
	out, err := floats(tt)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func equalAny(a, b any) bool {
	switch x := a.(type) {
	case []string:
		return slices.Equal(x, b.([]string))
	case []int32:
		return slices.Equal(x, b.([]int32))
	case []float32:
		return slices.Equal(x, b.([]float32))
	}
	return a == b
}

func TestWriteRefuses(t *testing.T) {
	dir := t.TempDir()
	ok := Tensor{Name: "a", Shape: []int{2, 32}, Type: F32, Data: constant(make([]float32, 64))}
	for _, c := range []struct {
		name string
		kvs  []KV
		ts   []Tensor
		want string
	}{
		{"q8 rows", nil, []Tensor{{Name: "a", Shape: []int{2, 30}, Type: Q8_0, Data: constant(make([]float32, 60))}}, "multiple of 32"},
		{"dup tensor", nil, []Tensor{ok, ok}, "twice"},
		{"dup key", []KV{{"k", "a"}, {"k", "b"}}, nil, "twice"},
		{"bad value", []KV{{"k", struct{}{}}}, nil, "not supported"},
		{"zero dim", nil, []Tensor{{Name: "a", Shape: []int{0, 32}, Type: F32, Data: constant(nil)}}, "dim ≤ 0"},
		{"short data", nil, []Tensor{{Name: "a", Shape: []int{2, 32}, Type: F32, Data: constant(make([]float32, 10))}}, "10 values"},
	} {
		path := filepath.Join(dir, c.name+".gguf")
		err := Write(path, c.kvs, c.ts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", c.name, err, c.want)
		}
		if _, statErr := os.Stat(path); statErr == nil {
			t.Errorf("%s: a failed write left %s", c.name, path)
		}
	}
}

// A truncated file or a bad header is an error from the reader, never a panic.
func TestDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.gguf")
	vals := randomValues(64, 2)
	if err := Write(good, []KV{{"general.architecture", "llama"}}, []Tensor{{Name: "w", Shape: []int{2, 32}, Type: F32, Data: constant(vals)}}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	bad := append([]byte("GGUX"), data[4:]...)
	for name, content := range map[string][]byte{
		"bad magic": bad, "header cut": data[:20], "data cut": data[:len(data)-100], "empty": nil,
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".gguf")
		os.WriteFile(p, content, 0o644)
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic %v", name, r)
				}
			}()
			f, err := hfgguf.Open(p)
			if err == nil {
				r, err2 := hfgguf.NewReader(f)
				if err2 == nil {
					_, err = r.ReadTensor(backend.MustDefault(), "w")
					r.Close()
				}
			}
			if err == nil {
				t.Errorf("%s: read without an error", name)
			}
		}()
	}
}

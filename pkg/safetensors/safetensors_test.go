package safetensors

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/gomlx/core/tensors"
)

// craft writes a safetensors file from a raw JSON header and dataLen zero bytes of data.
func craft(t testing.TB, header string, dataLen int) string {
	t.Helper()
	hdr := []byte(header)
	buf := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	buf = append(buf, hdr...)
	buf = append(buf, make([]byte, dataLen)...)
	path := filepath.Join(t.TempDir(), "crafted.safetensors")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpenRefusesCraftedFiles: every damaged or hostile header is refused by Open, before any
// tensor is allocated, with an error naming the file and the key. Each case loaded (or crashed,
// or allocated without bound) with the two readers this package replaced.
func TestOpenRefusesCraftedFiles(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		dataLen      int
		want         []string // substrings of the error
	}{
		{"negative dimension", `{"w":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,16]}}`, 16,
			[]string{`"w"`, "negative dimension"}},
		{"2^36 elements", `{"w":{"dtype":"F32","shape":[68719476736],"data_offsets":[0,16]}}`, 16,
			[]string{`"w"`, "more data than"}},
		{"[2^32, 2^32] with offsets [0, 0]", `{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, 0,
			[]string{`"w"`, "more data than"}},
		{"product overflows int64", `{"w":{"dtype":"U8","shape":[4294967296,4294967296,16],"data_offsets":[0,16]}}`, 16,
			[]string{`"w"`, "more data than"}},
		{"overlapping offsets", `{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}`, 24,
			[]string{`"b"`, "overlap"}},
		{"interleaved offsets (same range twice)", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 16,
			[]string{"overlap"}},
		{"gap between tensors", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}`, 20,
			[]string{`"b"`, "gap"}},
		{"truncated file", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}`, 20,
			[]string{`"b"`, "outside the file's 20 data bytes"}},
		{"trailing bytes", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 12,
			[]string{"trailing"}},
		{"length does not match shape", `{"w":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,8]},"x":{"dtype":"U8","shape":[8],"data_offsets":[8,16]}}`, 16,
			[]string{`"w"`, "needs 12"}},
		{"negative offset", `{"w":{"dtype":"F32","shape":[0],"data_offsets":[-4,-4]}}`, 0,
			[]string{`"w"`, "data_offsets"}},
		{"three offsets", `{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, 4,
			[]string{`"w"`, "2 entries"}},
		{"unknown dtype", `{"w":{"dtype":"F8_E9","shape":[1],"data_offsets":[0,1]}}`, 1,
			[]string{`"w"`, "F8_E9"}},
		{"missing shape", `{"w":{"dtype":"F32","data_offsets":[0,4]}}`, 4,
			[]string{`"w"`, "no shape"}},
		{"duplicate key", `{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8,
			[]string{`"w"`, "twice"}},
		{"not an object", `[1, 2]`, 0, []string{"not a JSON object"}},
		{"bad metadata", `{"__metadata__":{"a":1}}`, 0, []string{"__metadata__"}},
		{"dimension beyond 2^40 in an empty tensor", `{"w":{"dtype":"F32","shape":[0,2000000000000],"data_offsets":[0,0]}}`, 0,
			[]string{`"w"`, "larger than"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := craft(t, tc.header, tc.dataLen)
			f, err := Open(path)
			if err == nil {
				f.Close()
				t.Fatalf("opened %s", tc.header)
			}
			for _, w := range append([]string{path}, tc.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestOpenRefusesBadHeaderLength(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.safetensors")
	for _, data := range [][]byte{
		{1, 2, 3},
		binary.LittleEndian.AppendUint64(nil, 1<<62),
		binary.LittleEndian.AppendUint64(nil, 5), // header longer than the file
	} {
		os.WriteFile(path, data, 0o644)
		if f, err := Open(path); err == nil || !strings.Contains(err.Error(), path) {
			if f != nil {
				f.Close()
			}
			t.Errorf("%v: got %v", data, err)
		}
	}
}

// TestRoundTrip writes tensors of several dtypes, lazily and eagerly, and reads them back in
// their stored dtypes and converted.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	f32 := tensors.FromFlatDataAndDimensions([]float32{1, -2.5, 3.25, 1e-3, 65504, 0}, 2, 3)
	i64 := tensors.FromFlatDataAndDimensions([]int64{7, -9}, 2)
	u64 := tensors.FromScalar(uint64(1 << 40))
	bf := tensors.FromFlatDataAndDimensions(bfloat16.FromFloat32s(0.5, -1, 3), 3)
	empty := tensors.FromFlatDataAndDimensions([]float32{}, 0, 4)
	path := filepath.Join(dir, "a.safetensors")
	ts := []Tensor{{"f32", f32}, {"i64", i64}, {"step", u64}, {"bf", bf}, {"empty", empty}}
	if err := Write(path, ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Metadata["format"] != "pt" || !slices.Equal(f.Names(), []string{"f32", "i64", "step", "bf", "empty"}) {
		t.Fatalf("metadata %v, names %v", f.Metadata, f.Names())
	}
	for _, nt := range ts {
		got, err := f.Read(nt.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Shape().Equal(nt.Tensor.Shape()) || got.Value() == nil {
			t.Fatalf("%s: shape %s, want %s", nt.Name, got.Shape(), nt.Tensor.Shape())
		}
		var a, b []byte
		_ = got.ConstBytes(func(d []byte) { a = slices.Clone(d) })
		_ = nt.Tensor.ConstBytes(func(d []byte) { b = slices.Clone(d) })
		if !slices.Equal(a, b) {
			t.Errorf("%s: bytes differ", nt.Name)
		}
	}
	// Conversions: bf16 → float32 exact; float32 → bf16 rounds to nearest even.
	got, err := f.ReadFloat32("bf")
	if err != nil {
		t.Fatal(err)
	}
	if v := tensors.MustCopyFlatData[float32](got); !slices.Equal(v, []float32{0.5, -1, 3}) {
		t.Errorf("bf as float32: %v", v)
	}
	got, err = f.ReadAs("f32", dtypes.BFloat16)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range tensors.MustCopyFlatData[bfloat16.BFloat16](got) {
		want := bfloat16.FromFloat32(tensors.MustCopyFlatData[float32](f32)[i])
		if v != want {
			t.Errorf("f32[%d] as bf16: %v, want %v", i, v, want)
		}
	}
	if _, err := f.ReadAs("i64", dtypes.Float32); err == nil || !strings.Contains(err.Error(), `"i64"`) {
		t.Errorf("int as float: %v", err)
	}
	// Stored as bfloat16 by WriteAs; integers keep their dtype.
	half := filepath.Join(dir, "b.safetensors")
	if err := WriteAs(half, ts, nil, dtypes.BFloat16); err != nil {
		t.Fatal(err)
	}
	all, err := ReadAll(half)
	if err != nil {
		t.Fatal(err)
	}
	if all["f32"].DType() != dtypes.BFloat16 || all["i64"].DType() != dtypes.Int64 || all["step"].Shape().Rank() != 0 {
		t.Errorf("stored dtypes: %s %s %s", all["f32"].Shape(), all["i64"].Shape(), all["step"].Shape())
	}
}

func TestWriteLazyChecksShapes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.safetensors")
	err := WriteLazy(path, []Lazy{{Name: "w", DType: dtypes.Float32, Shape: []int{2, 2},
		Load: func() (*tensors.Tensor, error) { return tensors.FromFlatDataAndDimensions([]float32{1, 2, 3}, 3), nil }}}, nil)
	if err == nil || !strings.Contains(err.Error(), `"w"`) {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a failed write left %s behind", path)
	}
}

// FuzzParseHeader: any header and data length give a description that fits the data, or an
// error; never a panic.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"format":"pt"}}`), int64(8))
	f.Add([]byte(`{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`), int64(0))
	f.Add([]byte(`{"a":{"dtype":"BF16","shape":[2,0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[],"data_offsets":[0,1]}}`), int64(1))
	f.Fuzz(func(t *testing.T, hdr []byte, dataLen int64) {
		if dataLen < 0 {
			dataLen = -dataLen
		}
		s, err := ParseHeader(hdr, dataLen)
		if err != nil {
			return
		}
		var pos int64
		for _, n := range s.Names() {
			info, _ := s.Info(n)
			if info.Begin != pos || info.End-info.Begin != info.Size()*int64(info.DType.Size()) {
				t.Fatalf("%q: [%d, %d) after %d, %d elements", n, info.Begin, info.End, pos, info.Size())
			}
			pos = info.End
		}
		if pos != dataLen {
			t.Fatalf("data ends at %d of %d", pos, dataLen)
		}
	})
}

// TestOpenDirRefusesBadIndex: a sharded index that names a file outside the directory, or a
// tensor its shard does not hold, is refused naming the index and the tensor.
func TestOpenDirRefusesBadIndex(t *testing.T) {
	dir := t.TempDir()
	if err := Write(filepath.Join(dir, "model-00001-of-00001.safetensors"),
		[]Tensor{{"a", tensors.FromFlatDataAndDimensions([]float32{1, 2}, 2)}}, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ index, want string }{
		{`{"weight_map": {"a": "../model-00001-of-00001.safetensors"}}`, "not a file name"},
		{`{"weight_map": {"b": "model-00001-of-00001.safetensors"}}`, `"b"`},
		{`{"weight_map": {}}`, "empty weight_map"},
	} {
		if err := os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte(tc.index), 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := OpenDir(dir)
		if err == nil {
			d.Close()
			t.Errorf("%s: opened", tc.index)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "model.safetensors.index.json") {
			t.Errorf("%s: error %q", tc.index, err)
		}
	}
	os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte(`{"weight_map": {"a": "model-00001-of-00001.safetensors"}}`), 0o644)
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if v, err := d.ReadFloat32("a"); err != nil || !slices.Equal(tensors.MustCopyFlatData[float32](v), []float32{1, 2}) {
		t.Errorf("read a: %v %v", v, err)
	}
}

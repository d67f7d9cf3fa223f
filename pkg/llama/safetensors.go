package llama

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"unsafe"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/atomicfile"
)

// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON {name: {dtype, shape, data_offsets:[begin,end]}, "__metadata__":
// {string: string}}, then the raw little-endian data; offsets are relative to the data start.

// TensorInfo describes one tensor of a safetensors file.
type TensorInfo struct {
	Name  string
	DType string // safetensors dtype: F32, BF16, F16, F64, I64, I32, ...
	Shape []int
	// Begin and End are absolute byte offsets in the file.
	Begin, End int64
}

// SafetensorsFile is an open safetensors file whose tensors are read one at a time.
type SafetensorsFile struct {
	Path     string
	Metadata map[string]string
	Tensors  map[string]TensorInfo
	f        *os.File
}

type stEntry struct {
	DType       string  `json:"dtype"`
	Shape       []int   `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

var stDTypeSize = map[string]int{"F64": 8, "F32": 4, "BF16": 2, "F16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}

// OpenSafetensors opens a safetensors file and parses its header; tensor data is read on demand.
func OpenSafetensors(path string) (*SafetensorsFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	var lenBuf [8]byte
	if _, err := io.ReadFull(f, lenBuf[:]); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: reading safetensors header length: %w", path, err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > 100<<20 || int64(n)+8 > st.Size() {
		f.Close()
		return nil, fmt.Errorf("%s: bad safetensors header length %d (file has %d bytes)", path, n, st.Size())
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(f, hdr); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: reading safetensors header: %w", path, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: safetensors header is not JSON: %w", path, err)
	}
	s := &SafetensorsFile{Path: path, Tensors: map[string]TensorInfo{}, f: f}
	dataStart := int64(8 + n)
	for name, v := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(v, &s.Metadata); err != nil {
				f.Close()
				return nil, fmt.Errorf("%s: __metadata__: %w", path, err)
			}
			continue
		}
		var e stEntry
		if err := json.Unmarshal(v, &e); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: tensor %q: %w", path, name, err)
		}
		size, ok := stDTypeSize[e.DType]
		if !ok {
			f.Close()
			return nil, fmt.Errorf("%s: tensor %q: unsupported dtype %q", path, name, e.DType)
		}
		if len(e.DataOffsets) != 2 {
			f.Close()
			return nil, fmt.Errorf("%s: tensor %q: data_offsets must have 2 entries", path, name)
		}
		numel := int64(1)
		for _, d := range e.Shape {
			numel *= int64(d)
		}
		begin, end := dataStart+e.DataOffsets[0], dataStart+e.DataOffsets[1]
		if end-begin != numel*int64(size) || begin < dataStart || end > st.Size() {
			f.Close()
			return nil, fmt.Errorf("%s: tensor %q: data_offsets %v do not fit shape %v of %s in a %d-byte file",
				path, name, e.DataOffsets, e.Shape, e.DType, st.Size())
		}
		s.Tensors[name] = TensorInfo{Name: name, DType: e.DType, Shape: e.Shape, Begin: begin, End: end}
	}
	return s, nil
}

// Names returns the tensor names in file order.
func (s *SafetensorsFile) Names() []string {
	names := make([]string, 0, len(s.Tensors))
	for n := range s.Tensors {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return s.Tensors[names[i]].Begin < s.Tensors[names[j]].Begin })
	return names
}

// Close closes the file.
func (s *SafetensorsFile) Close() error { return s.f.Close() }

// ReadFloat32 reads one floating-point tensor converted to a float32 tensor. The data is read
// straight into the tensor's memory (F32) or converted through a small buffer (BF16, F16, F64),
// so no second full copy is ever held.
func (s *SafetensorsFile) ReadFloat32(name string) (*tensors.Tensor, error) {
	info, ok := s.Tensors[name]
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", s.Path, name)
	}
	t := NewFloat32Tensor(info.Shape...)
	var rerr error
	err := tensors.MutableFlatData(t, func(dst []float32) {
		rerr = readConverted(s.f, info, dst)
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return nil, fmt.Errorf("%s: tensor %q: %w", s.Path, name, err)
	}
	return t, nil
}

// ReadInfo returns the description of a tensor.
func (s *SafetensorsFile) ReadInfo(name string) (TensorInfo, bool) {
	i, ok := s.Tensors[name]
	return i, ok
}

func readConverted(f *os.File, info TensorInfo, dst []float32) error {
	switch info.DType {
	case "F32":
		b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), len(dst)*4)
		if _, err := f.ReadAt(b, info.Begin); err != nil {
			return err
		}
		if !littleEndian {
			for i := range dst {
				dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
		}
		return nil
	case "BF16", "F16", "F64":
	default:
		return fmt.Errorf("dtype %s is not a floating-point type", info.DType)
	}
	size := stDTypeSize[info.DType]
	const chunk = 1 << 20
	buf := make([]byte, chunk*size)
	off := info.Begin
	for i := 0; i < len(dst); i += chunk {
		n := min(chunk, len(dst)-i)
		b := buf[:n*size]
		if _, err := f.ReadAt(b, off); err != nil {
			return err
		}
		off += int64(len(b))
		out := dst[i : i+n]
		switch info.DType {
		case "BF16":
			for j := range out {
				out[j] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*j:])) << 16)
			}
		case "F16":
			for j := range out {
				out[j] = halfToFloat32(binary.LittleEndian.Uint16(b[2*j:]))
			}
		case "F64":
			for j := range out {
				out[j] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*j:])))
			}
		}
	}
	return nil
}

var littleEndian = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()

// halfToFloat32 converts an IEEE 754 binary16 value to float32.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalise
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		mant &= 0x3ff
		return math.Float32frombits(sign | e<<23 | mant<<13)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// NamedTensor pairs a parameter name with its tensor.
type NamedTensor struct {
	Name   string
	Tensor *tensors.Tensor
}

var dtypeToST = map[dtypes.DType]string{dtypes.Float32: "F32", dtypes.Float64: "F64", dtypes.BFloat16: "BF16",
	dtypes.Float16: "F16", dtypes.Int64: "I64", dtypes.Int32: "I32", dtypes.Int8: "I8", dtypes.Uint8: "U8"}

// WriteSafetensors writes the tensors (in the given order) into a safetensors file at path,
// atomically (temporary file, then rename). Metadata may be nil.
func WriteSafetensors(path string, ts []NamedTensor, metadata map[string]string) error {
	return WriteSafetensorsAs(path, ts, metadata, "")
}

// WriteSafetensorsAs is WriteSafetensors with float32 tensors stored as dtype ("F32", "BF16" or
// "F16"; "" keeps each tensor's own dtype). Conversion (round to nearest even) is streamed.
func WriteSafetensorsAs(path string, ts []NamedTensor, metadata map[string]string, dtype string) error {
	switch dtype {
	case "", "F32", "BF16", "F16":
	default:
		return fmt.Errorf("writing %s: cannot store float32 as %q (F32, BF16 or F16)", path, dtype)
	}
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var off int64
	stored := make([]string, len(ts))
	for i, nt := range ts {
		if nt.Tensor == nil {
			return fmt.Errorf("writing %s: tensor %q is nil", path, nt.Name)
		}
		if _, dup := header[nt.Name]; dup {
			return fmt.Errorf("writing %s: tensor %q appears twice", path, nt.Name)
		}
		dt, ok := dtypeToST[nt.Tensor.DType()]
		if !ok {
			return fmt.Errorf("writing %s: tensor %q has unsupported dtype %s", path, nt.Name, nt.Tensor.DType())
		}
		n := nt.Tensor.Shape().ByteSize()
		if dt == "F32" && dtype != "" && dtype != "F32" {
			dt = dtype
			n /= 2
		}
		stored[i] = dt
		dims := nt.Tensor.Shape().Dimensions
		if dims == nil {
			dims = []int{}
		}
		header[nt.Name] = stEntry{DType: dt, Shape: dims, DataOffsets: []int64{off, off + n}}
		off += n
	}
	hdr, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	for len(hdr)%8 != 0 { // alignment padding with spaces, as the reference writer does
		hdr = append(hdr, ' ')
	}
	return atomicfile.WriteWith(path, func(w io.Writer) error {
		var lenBuf [8]byte
		binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hdr)))
		if _, err := w.Write(lenBuf[:]); err != nil {
			return err
		}
		if _, err := w.Write(hdr); err != nil {
			return err
		}
		return writeTensorData(w, ts, stored)
	})
}

// writeTensorData writes each tensor's bytes in its stored dtype (float32 data rounded to
// BF16/F16 when asked).
func writeTensorData(w io.Writer, ts []NamedTensor, stored []string) error {
	buf := make([]byte, 0, 1<<16)
	for i, nt := range ts {
		var werr error
		var err error
		if (stored[i] == "BF16" || stored[i] == "F16") && nt.Tensor.DType() == dtypes.Float32 {
			err = tensors.ConstFlatData(nt.Tensor, func(flat []float32) {
				for j := 0; j < len(flat) && werr == nil; j += len(buf) / 2 {
					buf = buf[:0]
					for _, v := range flat[j:min(j+cap(buf)/2, len(flat))] {
						var h uint16
						if stored[i] == "BF16" {
							h = float32ToBF16(v)
						} else {
							h = float32ToHalf(v)
						}
						buf = binary.LittleEndian.AppendUint16(buf, h)
					}
					_, werr = w.Write(buf)
				}
			})
		} else {
			err = nt.Tensor.ConstBytes(func(data []byte) { _, werr = w.Write(data) })
		}
		if err != nil {
			return fmt.Errorf("tensor %q: %w", nt.Name, err)
		}
		if werr != nil {
			return werr
		}
	}
	return nil
}

// float32ToBF16 rounds to the nearest bfloat16 (ties to even), keeping NaNs NaN.
func float32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

// float32ToHalf rounds to the nearest IEEE binary16 (ties to even), with overflow to ±Inf.
func float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp-127 > 15:
		return sign | 0x7c00
	case exp-127 >= -14: // normal half
		e := uint32(exp - 127 + 15)
		h := e<<10 | mant>>13
		rest := mant & 0x1fff
		if rest > 0x1000 || rest == 0x1000 && h&1 == 1 {
			h++ // may carry into the exponent, which is the right result (up to Inf)
		}
		return sign | uint16(h)
	case exp-127 >= -25: // subnormal half
		m := mant | 0x800000
		shift := uint32(-14-(exp-127)) + 13
		h := m >> shift
		rest := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rest > half || rest == half && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	}
	return sign
}

// Checkpoint is a HF model directory's weights: model.safetensors, or the shards listed in
// model.safetensors.index.json.
type Checkpoint struct {
	Dir   string
	files []*SafetensorsFile
	where map[string]*SafetensorsFile
}

// OpenCheckpoint opens the safetensors weights in dir (single file or sharded index).
func OpenCheckpoint(dir string) (*Checkpoint, error) {
	c := &Checkpoint{Dir: dir, where: map[string]*SafetensorsFile{}}
	indexPath := filepath.Join(dir, "model.safetensors.index.json")
	if data, err := os.ReadFile(indexPath); err == nil {
		var idx struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(data, &idx); err != nil {
			return nil, fmt.Errorf("%s: %w", indexPath, err)
		}
		if len(idx.WeightMap) == 0 {
			return nil, fmt.Errorf("%s: empty weight_map", indexPath)
		}
		shards := map[string]*SafetensorsFile{}
		names := make([]string, 0, len(idx.WeightMap))
		for n := range idx.WeightMap {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			file := idx.WeightMap[name]
			sf, ok := shards[file]
			if !ok {
				var err error
				sf, err = OpenSafetensors(filepath.Join(dir, file))
				if err != nil {
					c.Close()
					return nil, fmt.Errorf("%s: shard for %q: %w", indexPath, name, err)
				}
				shards[file] = sf
				c.files = append(c.files, sf)
			}
			if _, ok := sf.Tensors[name]; !ok {
				c.Close()
				return nil, fmt.Errorf("%s: tensor %q is listed in shard %s but is not in it", indexPath, name, file)
			}
			c.where[name] = sf
		}
		return c, nil
	}
	sf, err := OpenSafetensors(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return nil, err
	}
	c.files = []*SafetensorsFile{sf}
	for n := range sf.Tensors {
		c.where[n] = sf
	}
	return c, nil
}

// Names lists all tensor names, sorted.
func (c *Checkpoint) Names() []string {
	names := make([]string, 0, len(c.where))
	for n := range c.where {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Info describes a tensor.
func (c *Checkpoint) Info(name string) (TensorInfo, bool) {
	sf, ok := c.where[name]
	if !ok {
		return TensorInfo{}, false
	}
	return sf.Tensors[name], true
}

// ReadFloat32 reads one tensor as float32.
func (c *Checkpoint) ReadFloat32(name string) (*tensors.Tensor, error) {
	sf, ok := c.where[name]
	if !ok {
		return nil, fmt.Errorf("%s: checkpoint has no tensor %q", c.Dir, name)
	}
	return sf.ReadFloat32(name)
}

// Close closes all files.
func (c *Checkpoint) Close() error {
	var first error
	for _, f := range c.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

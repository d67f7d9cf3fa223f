// Package safetensors reads and writes the safetensors format
// (https://huggingface.co/docs/safetensors), the one codec of LoRA Lab for model weights,
// PEFT adapters and training checkpoints.
//
// A file is an 8-byte little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}, then the
// raw little-endian data; offsets are relative to the start of the data.
//
// Reading streams tensor by tensor: Open parses and checks the whole header before anything is
// allocated (every tensor's dtype, shape and offsets, the offsets contiguous, in order and
// covering exactly the data of the file, as the format's reference implementation demands), so
// a damaged or crafted file is refused with an error naming the file and the key, never a panic
// or an allocation the file cannot back. Tensors are then read one at a time, in their stored
// dtype or converted between float32, bfloat16 and float16. Writing is streamed too (WriteLazy
// asks for one tensor at a time) and atomic (temporary file, then rename).
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"unsafe"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/backend"
)

// MaxHeaderBytes bounds the JSON header (the reference implementation uses 100 MB).
const MaxHeaderBytes = 100 << 20

// maxDim bounds each dimension (2^40), so that no product of dimensions overflows int64.
const maxDim = 1 << 40

// Names of the dtypes in the format, and their GoMLX dtypes.
var (
	stToDType = map[string]dtypes.DType{
		"F64": dtypes.Float64, "F32": dtypes.Float32, "BF16": dtypes.BFloat16, "F16": dtypes.Float16,
		"I64": dtypes.Int64, "I32": dtypes.Int32, "I16": dtypes.Int16, "I8": dtypes.Int8,
		"U64": dtypes.Uint64, "U32": dtypes.Uint32, "U16": dtypes.Uint16, "U8": dtypes.Uint8, "BOOL": dtypes.Bool,
	}
	dtypeToST = func() map[dtypes.DType]string {
		m := map[dtypes.DType]string{}
		for k, v := range stToDType {
			m[v] = k
		}
		return m
	}()
)

// Info describes one tensor of a file.
type Info struct {
	Name  string
	DType dtypes.DType
	Shape []int
	// Begin and End are absolute byte offsets in the file.
	Begin, End int64
}

// Size is the number of elements.
func (i Info) Size() int64 {
	if slices.Contains(i.Shape, 0) {
		return 0
	}
	n := int64(1)
	for _, d := range i.Shape {
		n *= int64(d) // Open checked that the product fits the file
	}
	return n
}

// File is an open safetensors file whose tensors are read one at a time.
type File struct {
	Path     string
	Metadata map[string]string
	infos    map[string]Info
	order    []string // file (data) order
	f        *os.File
}

type entry struct {
	DType       string  `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// Open opens a safetensors file and checks its header completely; tensor data is read on demand.
func Open(path string) (*File, error) {
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
		return nil, fmt.Errorf("%s: reading the safetensors header length: %w (file has %d bytes)", path, err, st.Size())
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > MaxHeaderBytes || n > uint64(st.Size()-8) {
		f.Close()
		return nil, fmt.Errorf("%s: safetensors header length %d does not fit (file has %d bytes, limit %d)", path, n, st.Size(), MaxHeaderBytes)
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(f, hdr); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: reading the safetensors header: %w", path, err)
	}
	s, err := ParseHeader(hdr, st.Size()-8-int64(n))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.Path, s.f = path, f
	for name, info := range s.infos { // offsets become absolute
		info.Begin += 8 + int64(n)
		info.End += 8 + int64(n)
		s.infos[name] = info
	}
	return s, nil
}

// ParseHeader checks a JSON header against a data section of dataLen bytes and returns the file
// description (offsets relative to the data, no open file). Every check happens here, before
// anything is allocated for the tensors: known dtype, non-negative dimensions whose product fits
// the data, byte length = elements × dtype size, offsets in order and contiguous from 0 to dataLen.
// Errors name the key.
func ParseHeader(hdr []byte, dataLen int64) (*File, error) {
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("safetensors header is not a JSON object")
	}
	s := &File{infos: map[string]Info{}}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("safetensors header: %w", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("safetensors header: key %v is not a string", tok)
		}
		if seen[name] {
			return nil, fmt.Errorf("safetensors header: key %q appears twice", name)
		}
		seen[name] = true
		if name == "__metadata__" {
			if err := dec.Decode(&s.Metadata); err != nil {
				return nil, fmt.Errorf("safetensors header: __metadata__ must map strings to strings: %w", err)
			}
			continue
		}
		var e entry
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		info, err := checkEntry(name, e, dataLen)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		s.infos[name] = info
		s.order = append(s.order, name)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("safetensors header: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("safetensors header: trailing data after the JSON object")
	}
	// Offsets must tile the data exactly: sorted by begin, each tensor starts where the previous
	// one ended, the first at 0 and the last ends at the end of the file.
	slices.SortStableFunc(s.order, func(a, b string) int {
		ia, ib := s.infos[a], s.infos[b]
		if ia.Begin != ib.Begin {
			return cmpInt64(ia.Begin, ib.Begin)
		}
		return cmpInt64(ia.End, ib.End)
	})
	var pos int64
	for _, name := range s.order {
		info := s.infos[name]
		if info.Begin != pos {
			if info.Begin < pos {
				return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap the previous tensor's data (ending at %d)", name, info.Begin, info.End, pos)
			}
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] leave a gap after byte %d", name, info.Begin, info.End, pos)
		}
		pos = info.End
	}
	if pos != dataLen {
		last := "(no tensors)"
		if len(s.order) > 0 {
			last = fmt.Sprintf("after tensor %q", s.order[len(s.order)-1])
		}
		if pos > dataLen {
			return nil, fmt.Errorf("data ends at byte %d %s but the file holds %d data bytes (truncated?)", pos, last, dataLen)
		}
		return nil, fmt.Errorf("data ends at byte %d %s but the file holds %d data bytes (trailing bytes)", pos, last, dataLen)
	}
	return s, nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func checkEntry(name string, e entry, dataLen int64) (Info, error) {
	dt, ok := stToDType[e.DType]
	if !ok {
		return Info{}, fmt.Errorf("unsupported dtype %q", e.DType)
	}
	if e.Shape == nil {
		return Info{}, fmt.Errorf("no shape")
	}
	size := int64(dt.Size())
	maxElems := dataLen / size
	numel := int64(1)
	shape := make([]int, len(e.Shape))
	for i, d := range e.Shape {
		if d < 0 {
			return Info{}, fmt.Errorf("shape %v has a negative dimension", e.Shape)
		}
		if d > maxDim { // even in a zero-element tensor
			return Info{}, fmt.Errorf("shape %v: dimension %d is larger than %d", e.Shape, d, int64(maxDim))
		}
		shape[i] = int(d)
	}
	for _, d := range e.Shape {
		if d == 0 {
			numel = 0
			break
		}
	}
	if numel != 0 {
		for _, d := range e.Shape {
			if numel > maxElems/d { // also guards the product against overflow
				return Info{}, fmt.Errorf("shape %v needs more data than the file's %d data bytes", e.Shape, dataLen)
			}
			numel *= d
		}
	}
	if len(e.DataOffsets) != 2 {
		return Info{}, fmt.Errorf("data_offsets must have 2 entries, got %d", len(e.DataOffsets))
	}
	b, end := e.DataOffsets[0], e.DataOffsets[1]
	if b < 0 || end < b || end > dataLen {
		return Info{}, fmt.Errorf("data_offsets [%d, %d] outside the file's %d data bytes", b, end, dataLen)
	}
	if end-b != numel*size {
		return Info{}, fmt.Errorf("data_offsets [%d, %d] hold %d bytes, shape %v of %s needs %d", b, end, end-b, e.Shape, e.DType, numel*size)
	}
	return Info{Name: name, DType: dt, Shape: shape, Begin: b, End: end}, nil
}

// Names returns the tensor names in file (data) order.
func (s *File) Names() []string { return slices.Clone(s.order) }

// Len is the number of tensors.
func (s *File) Len() int { return len(s.order) }

// Info describes a tensor.
func (s *File) Info(name string) (Info, bool) {
	i, ok := s.infos[name]
	return i, ok
}

// Close closes the file.
func (s *File) Close() error { return s.f.Close() }

// Read reads one tensor in its stored dtype.
func (s *File) Read(name string) (*tensors.Tensor, error) {
	info, ok := s.infos[name]
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", s.Path, name)
	}
	return s.ReadAs(name, info.DType)
}

// ReadFloat32 reads one floating-point tensor converted to float32.
func (s *File) ReadFloat32(name string) (*tensors.Tensor, error) {
	return s.ReadAs(name, dtypes.Float32)
}

// ReadAs reads one tensor as dtype: its stored dtype (any), or, for a floating-point tensor
// (F64, F32, BF16, F16), float32, bfloat16 or float16. The data is read straight into the
// tensor's memory, or converted through a small buffer, so no second full copy is ever held.
// The tensor lives in a buffer the default backend shares when it can (see backend.NewTensor).
func (s *File) ReadAs(name string, dtype dtypes.DType) (*tensors.Tensor, error) {
	info, ok := s.infos[name]
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", s.Path, name)
	}
	if dtype != info.DType && !(isFloat(info.DType) && isFloat(dtype) && dtype != dtypes.Float64) {
		return nil, fmt.Errorf("%s: tensor %q: cannot read %s as %s", s.Path, name, info.DType, dtype)
	}
	t := backend.NewTensor(shapes.Make(dtype, info.Shape...))
	var rerr error
	err := t.MutableBytes(func(dst []byte) {
		if dtype == info.DType {
			rerr = s.readRaw(info, dst)
			return
		}
		rerr = s.scan(info, func(start int, vals []float32) error {
			storeFloat32(dtype, dst, start, vals)
			return nil
		})
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return nil, fmt.Errorf("%s: tensor %q: %w", s.Path, name, err)
	}
	return t, nil
}

// ScanFloat32 streams a floating-point tensor as float32 values, in row-major order and in
// chunks: fn gets the index of the chunk's first element and the values (a buffer reused for the
// next call). Quantizing at load uses it so that a tensor is never held whole as float32.
func (s *File) ScanFloat32(name string, fn func(start int, vals []float32) error) error {
	info, ok := s.infos[name]
	if !ok {
		return fmt.Errorf("%s: no tensor %q", s.Path, name)
	}
	if err := s.scan(info, fn); err != nil {
		return fmt.Errorf("%s: tensor %q: %w", s.Path, name, err)
	}
	return nil
}

func isFloat(dt dtypes.DType) bool {
	return dt == dtypes.Float32 || dt == dtypes.BFloat16 || dt == dtypes.Float16 || dt == dtypes.Float64
}

func (s *File) readRaw(info Info, dst []byte) error {
	if int64(len(dst)) != info.End-info.Begin {
		return fmt.Errorf("internal: %d bytes for %d stored", len(dst), info.End-info.Begin)
	}
	if _, err := s.f.ReadAt(dst, info.Begin); err != nil {
		return err
	}
	if !littleEndian {
		return errors.New("big-endian hosts are not supported")
	}
	return nil
}

// scanChunk is the number of elements converted at a time.
const scanChunk = 1 << 16

func (s *File) scan(info Info, fn func(start int, vals []float32) error) error {
	if !isFloat(info.DType) {
		return fmt.Errorf("dtype %s is not a floating-point type", dtypeToST[info.DType])
	}
	size := info.DType.Size()
	total := int(info.Size())
	buf := make([]byte, min(scanChunk, total)*size)
	vals := make([]float32, min(scanChunk, total))
	off := info.Begin
	for i := 0; i < total; i += scanChunk {
		n := min(scanChunk, total-i)
		b := buf[:n*size]
		if _, err := s.f.ReadAt(b, off); err != nil {
			return err
		}
		off += int64(len(b))
		out := vals[:n]
		decodeFloat32(info.DType, b, out)
		if err := fn(i, out); err != nil {
			return err
		}
	}
	return nil
}

// decodeFloat32 converts the raw little-endian values b of dtype dt (F64, F32, BF16, F16) into out.
func decodeFloat32(dt dtypes.DType, b []byte, out []float32) {
	switch dt {
	case dtypes.Float32:
		for j := range out {
			out[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
		}
	case dtypes.BFloat16:
		for j := range out {
			out[j] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*j:])) << 16)
		}
	case dtypes.Float16:
		for j := range out {
			out[j] = halfToFloat32(binary.LittleEndian.Uint16(b[2*j:]))
		}
	case dtypes.Float64:
		for j := range out {
			out[j] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*j:])))
		}
	}
}

// storeFloat32 writes vals, converted to dtype (float32, bfloat16 or float16), into the raw
// little-endian bytes dst starting at element start.
func storeFloat32(dtype dtypes.DType, dst []byte, start int, vals []float32) {
	switch dtype {
	case dtypes.Float32:
		for j, v := range vals {
			binary.LittleEndian.PutUint32(dst[4*(start+j):], math.Float32bits(v))
		}
	case dtypes.BFloat16:
		for j, v := range vals {
			binary.LittleEndian.PutUint16(dst[2*(start+j):], float32ToBF16(v))
		}
	case dtypes.Float16:
		for j, v := range vals {
			binary.LittleEndian.PutUint16(dst[2*(start+j):], float32ToHalf(v))
		}
	}
}

var littleEndian = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()

// ReadAll reads every tensor of a (small) file in its stored dtype, keyed by name.
func ReadAll(path string) (map[string]*tensors.Tensor, error) {
	s, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	out := make(map[string]*tensors.Tensor, len(s.order))
	for _, n := range s.order {
		t, err := s.Read(n)
		if err != nil {
			return nil, err
		}
		out[n] = t
	}
	return out, nil
}

package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/atomicfile"
)

// Tensor pairs a name with its tensor.
type Tensor struct {
	Name   string
	Tensor *tensors.Tensor
}

// Lazy is a tensor to write whose data is produced only when the writer reaches it: Load is
// called once, its result written and dropped, so a file of many large tensors is written while
// holding one at a time (merging and exporting a model layer by layer).
type Lazy struct {
	Name string
	// DType is the stored dtype; a floating-point tensor from Load is converted to it.
	DType dtypes.DType
	Shape []int
	Load  func() (*tensors.Tensor, error)
}

// Write writes the tensors (in the given order, each in its own dtype) into a safetensors file
// at path, atomically. Metadata may be nil.
func Write(path string, ts []Tensor, metadata map[string]string) error {
	return WriteAs(path, ts, metadata, dtypes.InvalidDType)
}

// WriteAs is Write with every floating-point tensor stored as dtype (Float32, BFloat16 or
// Float16; InvalidDType keeps each tensor's own dtype). Conversion (round to nearest even) is
// streamed through a small buffer.
func WriteAs(path string, ts []Tensor, metadata map[string]string, dtype dtypes.DType) error {
	lz, err := lazies(ts, dtype)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return WriteLazy(path, lz, metadata)
}

// lazies wraps tensors as Lazy ones, floating-point ones stored as dtype (InvalidDType: their own).
func lazies(ts []Tensor, dtype dtypes.DType) ([]Lazy, error) {
	lz := make([]Lazy, len(ts))
	for i, nt := range ts {
		if nt.Tensor == nil {
			return nil, fmt.Errorf("tensor %q is nil", nt.Name)
		}
		dt := nt.Tensor.DType()
		if dtype != dtypes.InvalidDType && isFloat(dt) {
			dt = dtype
		}
		t := nt.Tensor
		lz[i] = Lazy{Name: nt.Name, DType: dt, Shape: t.Shape().Dimensions, Load: func() (*tensors.Tensor, error) { return t, nil }}
	}
	return lz, nil
}

// WriteLazy writes tensors whose data is loaded one at a time (see Lazy), atomically.
func WriteLazy(path string, ts []Lazy, metadata map[string]string) error {
	body, err := EncodeLazy(ts, metadata)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return atomicfile.WriteWith(path, body)
}

// Encode is Write's file content as a function that writes it, for writers that put several
// files in place together (atomicfile.Group). Errors in the tensors' names, dtypes or shapes
// are reported before anything is written.
func Encode(ts []Tensor, metadata map[string]string) (func(w io.Writer) error, error) {
	lz, err := lazies(ts, dtypes.InvalidDType)
	if err != nil {
		return nil, err
	}
	return EncodeLazy(lz, metadata)
}

// EncodeLazy is Encode for Lazy tensors.
func EncodeLazy(ts []Lazy, metadata map[string]string) (func(w io.Writer) error, error) {
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var off int64
	for _, lt := range ts {
		if _, dup := header[lt.Name]; dup || lt.Name == "__metadata__" {
			return nil, fmt.Errorf("tensor name %q appears twice or is reserved", lt.Name)
		}
		st, ok := dtypeToST[lt.DType]
		if !ok {
			return nil, fmt.Errorf("tensor %q has unsupported dtype %s", lt.Name, lt.DType)
		}
		n := int64(lt.DType.Size())
		for _, d := range lt.Shape {
			if d < 0 {
				return nil, fmt.Errorf("tensor %q has shape %v", lt.Name, lt.Shape)
			}
			n *= int64(d)
		}
		dims := lt.Shape
		if dims == nil {
			dims = []int{}
		}
		header[lt.Name] = struct {
			DType       string  `json:"dtype"`
			Shape       []int   `json:"shape"`
			DataOffsets []int64 `json:"data_offsets"`
		}{st, dims, []int64{off, off + n}}
		off += n
	}
	hdr, err := json.Marshal(header)
	if err != nil {
		return nil, err
	}
	for len(hdr)%8 != 0 { // alignment padding with spaces, as the reference writer does
		hdr = append(hdr, ' ')
	}
	return func(w io.Writer) error {
		var lenBuf [8]byte
		binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hdr)))
		if _, err := w.Write(lenBuf[:]); err != nil {
			return err
		}
		if _, err := w.Write(hdr); err != nil {
			return err
		}
		buf := make([]byte, 0, 1<<16)
		for _, lt := range ts {
			t, err := lt.Load()
			if err != nil {
				return fmt.Errorf("tensor %q: %w", lt.Name, err)
			}
			if t == nil || !slices.Equal(t.Shape().Dimensions, lt.Shape) && !(len(lt.Shape) == 0 && t.Shape().Rank() == 0) {
				return fmt.Errorf("tensor %q: got %v, the header says shape %v", lt.Name, shapeOf(t), lt.Shape)
			}
			if err := writeData(w, t, lt.DType, buf); err != nil {
				return fmt.Errorf("tensor %q: %w", lt.Name, err)
			}
		}
		return nil
	}, nil
}

func shapeOf(t *tensors.Tensor) any {
	if t == nil {
		return "nil"
	}
	return t.Shape()
}

// writeData writes t's bytes as dtype: straight when the dtypes match, converted through buf
// (floating point to float32/bfloat16/float16) otherwise.
func writeData(w io.Writer, t *tensors.Tensor, dtype dtypes.DType, buf []byte) error {
	var werr error
	if t.DType() == dtype {
		if err := t.ConstBytes(func(data []byte) { _, werr = w.Write(data) }); err != nil {
			return err
		}
		return werr
	}
	if !isFloat(t.DType()) || !isFloat(dtype) || dtype == dtypes.Float64 {
		return fmt.Errorf("cannot store %s as %s", t.DType(), dtype)
	}
	chunk := cap(buf) / 4
	vals := make([]float32, chunk)
	err := t.ConstBytes(func(data []byte) {
		src := t.DType().Size()
		total := len(data) / src
		for i := 0; i < total && werr == nil; i += chunk {
			n := min(chunk, total-i)
			decodeFloat32(t.DType(), data[i*src:(i+n)*src], vals[:n])
			out := buf[:n*dtype.Size()]
			storeFloat32(dtype, out, 0, vals[:n])
			_, werr = w.Write(out)
		}
	})
	if err != nil {
		return err
	}
	return werr
}

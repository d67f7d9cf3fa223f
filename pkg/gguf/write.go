// Package gguf writes GGUF files, the format llama.cpp, Ollama and LM Studio load: a merged
// model (base + adapter) or a LoRA adapter alone, with the metadata llama.cpp needs for its
// "llama" and "qwen2" architectures and a byte-level BPE tokenizer, and an Ollama Modelfile
// beside them. Reading GGUF is go-huggingface's (models/gguf); this package only writes.
//
// The format (GGUF v3, as llama.cpp's ggml/docs/gguf.md specifies it): the magic "GGUF", the
// version, the tensor count and the key/value count; the key/values (each a string key, a
// value type and the value); the tensor infos (name, number of dims, dims innermost first,
// ggml type, offset of the data from the start of the data section); padding to the
// alignment; then each tensor's data, each starting at a multiple of the alignment (32).
package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/loralab/loralab/pkg/atomicfile"
)

// Alignment of the data section and of each tensor's data (llama.cpp's GGUF_DEFAULT_ALIGNMENT).
const Alignment = 32

// Type is a ggml tensor type (the numbers are ggml's enum ggml_type).
type Type uint32

// The tensor types this package writes.
const (
	F32  Type = 0
	F16  Type = 1
	Q8_0 Type = 8
	BF16 Type = 30
)

// String names the type as llama.cpp does.
func (t Type) String() string {
	switch t {
	case F32:
		return "F32"
	case F16:
		return "F16"
	case Q8_0:
		return "Q8_0"
	case BF16:
		return "BF16"
	}
	return fmt.Sprintf("Type(%d)", uint32(t))
}

// ParseType reads "f32", "f16", "bf16" or "q8_0" (any case).
func ParseType(s string) (Type, error) {
	for _, t := range []Type{F32, F16, BF16, Q8_0} {
		if equalFold(s, t.String()) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("gguf: tensor type %q is not one of f32, f16, bf16, q8_0", s)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// q8Block is the number of weights in one Q8_0 block: a float16 scale and 32 int8.
const q8Block = 32

// byteSize is the size in bytes of n values stored as t (n a multiple of the block for Q8_0).
func (t Type) byteSize(n int64) int64 {
	switch t {
	case F32:
		return 4 * n
	case F16, BF16:
		return 2 * n
	case Q8_0:
		return n / q8Block * (2 + q8Block)
	}
	return -1
}

// KV is one metadata key/value. Value must be one of: uint8, int8, uint16, int16, uint32,
// int32, uint64, int64, float32, float64, bool, string, or a slice of one of those.
type KV struct {
	Key   string
	Value any
}

// Tensor is one tensor to write. Shape is row-major, outermost first (as in safetensors and
// PyTorch: a Linear weight is [out, in]); GGUF stores the dims innermost first, which Write does.
// Data is produced only when the writer reaches the tensor, so a file of many large tensors is
// written holding one at a time.
type Tensor struct {
	Name  string
	Shape []int
	Type  Type
	Data  func() ([]float32, error) // row-major values, len = product of Shape
}

func (t Tensor) numElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= int64(d)
	}
	return n
}

// check says why t cannot be written, if it cannot.
func (t Tensor) check() error {
	if t.Name == "" {
		return errors.New("gguf: a tensor has no name")
	}
	if len(t.Shape) == 0 || len(t.Shape) > 4 {
		return fmt.Errorf("gguf: tensor %q: %d dims (GGUF holds 1 to 4)", t.Name, len(t.Shape))
	}
	for _, d := range t.Shape {
		if d <= 0 {
			return fmt.Errorf("gguf: tensor %q: shape %v has a dim ≤ 0", t.Name, t.Shape)
		}
	}
	if t.Type.byteSize(q8Block) < 0 {
		return fmt.Errorf("gguf: tensor %q: type %s is not written by this package", t.Name, t.Type)
	}
	if t.Type == Q8_0 && t.Shape[len(t.Shape)-1]%q8Block != 0 {
		return fmt.Errorf("gguf: tensor %q: Q8_0 needs the innermost dim (%d) to be a multiple of %d", t.Name, t.Shape[len(t.Shape)-1], q8Block)
	}
	if t.Data == nil {
		return fmt.Errorf("gguf: tensor %q has no data", t.Name)
	}
	return nil
}

// Write writes a GGUF v3 file at path, atomically (a temporary file renamed at the end): the
// metadata in the given order (general.alignment is added when absent), then the tensors in
// the given order.
func Write(path string, kvs []KV, ts []Tensor) error {
	seen := map[string]bool{}
	for _, t := range ts {
		if err := t.check(); err != nil {
			return err
		}
		if seen[t.Name] {
			return fmt.Errorf("gguf: tensor %q given twice", t.Name)
		}
		seen[t.Name] = true
	}
	keys := map[string]bool{}
	for _, kv := range kvs {
		if keys[kv.Key] {
			return fmt.Errorf("gguf: metadata key %q given twice", kv.Key)
		}
		keys[kv.Key] = true
	}
	if !keys["general.alignment"] {
		kvs = append(slices.Clone(kvs), KV{"general.alignment", uint32(Alignment)})
	}
	return atomicfile.WriteWith(path, func(w io.Writer) error {
		cw := &countingWriter{w: w}
		if err := writeHeader(cw, kvs, ts); err != nil {
			return err
		}
		for _, t := range ts {
			if err := cw.pad(); err != nil {
				return err
			}
			vals, err := t.Data()
			if err != nil {
				return fmt.Errorf("gguf: tensor %q: %w", t.Name, err)
			}
			if int64(len(vals)) != t.numElements() {
				return fmt.Errorf("gguf: tensor %q: %d values for shape %v", t.Name, len(vals), t.Shape)
			}
			if _, err := cw.Write(encode(t.Type, vals)); err != nil {
				return err
			}
		}
		return nil
	})
}

func writeHeader(w *countingWriter, kvs []KV, ts []Tensor) error {
	e := &encoder{w: w}
	e.raw([]byte("GGUF"))
	e.u32(3)
	e.u64(uint64(len(ts)))
	e.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		e.str(kv.Key)
		if err := e.value(kv.Key, kv.Value); err != nil {
			return err
		}
	}
	var offset int64
	for _, t := range ts {
		e.str(t.Name)
		e.u32(uint32(len(t.Shape)))
		for i := len(t.Shape) - 1; i >= 0; i-- {
			e.u64(uint64(t.Shape[i]))
		}
		e.u32(uint32(t.Type))
		e.u64(uint64(offset))
		offset += t.Type.byteSize(t.numElements())
		offset = (offset + Alignment - 1) / Alignment * Alignment
	}
	return e.err
}

// GGUF metadata value types (gguf_type).
const (
	tU8 uint32 = iota
	tI8
	tU16
	tI16
	tU32
	tI32
	tF32
	tBool
	tString
	tArray
	tU64
	tI64
	tF64
)

type encoder struct {
	w   io.Writer
	err error
}

func (e *encoder) raw(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *encoder) u32(v uint32) { e.raw(binary.LittleEndian.AppendUint32(nil, v)) }
func (e *encoder) u64(v uint64) { e.raw(binary.LittleEndian.AppendUint64(nil, v)) }
func (e *encoder) str(s string) { e.u64(uint64(len(s))); e.raw([]byte(s)) }

// value writes the type and the value of a metadata entry.
func (e *encoder) value(key string, v any) error {
	typ, elem, ok := typeOf(v)
	if !ok {
		return fmt.Errorf("gguf: metadata %q: values of type %T are not supported", key, v)
	}
	e.u32(typ)
	if typ != tArray {
		e.scalar(v)
		return nil
	}
	e.u32(elem)
	switch s := v.(type) {
	case []string:
		e.u64(uint64(len(s)))
		for _, x := range s {
			e.str(x)
		}
	default:
		b, n := arrayBytes(v)
		e.u64(uint64(n))
		e.raw(b)
	}
	return nil
}

func typeOf(v any) (typ, elem uint32, ok bool) {
	switch v.(type) {
	case uint8:
		return tU8, 0, true
	case int8:
		return tI8, 0, true
	case uint16:
		return tU16, 0, true
	case int16:
		return tI16, 0, true
	case uint32:
		return tU32, 0, true
	case int32:
		return tI32, 0, true
	case float32:
		return tF32, 0, true
	case bool:
		return tBool, 0, true
	case string:
		return tString, 0, true
	case uint64:
		return tU64, 0, true
	case int64:
		return tI64, 0, true
	case float64:
		return tF64, 0, true
	case []string:
		return tArray, tString, true
	case []int32:
		return tArray, tI32, true
	case []uint32:
		return tArray, tU32, true
	case []float32:
		return tArray, tF32, true
	case []int64:
		return tArray, tI64, true
	case []bool:
		return tArray, tBool, true
	}
	return 0, 0, false
}

func (e *encoder) scalar(v any) {
	var b []byte
	switch x := v.(type) {
	case uint8:
		b = []byte{x}
	case int8:
		b = []byte{byte(x)}
	case uint16:
		b = binary.LittleEndian.AppendUint16(nil, x)
	case int16:
		b = binary.LittleEndian.AppendUint16(nil, uint16(x))
	case uint32:
		b = binary.LittleEndian.AppendUint32(nil, x)
	case int32:
		b = binary.LittleEndian.AppendUint32(nil, uint32(x))
	case float32:
		b = binary.LittleEndian.AppendUint32(nil, math.Float32bits(x))
	case bool:
		b = []byte{0}
		if x {
			b[0] = 1
		}
	case string:
		e.str(x)
		return
	case uint64:
		b = binary.LittleEndian.AppendUint64(nil, x)
	case int64:
		b = binary.LittleEndian.AppendUint64(nil, uint64(x))
	case float64:
		b = binary.LittleEndian.AppendUint64(nil, math.Float64bits(x))
	}
	e.raw(b)
}

// arrayBytes encodes a numeric or bool slice and returns its length.
func arrayBytes(v any) ([]byte, int) {
	var b []byte
	switch s := v.(type) {
	case []int32:
		for _, x := range s {
			b = binary.LittleEndian.AppendUint32(b, uint32(x))
		}
		return b, len(s)
	case []uint32:
		for _, x := range s {
			b = binary.LittleEndian.AppendUint32(b, x)
		}
		return b, len(s)
	case []float32:
		for _, x := range s {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
		return b, len(s)
	case []int64:
		for _, x := range s {
			b = binary.LittleEndian.AppendUint64(b, uint64(x))
		}
		return b, len(s)
	case []bool:
		for _, x := range s {
			if x {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		}
		return b, len(s)
	}
	return nil, 0
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// pad writes zeros up to the next multiple of Alignment.
func (c *countingWriter) pad() error {
	if r := c.n % Alignment; r != 0 {
		_, err := c.Write(make([]byte, Alignment-r))
		return err
	}
	return nil
}

package train

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
)

// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}} relative to
// the end of the header, then the raw little-endian data. Written here from the format's
// description; only the dtypes a checkpoint needs are supported.

var safetensorsDTypes = map[dtypes.DType]string{
	dtypes.Float32: "F32", dtypes.Float64: "F64", dtypes.Int64: "I64", dtypes.Int32: "I32", dtypes.Uint64: "U64",
}

type stHeaderEntry struct {
	DType   string `json:"dtype"`
	Shape   []int  `json:"shape"`
	Offsets [2]int `json:"data_offsets"`
}

// encodeSafetensors serialises named tensors (sorted by name) in the safetensors format.
func encodeSafetensors(ts map[string]*tensors.Tensor) ([]byte, error) {
	names := sortedNames(ts)
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var data bytes.Buffer
	for _, n := range names {
		t := ts[n]
		code, ok := safetensorsDTypes[t.Shape().DType]
		if !ok {
			return nil, fmt.Errorf("tensor %q: dtype %s not supported in checkpoints", n, t.Shape().DType)
		}
		begin := data.Len()
		var err error
		t.MustConstFlatData(func(flat any) { err = binary.Write(&data, binary.LittleEndian, flat) })
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", n, err)
		}
		dims := t.Shape().Dimensions
		if dims == nil {
			dims = []int{}
		}
		header[n] = stHeaderEntry{DType: code, Shape: dims, Offsets: [2]int{begin, data.Len()}}
	}
	h, err := json.Marshal(header)
	if err != nil {
		return nil, err
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := make([]byte, 8, 8+len(h)+data.Len())
	binary.LittleEndian.PutUint64(out, uint64(len(h)))
	out = append(out, h...)
	return append(out, data.Bytes()...), nil
}

// readSafetensors reads every tensor of a safetensors file.
func readSafetensors(path string) (map[string]*tensors.Tensor, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(raw) < 8 {
		return nil, fmt.Errorf("%s: %d bytes, too short for safetensors", path, len(raw))
	}
	hl := binary.LittleEndian.Uint64(raw[:8])
	if hl > uint64(len(raw)-8) {
		return nil, fmt.Errorf("%s: header length %d exceeds the file", path, hl)
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+hl], &header); err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	data := raw[8+hl:]
	codes := map[string]dtypes.DType{}
	for dt, c := range safetensorsDTypes {
		codes[c] = dt
	}
	names := make([]string, 0, len(header))
	for n := range header {
		if n != "__metadata__" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := make(map[string]*tensors.Tensor, len(names))
	for _, n := range names {
		var e stHeaderEntry
		if err := json.Unmarshal(header[n], &e); err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %w", path, n, err)
		}
		dt, ok := codes[e.DType]
		if !ok {
			return nil, fmt.Errorf("%s: tensor %q: dtype %s not supported", path, n, e.DType)
		}
		b, end := e.Offsets[0], e.Offsets[1]
		if b < 0 || end < b || end > len(data) {
			return nil, fmt.Errorf("%s: tensor %q: data offsets %v outside the %d data bytes", path, n, e.Offsets, len(data))
		}
		t := tensors.FromShape(shapesOf(dt, e.Shape))
		if int(t.Shape().Memory()) != end-b {
			return nil, fmt.Errorf("%s: tensor %q: %d bytes for shape %v %s", path, n, end-b, e.Shape, e.DType)
		}
		var rerr error
		t.MustMutableFlatData(func(flat any) {
			rerr = binary.Read(bytes.NewReader(data[b:end]), binary.LittleEndian, flat)
		})
		if rerr != nil && rerr != io.EOF {
			return nil, fmt.Errorf("%s: tensor %q: %w", path, n, rerr)
		}
		out[n] = t
	}
	return out, nil
}

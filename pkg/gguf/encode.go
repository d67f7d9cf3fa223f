package gguf

import (
	"encoding/binary"
	"math"

	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/compute/dtypes/float16"
)

// encode stores row-major float32 values as t (little-endian).
func encode(t Type, vals []float32) []byte {
	switch t {
	case F32:
		b := make([]byte, 4*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		return b
	case F16:
		b := make([]byte, 2*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint16(b[2*i:], uint16(float16.FromFloat32(v)))
		}
		return b
	case BF16:
		b := make([]byte, 2*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint16(b[2*i:], uint16(bfloat16.FromFloat32(v)))
		}
		return b
	case Q8_0:
		return quantizeQ8_0(vals)
	}
	return nil
}

// quantizeQ8_0 writes ggml's Q8_0 blocks: for each 32 consecutive values, the scale
// d = max|x|/127 as float16, then the 32 values round(x/d) as int8 (ggml's
// quantize_row_q8_0_ref: the rounding uses the float32 d, 1/d is 0 for an all-zero block).
func quantizeQ8_0(vals []float32) []byte {
	out := make([]byte, 0, len(vals)/q8Block*(2+q8Block))
	for i := 0; i < len(vals); i += q8Block {
		blk := vals[i : i+q8Block]
		var amax float32
		for _, v := range blk {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		out = binary.LittleEndian.AppendUint16(out, uint16(float16.FromFloat32(d)))
		for _, v := range blk {
			out = append(out, byte(int8(math.Round(float64(v*id)))))
		}
	}
	return out
}

// RoundTrip returns the values as llama.cpp reads them back from type t: what a model stored in
// that type computes with (F32: unchanged).
func RoundTrip(t Type, vals []float32) []float32 {
	out := make([]float32, len(vals))
	switch t {
	case F16:
		for i, v := range vals {
			out[i] = float16.FromFloat32(v).Float32()
		}
	case BF16:
		for i, v := range vals {
			out[i] = bfloat16.FromFloat32(v).Float32()
		}
	case Q8_0:
		b := quantizeQ8_0(vals)
		for blk := 0; blk < len(vals)/q8Block; blk++ {
			rec := b[blk*(2+q8Block):]
			d := float16.Float16(binary.LittleEndian.Uint16(rec)).Float32()
			for j := range q8Block {
				out[blk*q8Block+j] = d * float32(int8(rec[2+j]))
			}
		}
	default:
		copy(out, vals)
	}
	return out
}

package llama

import (
	"fmt"
	"math"

	"github.com/gomlx/compute"
)

// Quantization of frozen Linear weights at load (QLoRA's NF4 and an 8-bit absmax format), on
// the host. The graph side (dequantizing inside the forward pass) is in frozen.go.
//
// Block layout: bitsandbytes'. A weight is taken in its HF row-major [out, in] order and cut into
// blocks of QuantBlockSize consecutive values; each block has one absmax scale. (GoMLX's
// nn.QuantizedDense instead blocks the output axis of a transposed [in, out] weight.) This layout
// was chosen because it is the published QLoRA/bitsandbytes algorithm bit for bit, so that the
// goldens of testdata/gen_quant_golden.py (plain torch) follow it; because HF checkpoints store
// [out, in], so a weight is quantized as it streams from the file, without a transpose; and because
// the forward pass dequantizes in the graph and multiplies with its own DotGeneral (measured
// faster here than the fused nn.QuantizedDense: pkg/bench/NOTES.md), so GoMLX's layout brings
// nothing. Every real shape has in % 64 == 0, so a block never straddles two rows.

// QuantBlockSize is the number of consecutive weights sharing one absmax (bitsandbytes' blocksize 64).
const QuantBlockSize = 64

// DoubleQuantBlockSize is the number of absmax constants quantized together by double
// quantization (QLoRA: 256).
const DoubleQuantBlockSize = 256

// nf4Table is QLoRA's NormalFloat4 table (the 16 levels), from GoMLX.
var nf4Table = compute.NF4LookupTable

// nf4Mid[i] is the midpoint between levels i and i+1: a normalized value above it rounds up.
var nf4Mid = func() [15]float32 {
	var m [15]float32
	for i := range m {
		m[i] = (nf4Table[i] + nf4Table[i+1]) / 2
	}
	return m
}()

// nf4Bins splits [-1, 1] into bins of width 1/nf4BinScale; nf4Bin[i] is the code of every value
// of bin i and its two neighbours when that is one code, else -1 (a midpoint is near: search).
const nf4BinScale = 1024

var nf4Bin = func() []int8 {
	bins := make([]int8, 2*nf4BinScale+1)
	for i := range bins {
		lo := float32(i-1)/nf4BinScale - 1
		hi := float32(i+2)/nf4BinScale - 1
		if c := nf4CodeSearch(lo); c == nf4CodeSearch(hi) {
			bins[i] = int8(c)
		} else {
			bins[i] = -1
		}
	}
	return bins
}()

// nf4Code returns the index of the NF4 level nearest to x (in [-1, 1]); a tie rounds down.
func nf4Code(x float32) byte {
	if i := int((x + 1) * nf4BinScale); i >= 0 && i < len(nf4Bin) && nf4Bin[i] >= 0 {
		return byte(nf4Bin[i])
	}
	return nf4CodeSearch(x)
}

// nf4CodeSearch is nf4Code by binary search over the midpoints.
func nf4CodeSearch(x float32) byte {
	lo, hi := 0, 15
	for lo < hi { // first level whose upper midpoint is >= x
		mid := (lo + hi) / 2
		if x > nf4Mid[mid] {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return byte(lo)
}

// blockScale returns a block's absmax (max |v|) and the factor top/absmax that maps it onto
// [-top, top]; a block of zeros gets absmax 0 and factor 0.
func blockScale(v []float32, top float32) (absmax, inv float32) {
	for _, x := range v {
		if a := float32(math.Abs(float64(x))); a > absmax {
			absmax = a
		}
	}
	if absmax > 0 {
		inv = top / absmax
	}
	return absmax, inv
}

// QuantizeNF4 quantizes values (their number a multiple of QuantBlockSize) into packed 4-bit
// codes (two per byte, the first value in the high nibble, as bitsandbytes packs them) and one
// absmax per block of QuantBlockSize values: code = the NF4 level nearest to value/absmax. A
// block of zeros has absmax 0 and the code of level 0.0 (index 7).
func QuantizeNF4(values []float32, codes []byte, absmax []float32) {
	for b := range absmax {
		blk := values[b*QuantBlockSize : (b+1)*QuantBlockSize]
		m, inv := blockScale(blk, 1)
		absmax[b] = m
		out := codes[b*QuantBlockSize/2 : (b+1)*QuantBlockSize/2]
		for j := range out {
			out[j] = nf4Code(blk[2*j]*inv)<<4 | nf4Code(blk[2*j+1]*inv)
		}
	}
}

// DequantizeNF4 is the inverse of QuantizeNF4: value = NF4[code] · absmax.
func DequantizeNF4(codes []byte, absmax []float32, values []float32) {
	for i, c := range codes {
		m := absmax[2*i/QuantBlockSize]
		values[2*i] = nf4Table[c>>4] * m
		values[2*i+1] = nf4Table[c&15] * m
	}
}

// QuantizeInt8 quantizes values into int8 codes round(127·value/absmax) with one absmax per block
// of QuantBlockSize values (bitsandbytes' blockwise 8-bit absmax quantization with a linear map).
func QuantizeInt8(values []float32, codes []int8, absmax []float32) {
	for b := range absmax {
		absmax[b] = quantizeInt8Block(values[b*QuantBlockSize:(b+1)*QuantBlockSize], codes[b*QuantBlockSize:(b+1)*QuantBlockSize])
	}
}

// quantizeInt8Block writes round(127·v/absmax) (ties to even) into out and returns absmax.
func quantizeInt8Block(blk []float32, out []int8) float32 {
	m, inv := blockScale(blk, 127)
	for j, x := range blk {
		out[j] = int8(math.RoundToEven(float64(x * inv)))
	}
	return m
}

// DequantizeInt8 is the inverse of QuantizeInt8: value = code · absmax / 127.
func DequantizeInt8(codes []int8, absmax []float32, values []float32) {
	for i, c := range codes {
		values[i] = float32(c) * (absmax[i/QuantBlockSize] / 127)
	}
}

// DoubleQuant holds absmax constants quantized again (QLoRA's double quantization): the mean
// Offset is subtracted, then each group of DoubleQuantBlockSize constants is stored as int8
// round(127·c/scale) with scale = the group's max |c|. QLoRA stores the second level as 8-bit
// floats (bitsandbytes' dynamic map); this is the same scheme with a linear 8-bit map.
type DoubleQuant struct {
	Codes  []int8    // one per absmax, padded with zeros to a whole number of groups
	Scales []float32 // one per group
	Offset float32
}

// QuantizeAbsmax double-quantizes absmax constants.
func QuantizeAbsmax(absmax []float32) DoubleQuant {
	var sum float64
	for _, a := range absmax {
		sum += float64(a)
	}
	dq := DoubleQuant{Offset: float32(sum / float64(max(1, len(absmax))))}
	groups := (len(absmax) + DoubleQuantBlockSize - 1) / DoubleQuantBlockSize
	centred := make([]float32, groups*DoubleQuantBlockSize)
	for i, a := range absmax {
		centred[i] = a - dq.Offset
	}
	dq.Codes = make([]int8, len(centred))
	for g := 0; g < groups; g++ {
		r := centred[g*DoubleQuantBlockSize : (g+1)*DoubleQuantBlockSize]
		dq.Scales = append(dq.Scales, quantizeInt8Block(r, dq.Codes[g*DoubleQuantBlockSize:(g+1)*DoubleQuantBlockSize]))
	}
	return dq
}

// Absmax returns the n dequantized absmax constants: code · scale / 127 + offset.
func (dq DoubleQuant) Absmax(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(dq.Codes[i])*(dq.Scales[i/DoubleQuantBlockSize]/127) + dq.Offset
	}
	return out
}

// checkQuantizable says why a weight of this shape cannot be quantized (nil if it can).
func checkQuantizable(shape []int) error {
	if len(shape) != 2 {
		return fmt.Errorf("shape %v is not a matrix", shape)
	}
	if n := shape[0] * shape[1]; n == 0 || n%QuantBlockSize != 0 {
		return fmt.Errorf("shape %v: %d values are not a whole number of %d-value blocks", shape, n, QuantBlockSize)
	}
	if shape[1]%2 != 0 {
		return fmt.Errorf("shape %v: odd row length", shape)
	}
	return nil
}

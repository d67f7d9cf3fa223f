package safetensors

import (
	"math"
	"testing"
)

func TestHalfToFloat32(t *testing.T) {
	for _, tc := range []struct {
		h    uint16
		want float32
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x3555, 0.33325195}, {0x0001, 5.9604645e-08}, {0x7bff, 65504},
		{0x8000, float32(math.Copysign(0, -1))}, {0x7c00, float32(math.Inf(1))},
	} {
		if got := halfToFloat32(tc.h); got != tc.want || math.Signbit(float64(got)) != math.Signbit(float64(tc.want)) {
			t.Errorf("half %#04x: got %v, want %v", tc.h, got, tc.want)
		}
	}
}

func TestFloat32ToHalfRounding(t *testing.T) {
	for _, tc := range []struct {
		f    float32
		want uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65520, 0x7c00}, {1e-8, 0x0000}, {6e-8, 0x0001},
		{1 + 1.0/2048, 0x3c00}, // tie rounds to even (down)
		{1 + 3.0/2048, 0x3c02}, // tie rounds to even (up)
		{0.33325195, 0x3555},
		{float32(math.Inf(-1)), 0xfc00},
	} {
		if got := float32ToHalf(tc.f); got != tc.want {
			t.Errorf("half(%v) = %#04x, want %#04x", tc.f, got, tc.want)
		}
	}
	if got := float32ToBF16(1 + 1.0/256); got != 0x3f80 { // tie to even
		t.Errorf("bf16 tie: %#04x", got)
	}
	if got := float32ToBF16(1 + 3.0/256); got != 0x3f82 {
		t.Errorf("bf16 tie up: %#04x", got)
	}
}

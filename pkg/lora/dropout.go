package lora

import (
	. "github.com/gomlx/gomlx/core/graph"
)

// Dropout is lora_dropout (torch.nn.Dropout in training): each element of x is zeroed with
// probability rate and the others are scaled by 1/(1−rate). It draws from rng, a GoMLX RNG
// state node, and returns the advanced state, so that a trainer can carry it from step to
// step and into checkpoints: the same seed gives the same masks. It is the project's one
// dropout (the LoRA hook and train.Inputs.Dropout use it). A rate of 0 or less returns x and
// rng unchanged; a rate of 1 or more returns zeros.
//
// One 32-bit uniform draw per element. Drawing 16 bits per element instead (three elements per
// 64-bit draw, split with Bitcast) was measured slower on the Go backend: the integer
// conversion, bitcast and slicing cost more than the random bits they saved.
func Dropout(rng, x *Node, rate float64) (newRNG, y *Node) {
	if rate <= 0 {
		return rng, x
	}
	if rate >= 1 {
		return rng, ZerosLike(x)
	}
	newRNG, u := RandomUniform(rng, x.Shape())
	keep := GreaterOrEqual(u, Scalar(x.Graph(), x.DType(), rate))
	return newRNG, Where(keep, MulScalar(x, 1/(1-rate)), ZerosLike(x))
}

package lora

import (
	"math"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/llama"
)

// TestGradientOnlyLoRA builds a training graph the way train.LoRAModel does: base weights are
// frozen inputs, the loss gradient is taken only w.r.t. the adapter's tensors. With PEFT's
// default init (B = 0) the gradient reaches B but not A, and dropout changes the loss only in
// training mode.
func TestGradientOnlyLoRA(t *testing.T) {
	base, in := loadBase(t, "llama_gqa")
	cfg := DefaultConfig()
	cfg.LoraDropout = 0.3
	a, err := New(cfg, base, 3)
	if err != nil {
		t.Fatal(err)
	}
	baseNames := base.ParamNames()
	loraNames := a.Names()
	b := backend.MustDefault()
	build := func(training bool) *Exec {
		return MustNewExec(b, func(inputs []*Node) []*Node {
			names := append(append([]string{}, baseNames...), loraNames...)
			w := llama.NewWeights(names, inputs[:len(names)])
			ids := inputs[len(names)]
			hook := &Bound{Plan: a.Plan, W: w}
			if training {
				hook = BindTraining(a.Plan, w, RNGStateFromSeedForGraph(ids.Graph(), 42))
			}
			sum, count := llama.CausalLMLoss(llama.Forward(base.Config, w, hook, ids, nil, nil), ids)
			trainable := make([]*Node, len(loraNames))
			for i, n := range loraNames {
				trainable[i] = hook.get(n)
			}
			loss := Div(sum, count)
			return append([]*Node{loss}, Gradient(sum, trainable...)...)
		})
	}
	var args []any
	for _, n := range baseNames {
		args = append(args, base.Weights[n])
	}
	for _, n := range loraNames {
		args = append(args, a.Tensors[n])
	}
	args = append(args, tensors.FromValue(in.InputIDs))
	evalOut := build(false).MustCall(args...)
	trainOut := build(true).MustCall(args...)
	lossEval := tensors.ToScalar[float32](evalOut[0])
	lossTrain := tensors.ToScalar[float32](trainOut[0])
	// With B = 0 the adapter is a no-op, so dropout on its input cannot change the loss either;
	// the B gradients must differ between the two modes instead.
	if math.Abs(float64(lossEval-lossTrain)) > 1e-5 {
		t.Errorf("loss with B=0 changed under dropout: %v vs %v", lossEval, lossTrain)
	}
	var sawB, bDiffers bool
	for i, n := range loraNames {
		g := tensors.MustCopyFlatData[float32](evalOut[1+i])
		gt := tensors.MustCopyFlatData[float32](trainOut[1+i])
		var norm, diff float64
		for j := range g {
			norm += float64(g[j]) * float64(g[j])
			diff += math.Abs(float64(g[j] - gt[j]))
		}
		isA := strings.Contains(n, "lora_A")
		if isA && norm != 0 {
			t.Errorf("%s: gradient should be zero while B = 0, has norm² %g", n, norm)
		}
		if !isA {
			sawB = sawB || norm > 0
			bDiffers = bDiffers || diff > 1e-7
		}
	}
	if !sawB {
		t.Errorf("no gradient reached any lora_B")
	}
	if !bDiffers {
		t.Errorf("dropout in training mode did not change the lora_B gradients")
	}
}

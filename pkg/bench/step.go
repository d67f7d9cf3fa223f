// Package bench measures LoRA Lab's training speed and compares it, in one run, with the
// plain-PyTorch peer ../shared/reference/torch_lora_ref.py.
//
// Step is one complete LoRA training step of LoRA Lab's trainer (package train) on a fixed
// batch: forward pass of a Llama model, causal-LM loss, gradients of the LoRA tensors only,
// global-norm clipping and the AdamW update, compiled as one graph with the state carried from
// one step to the next. Shape holds the model and batch
// shape; DefaultShape is the peer script's defaults.
//
// The peer side (RunPeer, ParsePeerJSON, ParseTimeV) runs the torch script, reads its JSON
// result line and its peak resident set size; Machine describes the computer for the notes.
// The command pkg/bench/cmd/peerbench puts both together.
package bench

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"syscall"
	"time"

	"github.com/gomlx/compute"

	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/lora"
	"github.com/loralab/loralab/pkg/mask"
	"github.com/loralab/loralab/pkg/train"
)

// Shape is the model, LoRA and optimizer setting of a benchmark step. Field names follow the
// peer script's flags (--vocab, --hidden, --layers, --heads, --inter, --seq, --batch, --r,
// --alpha).
type Shape struct {
	Vocab, Hidden, Layers, Heads, Inter int
	Seq, Batch                          int
	R                                   int
	Alpha                               float64
	Dropout                             float64 // lora_dropout (the peer's LoraLinear uses 0.05)
	LR, WeightDecay                     float64 // AdamW (the peer: lr 2e-4, weight_decay 0.01)
	MaxGradNorm                         float64 // global-norm clipping; the peer does not clip (≤ 0 disables)
}

// DefaultShape returns the defaults of ../shared/reference/torch_lora_ref.py: vocab 4096,
// hidden 256, 4 layers, 8 heads, intermediate 688, seq 256, batch 8, r 16, alpha 32 on all
// seven projections, lora_dropout 0.05, AdamW lr 2e-4 and weight_decay 0.01. MaxGradNorm is
// HF's default 1.0 (the peer has no clipping; its cost is a few reductions over 312k values).
func DefaultShape() Shape {
	return Shape{Vocab: 4096, Hidden: 256, Layers: 4, Heads: 8, Inter: 688, Seq: 256, Batch: 8,
		R: 16, Alpha: 32, Dropout: 0.05, LR: 2e-4, WeightDecay: 0.01, MaxGradNorm: 1.0}
}

// Seq512Shape is issue 15's longer-sequence shape: DefaultShape with hidden 384, 6 layers,
// 6 heads, intermediate 1024 and batch 4 × seq 512.
func Seq512Shape() Shape {
	s := DefaultShape()
	s.Hidden, s.Layers, s.Heads, s.Inter, s.Seq, s.Batch = 384, 6, 6, 1024, 512, 4
	return s
}

// Tokens is the number of tokens one step processes (Batch × Seq), the peer's numerator.
func (s Shape) Tokens() int { return s.Batch * s.Seq }

// Validate reports an impossible shape.
func (s Shape) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"vocab", s.Vocab}, {"hidden", s.Hidden}, {"layers", s.Layers}, {"heads", s.Heads},
		{"inter", s.Inter}, {"seq", s.Seq}, {"batch", s.Batch}, {"r", s.R}} {
		if f.v <= 0 {
			return fmt.Errorf("bench: shape %s = %d must be > 0", f.name, f.v)
		}
	}
	if s.Hidden%s.Heads != 0 || (s.Hidden/s.Heads)%2 != 0 {
		return fmt.Errorf("bench: hidden %d must split into %d heads of even size", s.Hidden, s.Heads)
	}
	if s.Seq < 2 {
		return fmt.Errorf("bench: seq = %d must be >= 2 (the loss predicts the next token)", s.Seq)
	}
	if s.Dropout < 0 || s.Dropout >= 1 || math.IsNaN(s.Dropout) {
		return fmt.Errorf("bench: dropout = %v must be in [0, 1)", s.Dropout)
	}
	return nil
}

// PeerArgs returns the peer script's flags for this shape (steps and warm-up are added by the
// caller). Dropout, lr and weight decay are fixed in the script and not passed.
func (s Shape) PeerArgs() []string {
	return []string{
		"--vocab", fmt.Sprint(s.Vocab), "--hidden", fmt.Sprint(s.Hidden), "--layers", fmt.Sprint(s.Layers),
		"--heads", fmt.Sprint(s.Heads), "--inter", fmt.Sprint(s.Inter), "--seq", fmt.Sprint(s.Seq),
		"--batch", fmt.Sprint(s.Batch), "--r", fmt.Sprint(s.R), "--alpha", fmt.Sprint(s.Alpha),
	}
}

// Step is LoRA Lab's trainer (package train) set up for one fixed batch, so that each Run is
// one real training step — forward, loss, LoRA-only gradients, global-norm clipping and AdamW
// fused in one compiled graph, with parameters, moments and the dropout RNG carried (donated)
// from step to step. It is not safe for concurrent use.
type Step struct {
	Shape   Shape
	adapter *lora.Adapter
	trainer *train.Trainer
}

// NewStep builds a random base model and a LoRA adapter (r, alpha, dropout of s on q/k/v/o,
// gate/up/down) seeded with seed, a fixed batch (pseudo-random ids, the first half of every
// row's labels masked with -100, as the peer does), and a trainer with a constant learning
// rate on backend b. The step graph is compiled on the first Run.
func NewStep(b compute.Backend, s Shape, seed uint64) (*Step, error) {
	if b == nil {
		return nil, fmt.Errorf("bench.NewStep: nil backend")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	mc := llama.DefaultConfig(s.Vocab, s.Hidden, s.Inter, s.Layers, s.Heads, s.Heads)
	base, err := llama.NewRandomModel(mc, seed)
	if err != nil {
		return nil, fmt.Errorf("bench.NewStep: base model: %w", err)
	}
	return NewModelStep(b, base, s, seed, llama.MemoryOptions{})
}

// NewModelStep is NewStep on the given base model, with the memory-lean switches mem
// (gradient_checkpointing, loss_chunk_size). The model fields of s (Vocab … Inter) are taken
// from the base's config.
func NewModelStep(b compute.Backend, base *llama.Model, s Shape, seed uint64, mem llama.MemoryOptions) (*Step, error) {
	if b == nil || base == nil {
		return nil, fmt.Errorf("bench.NewModelStep: nil backend or base model")
	}
	c := base.Config
	s.Vocab, s.Hidden, s.Layers, s.Heads, s.Inter = c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize
	if err := s.Validate(); err != nil {
		return nil, err
	}
	cfg := lora.DefaultConfig()
	cfg.R, cfg.LoraAlpha, cfg.LoraDropout = s.R, s.Alpha, s.Dropout
	cfg.TargetModules = lora.TargetNames("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
	ad, err := lora.New(cfg, base, seed)
	if err != nil {
		return nil, fmt.Errorf("bench.NewModelStep: adapter: %w", err)
	}
	var batch mask.Batch
	x := seed*2654435761 + 1
	for range s.Batch {
		ids, labels := make([]int32, s.Seq), make([]int32, s.Seq)
		for i := range ids {
			x = x*6364136223846793005 + 1442695040888963407 // LCG, for a reproducible batch
			ids[i] = int32((x >> 33) % uint64(s.Vocab))
			labels[i] = ids[i]
			if i < s.Seq/2 {
				labels[i] = mask.IgnoreIndex
			}
		}
		batch.InputIDs, batch.Labels = append(batch.InputIDs, ids), append(batch.Labels, labels)
	}
	args := train.DefaultArgs()
	args.LearningRate, args.WeightDecay, args.MaxGradNorm = s.LR, s.WeightDecay, s.MaxGradNorm
	args.LRSchedulerType, args.WarmupRatio, args.WarmupSteps = "constant", 0, 0
	args.PerDeviceTrainBatchSize, args.GradientAccumulationSteps = s.Batch, 1
	args.MaxSteps, args.Seed = 1<<30, int64(seed)
	args.LoggingSteps, args.EvalSteps, args.SaveSteps, args.DisableTQDM = 0, 0, 0, true
	args.GradientCheckpointing, args.LossChunkSize = mem.GradientCheckpointing, mem.LossChunkSize
	tr, err := train.New(b, train.LoRAModel(base, ad), args, &train.BatchLoader{Batches: []mask.Batch{batch}}, nil)
	if err != nil {
		return nil, fmt.Errorf("bench.NewModelStep: trainer: %w", err)
	}
	return &Step{Shape: s, adapter: ad, trainer: tr}, nil
}

// StepResult is what one Run reports.
type StepResult struct {
	Loss     float64       // mean token loss of the batch before the update
	GradNorm float64       // global gradient norm before clipping
	Elapsed  time.Duration // wall time of the step
}

// Run executes one training step (compiling the graph on the first call).
func (s *Step) Run() (StepResult, error) {
	start := time.Now()
	if err := s.trainer.TrainSteps(1); err != nil {
		return StepResult{}, fmt.Errorf("bench: step %d: %w", s.trainer.Step()+1, err)
	}
	elapsed := time.Since(start)
	h := s.trainer.History()
	r := h[len(h)-1]
	return StepResult{Loss: r.Loss, GradNorm: r.GradNorm, Elapsed: elapsed}, nil
}

// Adapter returns the adapter with the parameters trained so far.
func (s *Step) Adapter() (*lora.Adapter, error) { return train.TrainedAdapter(s.trainer, s.adapter) }

// Steps returns the number of steps run so far.
func (s *Step) Steps() int { return s.trainer.Step() }

// Timing summarises timed steps the way the peer does: tokens/s = tokens per step / median
// step time.
type Timing struct {
	Steps        int
	Median, Mean time.Duration
	TokensPerSec float64 // Batch·Seq / Median
	CPUPerStep   float64 // process CPU seconds (user+system) per timed step: steadier than wall time under load
	FirstLoss    float64
	LastLoss     float64
}

// Measure runs warmup untimed steps (the first compiles the graph) and then steps timed ones,
// and returns their timing.
func (s *Step) Measure(warmup, steps int) (Timing, error) {
	if steps <= 0 {
		return Timing{}, fmt.Errorf("bench.Measure: steps = %d must be > 0", steps)
	}
	var tm Timing
	for i := range warmup {
		r, err := s.Run()
		if err != nil {
			return Timing{}, fmt.Errorf("warm-up %d: %w", i+1, err)
		}
		if i == 0 {
			tm.FirstLoss = r.Loss
		}
	}
	times := make([]time.Duration, 0, steps)
	var total time.Duration
	cpu0 := ProcessCPU()
	for i := range steps {
		r, err := s.Run()
		if err != nil {
			return Timing{}, fmt.Errorf("timed step %d: %w", i+1, err)
		}
		if i == 0 && warmup == 0 {
			tm.FirstLoss = r.Loss
		}
		tm.LastLoss = r.Loss
		times = append(times, r.Elapsed)
		total += r.Elapsed
	}
	tm.CPUPerStep = (ProcessCPU() - cpu0).Seconds() / float64(steps)
	tm.Steps = steps
	tm.Median = median(times)
	tm.Mean = total / time.Duration(steps)
	tm.TokensPerSec = float64(s.Shape.Tokens()) / tm.Median.Seconds()
	return tm, nil
}

// ProcessCPU returns this process's user+system CPU time.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// median returns the upper median, as the peer does (sorted[len/2]).
func median[T cmp.Ordered](v []T) T {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

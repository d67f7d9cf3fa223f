package train

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph-building style
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/lora"
	"github.com/loralab/loralab/pkg/mask"
)

// patternTrainer trains model on 16 patternExamples (batches of 4, shuffled) and evaluates on
// the first 8; it returns the trainer and the eval loader.
func patternTrainer(t *testing.T, model Model, vocab int, args Args) (*Trainer, *ExampleLoader) {
	t.Helper()
	exs := patternExamples(16, vocab, 1)
	train := &ExampleLoader{Examples: exs, BatchSize: 4, Shuffle: true, Seed: 1, PadToMultipleOf: 16}
	eval := &ExampleLoader{Examples: exs[:8], BatchSize: 8, PadToMultipleOf: 16}
	tr, err := New(testBackend(t), model, args, train, eval)
	if err != nil {
		t.Fatal(err)
	}
	return tr, eval
}

// mustLearn trains model on the pattern task of patternTrainer and fails the test unless the eval
// loss falls by more than 0.5 nats; what names the model in messages. It returns the trainer
// and the eval result after training.
func mustLearn(t *testing.T, what string, model Model, vocab int, args Args) (*Trainer, EvalResult) {
	t.Helper()
	tr, eval := patternTrainer(t, model, vocab, args)
	before, err := tr.EvaluateLoader(eval)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	after, err := tr.EvaluateLoader(eval)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s eval loss %.4f -> %.4f, accuracy %.3f -> %.3f", what, before.Loss, after.Loss, before.Accuracy, after.Accuracy)
	if !(after.Loss < before.Loss-0.5) {
		t.Errorf("eval loss %.4f -> %.4f: %s did not learn", before.Loss, after.Loss, what)
	}
	return tr, after
}

// patternExamples are sequences following tok → (7·tok + 3) mod vocab, the first 3 tokens
// unsupervised.
func patternExamples(n, vocab int, seed uint64) []mask.Example {
	r := rand.New(rand.NewPCG(seed, 1))
	exs := make([]mask.Example, n)
	for i := range exs {
		tok := int32(r.IntN(vocab))
		for j := range 8 + r.IntN(8) {
			tok = (tok*7 + 3) % int32(vocab)
			lab := tok
			if j < 3 {
				lab = mask.IgnoreIndex
			}
			exs[i].InputIDs = append(exs[i].InputIDs, tok)
			exs[i].Labels = append(exs[i].Labels, lab)
		}
	}
	return exs
}

// The trainer drives the real llama forward pass with a LoRA adapter (dropout on): the eval
// loss falls, only LoRA tensors change, and the run checkpoints.
func TestTrainLlamaLoRA(t *testing.T) {
	base, err := llama.LoadModel(filepath.Join("..", "llama", "testdata", "llama_gqa"))
	if err != nil {
		t.Skip("llama test model unavailable:", err)
	}
	cfg := lora.DefaultConfig()
	cfg.LoraDropout = 0.1
	ad, err := lora.New(cfg, base, 3)
	if err != nil {
		t.Fatal(err)
	}
	model := LoRAModel(base, ad)
	args := toyArgs()
	args.LearningRate, args.MaxSteps, args.GradientAccumulationSteps = 1e-2, 20, 2
	args.OutputDir, args.SaveSteps = t.TempDir(), 10
	tr, _ := mustLearn(t, "LoRA", model, base.Config.VocabSize, args)
	p, _ := tr.Params()
	changed := 0
	for n, x := range p {
		if !slices.Equal(f32(x), f32(ad.Tensors[n])) {
			changed++
		}
	}
	if changed != len(ad.Tensors) {
		t.Errorf("%d of %d LoRA tensors changed", changed, len(ad.Tensors))
	}
	trained, err := TrainedAdapter(tr, ad)
	if err != nil {
		t.Fatal(err)
	}
	back := savedAndLoaded(t, trained, base.Config)
	for n, x := range p {
		if !slices.Equal(f32(x), f32(back.Tensors[n])) {
			t.Errorf("saved adapter tensor %q differs from the trained parameter", n)
		}
	}
	if steps, _ := Checkpoints(args.OutputDir); len(steps) != 2 {
		t.Errorf("checkpoints %v, want [10 20]", steps)
	}
}

// gradient_checkpointing and loss_chunk_size reach the LoRA model's loss and change neither the
// loss nor the LoRA gradients of a window (lora_dropout on: the masks are the same draws); nor
// does the loss on the supervised rows only (Inputs.LossRows, on by default), against the same
// model whose Loss drops them.
func TestTrainLlamaLoRAMemorySwitches(t *testing.T) {
	base, err := llama.LoadModel(filepath.Join("..", "llama", "testdata", "llama_gqa"))
	if err != nil {
		t.Skip("llama test model unavailable:", err)
	}
	cfg := lora.DefaultConfig()
	cfg.LoraDropout = 0.1
	cfg.TargetModules = lora.TargetNames("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
	ad, err := lora.New(cfg, base, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ad.Tensors { // non-zero B, so that every LoRA tensor has a gradient
		tensors.MustMutableFlatData(x, func(f []float32) {
			for i := range f {
				if f[i] == 0 {
					f[i] = 0.01 * float32(i%5-2)
				}
			}
		})
	}
	exs := patternExamples(8, base.Config.VocabSize, 2)
	window := []mask.Batch{}
	for i := 0; i < 2; i++ {
		b, err := mask.PadBatch(exs[4*i:4*i+4], 0, 8)
		if err != nil {
			t.Fatal(err)
		}
		window = append(window, b)
		B, T := b.Dims()
		if llama.LossRows(slices.Concat(b.Labels...), B, T) == nil {
			t.Fatalf("batch %d: no loss rows (all %d×%d positions would be computed)", i, B, T)
		}
	}
	grads := func(ckpt bool, chunk int, rows bool) (float64, map[string]*tensors.Tensor) {
		args := toyArgs()
		args.GradientCheckpointing, args.LossChunkSize = ckpt, chunk
		model := LoRAModel(base, ad)
		if !rows {
			loss := model.Loss
			model.Loss = func(in *Inputs) (sum, count *Node) {
				in.LossRows = nil
				return loss(in)
			}
		}
		tr, err := New(testBackend(t), model, args, &BatchLoader{Batches: window}, nil)
		if err != nil {
			t.Fatal(err)
		}
		loss, _, g, err := tr.Gradients(window)
		if err != nil {
			t.Fatal(err)
		}
		return loss, g
	}
	wantLoss, want := grads(false, 0, false)
	for _, tc := range []struct {
		ckpt  bool
		chunk int
		rows  bool
	}{{true, 0, false}, {false, 0, true}, {true, 0, true}, {false, 7, true}, {true, 16, true}} {
		loss, got := grads(tc.ckpt, tc.chunk, tc.rows)
		if math.Abs(loss-wantLoss) > 1e-5*math.Abs(wantLoss) {
			t.Errorf("gradient_checkpointing=%v loss_chunk_size=%d rows=%v: loss %v, want %v", tc.ckpt, tc.chunk, tc.rows, loss, wantLoss)
		}
		for name, w := range want {
			a, b := f32(got[name]), f32(w)
			var worst, scale float64
			for i := range b {
				scale = math.Max(scale, math.Abs(float64(b[i])))
				worst = math.Max(worst, math.Abs(float64(a[i]-b[i])))
			}
			if scale == 0 || worst > 1e-4*scale {
				t.Errorf("gradient_checkpointing=%v loss_chunk_size=%d rows=%v: gradient of %s differs by %.3g (scale %.3g)", tc.ckpt, tc.chunk, tc.rows, name, worst, scale)
			}
		}
	}
}

// savedAndLoaded saves the adapter to a temporary directory and loads it back.
func savedAndLoaded(t *testing.T, a *lora.Adapter, cfg *llama.Config) *lora.Adapter {
	t.Helper()
	dir := t.TempDir()
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := lora.Load(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

package bench

import (
	"testing"

	"github.com/loralab/loralab/datasets"
	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/data"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/lora"
	"github.com/loralab/loralab/pkg/mask"
	"github.com/loralab/loralab/pkg/tokenizer"
	"github.com/loralab/loralab/pkg/train"
)

// BenchmarkEpochPackedVsPadded is the packing win: the wall time of one epoch of LoRA
// training over the first 512 sft_recall dialogues (tiny tokenizer, method 3 labels) on the
// tiny model's shape, with padding-to-longest batches of 8 examples (shuffled) versus packed
// rows of 512 tokens, 2 rows a step (about the same tokens per step). The first epoch compiles
// the graphs (one per padded length) and is not timed; the second is.
func BenchmarkEpochPackedVsPadded(b *testing.B) {
	tbDir, err := datasets.TinyBaseDir()
	if err != nil {
		b.Skip(err)
	}
	tok, err := tokenizer.Load(tbDir)
	if err != nil {
		b.Fatal(err)
	}
	path, err := datasets.Path(datasets.SFTRecall, datasets.Train)
	if err != nil {
		b.Fatal(err)
	}
	convs, err := data.ReadAll(path)
	if err != nil {
		b.Fatal(err)
	}
	tmpl, err := chat.Lookup("tiny")
	if err != nil {
		b.Fatal(err)
	}
	exs, err := mask.BuildAll(convs[:512], tmpl, tok, mask.AllAssistantTurns, mask.Options{})
	if err != nil {
		b.Fatal(err)
	}
	pad := int32(tok.PadID())
	rows, packStats, err := mask.Pack(exs, 512, pad)
	if err != nil {
		b.Fatal(err)
	}
	packed, err := mask.PackedBatches(rows, exs, 2)
	if err != nil {
		b.Fatal(err)
	}
	padded := &train.ExampleLoader{Examples: exs, BatchSize: 8, Shuffle: true, Seed: 1, PadID: pad, PadToMultipleOf: 8}

	run := func(b *testing.B, loader train.Loader) {
		mc := llama.DefaultConfig(tok.VocabSize(), 192, 512, 4, 6, 6)
		base, err := llama.NewRandomModel(mc, 1)
		if err != nil {
			b.Fatal(err)
		}
		ad, err := lora.New(lora.DefaultConfig(), base, 2)
		if err != nil {
			b.Fatal(err)
		}
		args := train.DefaultArgs()
		args.PerDeviceTrainBatchSize, args.LoggingSteps, args.EvalSteps, args.SaveSteps, args.DisableTQDM = 4, 0, 0, 0, true
		args.LearningRate, args.LRSchedulerType = 1e-4, "constant"
		args.MaxSteps = 2 * loader.NumBatches()
		for range b.N {
			be, err := backend.Default()
			if err != nil {
				b.Fatal(err)
			}
			tr, err := train.New(be, train.LoRAModel(base, ad), args, loader, nil)
			if err != nil {
				b.Fatal(err)
			}
			var first float64
			tr.Attach(train.Hook{OnStep: func(_ *train.Trainer, r train.Record) error {
				if r.Step == loader.NumBatches() {
					first = r.ElapsedSeconds
				}
				return nil
			}})
			if err := tr.Train(); err != nil {
				b.Fatal(err)
			}
			s := tr.Summary()
			b.ReportMetric(s.WallSeconds-first, "s/epoch")
			b.ReportMetric(float64(loader.NumBatches()), "steps/epoch")
		}
	}
	b.Run("padded", func(b *testing.B) {
		var tokens int
		for i := range padded.NumBatches() {
			bt, err := padded.Batch(0, i)
			if err != nil {
				b.Fatal(err)
			}
			tokens += bt.Tokens()
		}
		real := 0
		for _, e := range exs {
			real += e.Len()
		}
		b.ReportMetric(100*float64(tokens-real)/float64(tokens), "%padding")
		run(b, padded)
	})
	b.Run("packed", func(b *testing.B) {
		b.ReportMetric(100*packStats.PaddingFraction(), "%padding")
		run(b, &train.BatchLoader{Batches: packed, Shuffle: true, Seed: 1})
	})
}

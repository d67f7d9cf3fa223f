// Command pretrain makes LoRA Lab's tiny base model from datasets/pretrain: it trains a
// byte-level BPE tokenizer on the corpus, then a small Llama (LlamaForCausalLM) from scratch
// with pkg/train (train.FullModel and the Trainer, every token supervised), and writes a
// HF-format model folder (config.json, model.safetensors, tokenizer.json, tokenizer_config.json
// with the `tiny` chat template), its training log and model card, with the loss of the new
// model on the fine-tuning sets and sample answers.
//
//	go run ./datasets/cmd/pretrain -out datasets/tiny_base
//
// Everything is seeded; the defaults are the settings the committed model was made with. With
// -checkpoints DIR the run saves a checkpoint at every evaluation and, started again with the
// same options, resumes from the last one.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

type options struct {
	data, out, checkpoints              string
	tokenizerOnly                       bool
	vocab, hidden, inter, layers, heads int
	kvHeads, seq, batch, steps          int
	warmup, evalEvery, evalRows         int
	lr, minLRRate, weightDecay          float64
	seed                                uint64
}

func main() {
	var o options
	flag.StringVar(&o.data, "data", "datasets/pretrain", "folder with train.parquet and validation.parquet")
	flag.StringVar(&o.out, "out", "datasets/tiny_base", "output model folder")
	flag.BoolVar(&o.tokenizerOnly, "tokenizer-only", false, "train and save the tokenizer only")
	flag.StringVar(&o.checkpoints, "checkpoints", "", "folder for checkpoints (resumes from the last one); none when empty")
	flag.IntVar(&o.vocab, "vocab", 4096, "tokenizer vocabulary size (incl. bytes and special tokens)")
	flag.IntVar(&o.hidden, "hidden", 192, "hidden_size")
	flag.IntVar(&o.inter, "intermediate", 512, "intermediate_size")
	flag.IntVar(&o.layers, "layers", 4, "num_hidden_layers")
	flag.IntVar(&o.heads, "heads", 6, "num_attention_heads")
	flag.IntVar(&o.kvHeads, "kv-heads", 6, "num_key_value_heads")
	flag.IntVar(&o.seq, "seq", 256, "tokens per training row")
	flag.IntVar(&o.batch, "batch", 8, "rows per step")
	flag.IntVar(&o.steps, "steps", 600, "optimizer steps")
	flag.IntVar(&o.warmup, "warmup", 50, "warmup steps")
	flag.IntVar(&o.evalEvery, "eval-every", 100, "evaluate every N steps")
	flag.IntVar(&o.evalRows, "eval-rows", 64, "validation rows per evaluation")
	flag.Float64Var(&o.lr, "lr", 2e-3, "peak learning rate (cosine_with_min_lr schedule)")
	flag.Float64Var(&o.minLRRate, "min-lr-rate", 0.1, "final learning rate as a fraction of the peak")
	flag.Float64Var(&o.weightDecay, "weight-decay", 0.01, "AdamW weight decay")
	flag.Uint64Var(&o.seed, "seed", 20261127, "seed for initialisation and data order")
	flag.Parse()
	start := time.Now()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "pretrain:", err)
		os.Exit(1)
	}
	fmt.Printf("done in %s; model in %s\n", time.Since(start).Round(time.Second), filepath.Clean(o.out))
}

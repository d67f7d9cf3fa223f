// Command synthckpt writes synthetic checkpoints with the exact configs of real models
// (deepseek-llm-7b, Qwen2.5-0.5B, Qwen2.5-1.5B): config.json plus random bfloat16 weights in
// safetensors shards, as transformers' save_pretrained lays them out. Tensors are drawn and
// written shard by shard, so memory stays at one shard (-shard-mb) whatever the model size.
// The real-shape benchmark (pkg/bench/cmd/realshapes) loads them.
//
// Usage (from the repository root; the 7B checkpoint takes 13.8 GB of disk):
//
//	export GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd
//	go run ./pkg/bench/cmd/synthckpt -out /tmp/realshapes qwen2.5-0.5b deepseek-llm-7b
//
// Each model goes to -out/<name>. With no model named it lists the models it knows.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/loralab/loralab/pkg/bench"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "synthckpt:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("synthckpt", flag.ContinueOnError)
	out := fs.String("out", "/tmp/realshapes", "directory that receives one sub-directory per model")
	shardMB := fs.Int64("shard-mb", 1024, "largest shard, MB (also the most held in memory)")
	seed := fs.Uint64("seed", 1, "random seed of the weights")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fmt.Println("models:", bench.RealShapeNames())
		return nil
	}
	for _, name := range fs.Args() {
		cfg, data, err := bench.RealConfig(name)
		if err != nil {
			return err
		}
		dir := filepath.Join(*out, name)
		start := time.Now()
		fmt.Printf("%s: %d parameters, %.2f GB as bf16 -> %s\n", name, cfg.NumParams(), float64(cfg.NumParams())*2/1e9, dir)
		err = bench.WriteSyntheticCheckpoint(dir, data, *seed, *shardMB<<20, func(file string, n int64) {
			fmt.Printf("  %s  %.2f GB  (%.0f s)\n", file, float64(n)/1e9, time.Since(start).Seconds())
		})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

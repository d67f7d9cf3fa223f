// Command loadrss measures what loading a model costs: it writes a synthetic random checkpoint
// of a given Llama shape (bfloat16 safetensors, streamed), or loads one with llama.LoadModelWith
// and prints the load time, the peak RSS of the process, the bytes the loaded model holds and its
// largest tensor, as one JSON line. Run each load in a fresh process (peak RSS is per process).
//
//	go run ./pkg/llama/cmd/loadrss -write /tmp/ck -hidden 1024 -intermediate 2816 -layers 8 -vocab 32000
//	go run ./pkg/llama/cmd/loadrss -load /tmp/ck -torch_dtype bfloat16 -quant nf4 [-steps 2 -seq 512]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/lora"
)

func main() {
	write := flag.String("write", "", "write a synthetic checkpoint into this directory")
	load := flag.String("load", "", "load the checkpoint in this directory")
	hidden := flag.Int("hidden", 1024, "hidden_size")
	inter := flag.Int("intermediate", 2816, "intermediate_size")
	layers := flag.Int("layers", 8, "num_hidden_layers")
	vocab := flag.Int("vocab", 32000, "vocab_size")
	heads := flag.Int("heads", 16, "num_attention_heads")
	torchDtype := flag.String("torch_dtype", "", "float32 (default), bfloat16, float16, auto")
	quant := flag.String("quant", "", "nf4, nf4-dq (double quantization) or int8")
	steps := flag.Int("steps", 0, "after loading, run this many LoRA forward+backward passes (r=16, seven projections) and report their time and the peak RSS")
	seq := flag.Int("seq", 512, "tokens per row for -steps (batch 1)")
	flag.Parse()
	var err error
	switch {
	case *write != "":
		err = llama.WriteRandomCheckpoint(*write, llama.DefaultConfig(*vocab, *hidden, *inter, *layers, *heads, *heads), "bfloat16", 1)
	case *load != "":
		err = measureLoad(*load, *torchDtype, *quant, *steps, *seq)
	default:
		err = fmt.Errorf("give -write DIR or -load DIR")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadrss:", err)
		os.Exit(1)
	}
}

func measureLoad(dir, torchDtype, quant string, steps, seq int) error {
	opts := llama.LoadOptions{TorchDtype: torchDtype}
	switch quant {
	case "":
	case "nf4":
		opts.QuantizationConfig = &llama.BitsAndBytesConfig{LoadIn4Bit: true}
	case "nf4-dq":
		opts.QuantizationConfig = &llama.BitsAndBytesConfig{LoadIn4Bit: true, Bnb4BitUseDoubleQuant: true}
	case "int8":
		opts.QuantizationConfig = &llama.BitsAndBytesConfig{LoadIn8Bit: true}
	default:
		return fmt.Errorf("-quant %q: want nf4, nf4-dq or int8", quant)
	}
	start := time.Now()
	m, err := llama.LoadModelWith(dir, opts)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	var total, largest int64
	for _, t := range m.Weights {
		n := int64(t.Shape().Memory())
		total += n
		largest = max(largest, n)
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return err
	}
	var largestF32 int64 // the largest weight as float32 (what a non-streaming quantizer would hold)
	for _, s := range m.Config.ParamSpecs() {
		largestF32 = max(largestF32, int64(s.Size())*4)
	}
	res := map[string]any{
		"torch_dtype": torchDtype, "quant": quant, "params": m.Config.NumParams(),
		"load_s": elapsed.Seconds(), "peak_rss_mib": float64(ru.Maxrss) / 1024,
		"model_mib": float64(total) / (1 << 20), "largest_tensor_mib": float64(largest) / (1 << 20),
		"largest_weight_f32_mib": float64(largestF32) / (1 << 20),
	}
	if steps > 0 {
		times, err := loraSteps(m, steps, seq)
		if err != nil {
			return err
		}
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			return err
		}
		res["seq"], res["step_s"], res["train_peak_rss_mib"] = seq, times, float64(ru.Maxrss)/1024
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	return nil
}

// loraSteps runs forward + LoRA gradients (r=16 on the seven projections, batch 1) and returns
// the seconds of each run after the first (compilation).
func loraSteps(m *llama.Model, steps, seq int) ([]float64, error) {
	cfg := lora.DefaultConfig()
	cfg.R, cfg.LoraAlpha = 16, 32
	cfg.TargetModules = lora.TargetNames("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
	a, err := lora.New(cfg, m, 1)
	if err != nil {
		return nil, err
	}
	var names []string
	var args []any
	for _, nt := range m.Tensors() {
		names, args = append(names, nt.Name), append(args, nt.Tensor)
	}
	loraNames := a.Names()
	for _, n := range loraNames {
		names, args = append(names, n), append(args, a.Tensors[n])
	}
	ids := make([]int32, seq)
	for i := range ids {
		ids[i] = int32((i * 7919) % m.Config.VocabSize)
	}
	args = append(args, tensors.FromFlatDataAndDimensions(ids, 1, seq))
	exec, err := graph.NewExec(backend.MustDefault(), func(inputs []*graph.Node) []*graph.Node {
		w := llama.NewWeights(names, inputs[:len(names)])
		in := inputs[len(names)]
		st := lora.BuildStep(m.Config, a.Plan, w, loraNames, in, nil, nil, in, nil, false)
		return append([]*graph.Node{st.LossSum}, st.Grads...)
	})
	if err != nil {
		return nil, err
	}
	var times []float64
	for i := 0; i <= steps; i++ {
		start := time.Now()
		out, err := exec.Exec(args...)
		if err != nil {
			return nil, err
		}
		for _, o := range out {
			o.FinalizeAll()
		}
		if i > 0 {
			times = append(times, time.Since(start).Seconds())
		}
	}
	return times, nil
}

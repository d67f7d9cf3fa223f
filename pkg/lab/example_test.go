package lab_test

import (
	"fmt"

	"github.com/loralab/loralab/datasets"
	"github.com/loralab/loralab/pkg/lab"
	"github.com/loralab/loralab/pkg/train"
)

// A cell names the experiment: base, data, LoraConfig, TrainingArguments. The run is kept, so
// a later cell asking for the same run gets it back without training, and a changed budget
// trains anew.
func ExampleBase_FineTune() {
	lab.LiveCharts = false
	base := lab.Load("", "") // the tiny base model
	data := lab.DataOptions{MaxLength: 96, Limit: 24}
	trainSet := base.Examples(datasets.SFTRecall, datasets.Train, data)
	evalSet := base.Examples(datasets.SFTRecall, datasets.Validation, lab.DataOptions{MaxLength: 96, Limit: 8})
	cfg := lab.LoRA(lab.Set{"r": 4, "lora_alpha": 8, "target_modules": "all-linear"})
	args := lab.Args(lab.Set{"learning_rate": 1e-2, "max_steps": 3, "per_device_train_batch_size": 4, "disable_tqdm": true})

	run := base.FineTune("demo", cfg, args, trainSet, evalSet)
	fmt.Println("steps:", len(run.History), "evaluations:", len(run.Evals), "status:", run.Status)
	fmt.Println("eval loss went down:", run.FinalEval().Loss < run.BaseEval().Loss)

	again := base.FineTune("demo", cfg, args, trainSet, evalSet)
	fmt.Println("same run read back:", again.Dir == run.Dir, again.Summary == run.Summary)
	args.MaxSteps = 4
	fmt.Println("another budget, another run:", base.FineTune("demo", cfg, args, trainSet, evalSet).Dir != run.Dir)
	// Output:
	// steps: 3 evaluations: 2 status: done
	// eval loss went down: true
	// same run read back: true true
	// another budget, another run: true
}

// Options go by their Hugging Face names; Apply sets a sweep trial's options on both.
func ExampleApply() {
	args := lab.Args(lab.Set{"learning_rate": 2e-3, "max_steps": 15})
	cfg := lab.LoRA(lab.Set{"r": 8, "lora_alpha": 16})
	args, cfg = lab.Apply(lab.Set{"r": 32, "warmup_ratio": 0.1}, args, cfg, true)
	fmt.Println(args.LearningRate, args.MaxSteps, args.WarmupRatio, cfg.R, cfg.LoraAlpha, cfg.Scaling(cfg.R, cfg.LoraAlpha))
	// Output: 0.002 15 0.1 32 16 0.5
}

// A 150k vocabulary makes logits the largest tensor of a step: batches shrink to fit. A
// 192-token row takes 2 × 192 × 151,936 × 4 B = 233 MB in training (logits and their
// gradient), 117 MB in evaluation.
func ExampleFitBatches() {
	args := lab.Args(lab.Set{"per_device_train_batch_size": 8, "per_device_eval_batch_size": 32})
	fitted, note := lab.FitBatches(args, 151936, 192, 192)
	fmt.Println(fitted.PerDeviceTrainBatchSize, fitted.GradientAccumulationSteps, fitted.PerDeviceEvalBatchSize)
	fmt.Println(note)
	_, note = lab.FitBatches(args, 4096, 192, 192) // the tiny model's vocabulary: nothing to change
	fmt.Printf("%q\n", note)
	// Output:
	// 1 8 2
	// per_device_train_batch_size 8 → 1 × gradient_accumulation_steps 8; per_device_eval_batch_size 32 → 2 (logits of a 151936-token vocabulary kept under 256 MiB)
	// ""
}

// Remember keeps any value for later cells, under its configuration.
func ExampleRemember() {
	calls := 0
	square := func(n int) int {
		return lab.Remember("square", n, func() int { calls++; return n * n })
	}
	fmt.Println(square(12), square(12), square(13), "computed", calls, "times")
	// Output: 144 144 169 computed 2 times
}

func ExampleCommas() {
	fmt.Println(lab.Commas(37478400), lab.Commas(-1234), lab.Commas(999))
	// Output: 37,478,400 -1,234 999
}

// A notebook states its setup once; runs override options by name. A run already trained in
// this session (same base, data and options) is read back.
func ExampleExperiment() {
	lab.LiveCharts = false
	exp := lab.Experiment{Dataset: datasets.SFTRecall,
		Train: lab.DataOptions{MaxLength: 96, Limit: 16}, Eval: lab.DataOptions{MaxLength: 96, Limit: 8},
		LoRA: lab.LoRA(lab.Set{"r": 4}),
		Args: lab.Args(lab.Set{"max_steps": 2, "per_device_train_batch_size": 4, "disable_tqdm": true})}
	runs := exp.Sweep(train.Grid(map[string][]any{"learning_rate": {1e-3, 1e-2}})...)
	fmt.Println(len(runs), runs.Varied(), runs.Best() != nil)
	again := exp.Run("again", runs[1].Params())
	fmt.Println("read back:", again.Dir == runs[1].Dir, again.LoRA.R, again.Args.LearningRate)
	// Output:
	// 2 [learning_rate] true
	// read back: true 4 0.01
}

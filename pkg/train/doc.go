// Package train is LoRA Lab's training loop: gradient accumulation normalised by supervised
// tokens, AdamW with HF schedules and clipping (package adamw) fused into one compiled step,
// evaluation (loss, perplexity, token accuracy, per turn), atomic checkpoints and resume,
// history tables (CSV and Parquet, package table), hyperparameter sweeps and the LR range test.
//
// The trainer knows nothing of terminals, notebooks or charts: they attach from outside through
// hooks (Trainer.Attach), as GoMLX's train.Loop attaches its progress bar. Package
// train/progress shows the progress line (a terminal line, plain lines, or an HTML bar in a
// GoNB cell), package train/trainplot draws the runs' charts and redraws them live.
//
// It is model-agnostic: a Model is named float32 tensors (trainable and frozen) plus a function
// that builds logits [B, T, V] in a GoMLX graph from an *Inputs (parameters as nodes, a batch of
// input_ids/labels and optional position/segment ids). ToyLM is a tiny one for tests and
// examples; the llama forward pass with a LoRA adapter plugs in the same way:
//
//	plan := adapter.Plan                      // lora: which modules, r, alpha, dropout
//	trainable := map[string]*tensors.Tensor{} // the LoRA tensors: what AdamW updates
//	for _, nt := range adapter.AdapterTensors() {
//		trainable[nt.Name] = nt.Tensor
//	}
//	frozen := map[string]*tensors.Tensor{}    // the base model: read, never trained
//	for _, n := range base.ParamNames() {
//		if _, ok := trainable[n]; !ok {
//			frozen[n] = base.Weights[n]
//		}
//	}
//	model := train.Model{Trainable: trainable, Frozen: frozen,
//		Logits: func(in *train.Inputs) *graph.Node {
//			w := llama.Weights(in.Params())
//			if !in.Training {
//				return llama.Forward(base.Config, w, adapter.Bind(w), in.InputIDs, in.PositionIDs, in.SegmentIDs)
//			}
//			hook := lora.BindTraining(plan, w, in.RNG()) // lora_dropout draws from the trainer's RNG
//			logits := llama.Forward(base.Config, w, hook, in.InputIDs, in.PositionIDs, in.SegmentIDs)
//			in.SetRNG(hook.RNG)
//			return logits
//		}}
//
// Training:
//
//	args := train.DefaultArgs()          // HF TrainingArguments names and defaults
//	args.LearningRate, args.MaxSteps = 2e-4, 200
//	args.GradientAccumulationSteps = 4
//	args.OutputDir = "runs/lora"
//	tr, err := train.New(backend.MustDefault(), model, args,
//		train.NewExampleLoader(examples, args.PerDeviceTrainBatchSize, args.Seed), evalLoader)
//	progress.Attach(tr, nil)             // progress line or notebook bar
//	trainplot.AttachLive(tr)             // live loss chart in a notebook
//	resumed, err := tr.Resume("")        // continue a killed run, if it left a checkpoint
//	err = tr.Train()
//	plot.Display(trainplot.LossChart("loss", tr.History(), tr.EvalHistory()))
//
// Examples are mask.Example (input_ids, labels aligned with them and mask.IgnoreIndex where
// nothing is learned, optional 0-based turn indices); loaders give mask.Batch micro-batches,
// padded by mask.PadBatch or packed by mask.PackedBatches. The loss is llama.CausalLMLoss.
//
// The loss of a step is the summed token cross entropy of its whole accumulation window divided
// by the window's supervised tokens (HF's convention since transformers 4.46), so it and its
// gradient equal those of the full batch however the tokens fall into micro-batches; a mean of
// micro-batch means would weight the tokens of short micro-batches more.
//
// One step runs gradient_accumulation_steps graphs: all but the last do forward and backward
// and add the gradient of the summed loss to accumulators; the last one also divides by the
// window's tokens, clips on the global norm (max_grad_norm) and applies AdamW. Each graph's
// inputs and outputs are named fields of one struct (stepIO), laid out in one place. Parameters,
// moments and accumulators are donated to the step, so they are updated in place where the
// backend allows. A NaN or Inf loss leaves the parameters untouched and stops the run with an
// error that names the step and the batch.
package train

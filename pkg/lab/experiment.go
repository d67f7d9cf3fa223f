package lab

import (
	"fmt"

	"github.com/loralab/loralab/datasets"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/lora"
	"github.com/loralab/loralab/pkg/train"
)

// Experiment is a notebook's setup, stated once in its knobs cell: the base model, the data,
// and the LoraConfig and TrainingArguments every run starts from. Its runs override some of
// these by name and are kept per configuration (see FineTune).
type Experiment struct {
	// ModelDir is a local HF checkpoint; "" is the tiny base model. Template "" is the
	// checkpoint's own chat template; a built-in name overrides it (see Load).
	ModelDir, Template string
	// FromPretrained keeps the frozen base in torch_dtype "bfloat16"/"float16" or quantizes its
	// Linear weights (quantization_config, NF4) as it loads (see LoadWith); zero: float32.
	FromPretrained llama.LoadOptions
	// Dataset is one of the repository's datasets (datasets.SFTRecall, datasets.SFTIdentity);
	// its train and validation splits are read with the Train and Eval options.
	Dataset     string
	Train, Eval DataOptions
	LoRA        lora.Config
	Args        train.Args
}

// Base loads the base model (once per cell: later calls return the same one).
func (e Experiment) Base() *Base {
	k := Key(e.ModelDir, e.Template, e.FromPretrained)
	if b, ok := loaded[k]; ok {
		return b
	}
	b := LoadWith(e.ModelDir, e.Template, e.FromPretrained)
	loaded[k] = b
	return b
}

// loaded are the bases this process loaded, by folder and template.
var loaded = map[string]*Base{}

// Data returns the base with the training and evaluation examples.
func (e Experiment) Data() (*Base, *Examples, *Examples) {
	b := e.Base()
	return b, b.Examples(e.Dataset, datasets.Train, e.Train), b.Examples(e.Dataset, datasets.Validation, e.Eval)
}

// Run fine-tunes with the options of s (HF training and LoraConfig names) over the
// experiment's, or reads the run back when a cell already trained it.
func (e Experiment) Run(name string, s Set) *Run {
	b, trainSet, evalSet := e.Data()
	args, cfg := Apply(s, e.Args, e.LoRA, true)
	return b.fineTune(name, s, cfg, args, trainSet, evalSet, LiveCharts, false)
}

// Sweep runs the trials (see Base.Sweep) on the experiment's base and data.
func (e Experiment) Sweep(trials ...train.Trial) Runs {
	b, trainSet, evalSet := e.Data()
	return b.Sweep(trials, e.LoRA, e.Args, trainSet, evalSet)
}

// Trial is a named sweep trial: options by HF name.
func Trial(name string, s Set) train.Trial { return train.Trial{Name: name, Params: s} }

// String describes the setup: base, data and what every run starts from.
func (e Experiment) String() string {
	b, trainSet, evalSet := e.Data()
	return fmt.Sprintf("%s\n%s\n%s\nLoRA r=%d lora_alpha=%g: %s\ntraining arguments: %s", b, trainSet, evalSet,
		e.LoRA.R, e.LoRA.LoraAlpha, Must(e.LoRA.Resolve(b.Model.Config)).Count(), e.Args)
}

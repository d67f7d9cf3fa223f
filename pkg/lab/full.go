package lab

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/lora"
	"github.com/loralab/loralab/pkg/plot"
	"github.com/loralab/loralab/pkg/train"
)

// FullFineTune trains every weight of the base (full fine-tuning: train.FullModel, the model
// and trainer the tiny base was pretrained with) with the training arguments args, on
// trainSet, evaluating on evalSet as FineTune does. The run keeps the trained model (model/ in
// its folder; Run.Tuned loads it) and is read back by a later cell asking for the same run.
// The base must be held in float32 (training updates every weight in place).
func (b *Base) FullFineTune(name string, args train.Args, trainSet, evalSet *Examples) *Run {
	return b.fineTune(name, nil, lora.Config{}, args, trainSet, evalSet, LiveCharts, true)
}

// Full fully fine-tunes the experiment's base on its data with the training options of s
// (HF names; LoraConfig names are refused) over the experiment's arguments.
func (e Experiment) Full(name string, s Set) *Run {
	b, trainSet, evalSet := e.Data()
	return b.fineTune(name, s, lora.Config{}, Override(e.Args, s), trainSet, evalSet, LiveCharts, true)
}

// fullModel is the trainer's model of full fine-tuning and its counts (every parameter
// trainable), or ends the cell when a weight is not float32.
func (b *Base) fullModel(name string) (train.Model, lora.Counts) {
	for _, nt := range b.Model.Tensors() {
		if nt.Tensor.DType() != dtypes.Float32 {
			Fail(fmt.Errorf("run %s: full fine-tuning needs a float32 base; %s is %s (load the base without torch_dtype or quantization_config)", name, nt.Name, nt.Tensor.DType()))
		}
	}
	n := b.Model.Config.NumParams()
	return train.FullModel(b.Model), lora.Counts{Trainable: n, All: n}
}

// saveFull keeps the trained weights of a full fine-tuning run in its folder (model/).
func saveFull(tr *train.Trainer, b *Base, r *Run) {
	params, err := tr.Params()
	check(err, "run %s", r.Name)
	m := &llama.Model{Config: b.Model.Config, Weights: params, Generation: b.Model.Generation}
	check(m.Save(filepath.Join(r.Dir, "model")), "run %s: saving the model", r.Name)
}

// Tuned is the fine-tuned model, ready to answer: the base with the run's trained adapter, or
// for a Full run the trained weights (with the base's tokenizer and template).
func (r *Run) Tuned() *Model {
	if !r.Full {
		return r.base.With(r.Adapter())
	}
	if r.Status != train.StatusDone {
		Fail(fmt.Errorf("run %s: %s, no trained model", r.Name, r.Status))
	}
	tb := *r.base.TinyBase
	tb.Model = Must(llama.LoadModel(filepath.Join(r.Dir, "model")))
	return (&Base{TinyBase: &tb, Name: r.base.Name + " fine-tuned by " + r.Name}).With(nil)
}

// Cost is what training holds for its trainable parameters besides the weights and the
// activations, computed from the counts: one float32 gradient per trainable parameter, and
// AdamW's two float32 moments (exp_avg, exp_avg_sq) per trainable parameter (PyTorch's
// torch.optim.AdamW state; pkg/adamw keeps the same).
type Cost struct {
	Trainable, All int64
	// GradientBytes = 4 × Trainable; OptimizerBytes = 8 × Trainable.
	GradientBytes, OptimizerBytes int64
}

// CostOf is the Cost of training with these counts.
func CostOf(c lora.Counts) Cost {
	return Cost{Trainable: c.Trainable, All: c.All, GradientBytes: 4 * c.Trainable, OptimizerBytes: 8 * c.Trainable}
}

// WeightBytes is the memory of cfg's weights held as opts say (LoadWith): each parameter in
// torch_dtype (4 bytes for float32, 2 for bfloat16/float16), and with quantization_config the
// decoder layers' Linear weights instead at half a byte (NF4, load_in_4bit) or one byte
// (load_in_8bit), plus one float32 absmax per block of 64 weights (bitsandbytes' blocksize for
// NF4, QLoRA paper §3). Double quantization and skipped modules are not covered: they end the
// cell. The arithmetic of DESIGN.md's "Memory of a frozen base".
func WeightBytes(cfg *llama.Config, opts llama.LoadOptions) int64 {
	per := int64(4)
	if opts.TorchDtype == "bfloat16" || opts.TorchDtype == "float16" {
		per = 2
	}
	total := per * cfg.NumParams()
	q := opts.QuantizationConfig
	if q == nil {
		return total
	}
	if q.Bnb4BitUseDoubleQuant || len(q.LlmInt8SkipModules) > 0 || q.LoadIn4Bit == q.LoadIn8Bit {
		Fail(fmt.Errorf("WeightBytes: quantization_config %+v: only load_in_4bit (nf4) or load_in_8bit, without double quantization or skipped modules", *q))
	}
	for _, lin := range cfg.LinearModules() {
		n := int64(lin.In) * int64(lin.Out)
		if lin.Layer < 0 || n%64 != 0 { // lm_head, and weights not in whole blocks, stay in torch_dtype
			continue
		}
		quant := n / 2
		if q.LoadIn8Bit {
			quant = n
		}
		total += quant + 4*(n/64) - per*n
	}
	return total
}

// HeldBytes is the memory the base's weights take as loaded (quantized weights as their parts).
func (b *Base) HeldBytes() int64 {
	var n int64
	for _, nt := range b.Model.Tensors() {
		n += int64(nt.Tensor.Shape().Memory())
	}
	return n
}

// ScaleRow is one way of fine-tuning a model and the memory it holds apart from activations:
// the weights (base, plus float32 LoRA tensors), the gradients and AdamW's state.
type ScaleRow struct {
	Method, Base                  string
	Trainable                     int64
	Weights, Gradients, Optimizer int64 // bytes
}

// Total is weights + gradients + optimizer state, in bytes.
func (s ScaleRow) Total() int64 { return s.Weights + s.Gradients + s.Optimizer }

// Scale is the memory arithmetic of fine-tuning a model of config cfg three ways: full
// fine-tuning in float32 (every parameter trained), LoRA with lc on a bfloat16 base, and QLoRA
// with lc on an NF4 base (decoder Linear weights in NF4, the rest in bfloat16). Activations,
// which depend on batch and sequence length, are not counted.
func Scale(cfg *llama.Config, lc lora.Config) []ScaleRow {
	plan, err := lc.Resolve(cfg)
	check(err, "LoraConfig")
	n, lo := cfg.NumParams(), CostOf(plan.Count())
	bf16 := llama.LoadOptions{TorchDtype: "bfloat16"}
	nf4 := llama.LoadOptions{TorchDtype: "bfloat16", QuantizationConfig: &llama.BitsAndBytesConfig{LoadIn4Bit: true, Bnb4BitQuantType: "nf4"}}
	full := CostOf(lora.Counts{Trainable: n, All: n})
	return []ScaleRow{
		{"full fine-tuning", "float32", n, WeightBytes(cfg, llama.LoadOptions{}), full.GradientBytes, full.OptimizerBytes},
		{"LoRA", "bfloat16", lo.Trainable, WeightBytes(cfg, bf16) + 4*lo.Trainable, lo.GradientBytes, lo.OptimizerBytes},
		{"QLoRA", "NF4 + bfloat16", lo.Trainable, WeightBytes(cfg, nf4) + 4*lo.Trainable, lo.GradientBytes, lo.OptimizerBytes},
	}
}

// Base is the base model the run trained on.
func (r *Run) Base() *Base { return r.base }

// Compare is a Markdown table of the runs side by side, each base model before training first
// (one row per distinct base, with the step-0 eval loss of its first run): trainable parameters
// (and their share of all), the bytes of their gradients and AdamW state (CostOf), the bytes the
// base's weights take as loaded (HeldBytes), wall time, final eval loss, and the Measures of c
// (persona on a correct reply, accuracy on general prompts, eval loss on the pretraining
// validation split). Measures are kept.
func (rs Runs) Compare(c Checks) string {
	mib := func(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }
	row := func(name, trainable, state string, held int64, wall string, eval float64, m Measures) []string {
		return []string{name, trainable, state, mib(held), wall, fmt.Sprintf("%.4f", eval), fmt.Sprintf("%.0f%%", m.Persona.Share(m.Persona.Both)),
			fmt.Sprintf("%.0f%%", m.General.Share(m.General.OnTopic)), fmt.Sprintf("%.4f", m.PretrainLoss)}
	}
	var rows [][]string
	for _, r := range rs.bases() {
		b := r.base
		rows = append(rows, row(b.short()+" (before training)", "—", "—", b.HeldBytes(), "—", r.BaseEval().Loss, b.Measure(c)))
	}
	for _, r := range rs {
		k := CostOf(r.Counts)
		rows = append(rows, row(r.Name, fmt.Sprintf("%s (%.2f%%)", Commas(k.Trainable), 100*float64(k.Trainable)/float64(max(k.All, 1))),
			mib(k.GradientBytes+k.OptimizerBytes), r.base.HeldBytes(), fmt.Sprintf("%.1f s", r.Summary.WallSeconds), r.FinalEval().Loss, r.Measure(c)))
	}
	return Table([]string{"run", "trainable 可训练参数", "gradients + AdamW state 梯度与优化器状态", "base weights held 基座权重", "wall 时间",
		"eval loss 验证损失", "persona on a correct reply 人设且答对", "general prompts 通用问题", "pretraining eval loss 预训练验证损失"}, rows)
}

// short is the base's name with its load options (LoadWith) said briefly: "tiny_base (bfloat16, nf4)".
func (b *Base) short() string {
	name, variant, ok := strings.Cut(b.Name, " {")
	var o llama.LoadOptions
	if !ok || json.Unmarshal([]byte("{"+variant), &o) != nil {
		return b.Name
	}
	parts := []string{cmp.Or(o.TorchDtype, "float32")}
	if q := o.QuantizationConfig; q != nil && q.LoadIn4Bit {
		parts = append(parts, cmp.Or(q.Bnb4BitQuantType, "nf4"))
	} else if q != nil {
		parts = append(parts, "int8")
	}
	return name + " (" + strings.Join(parts, ", ") + ")"
}

// bases are the first run on each distinct base model, in order.
func (rs Runs) bases() Runs {
	if len(rs) == 0 {
		Fail(fmt.Errorf("no runs to compare"))
	}
	var out Runs
	for _, r := range rs {
		if !slices.ContainsFunc(out, func(o *Run) bool { return o.base.Name == r.base.Name }) {
			out = append(out, r)
		}
	}
	return out
}

// MeasuresChart draws MeasuresChart for the first run's base model and the runs.
func (rs Runs) MeasuresChart(title string, c Checks) plot.Chart {
	b := rs.bases()[0].base
	names, ms := []string{"base"}, []Measures{b.Measure(c)}
	for _, r := range rs {
		names, ms = append(names, r.Name), append(ms, r.Measure(c))
	}
	return MeasuresChart(title, names, ms...)
}

// MemoryChart stacks, per run, the MiB its base's weights take as loaded and those of the
// gradients and AdamW state of its trainable parameters (activations aside).
func (rs Runs) MemoryChart(title string) plot.Chart {
	held, state := plot.BarSeries{Name: "base weights held 基座权重"}, plot.BarSeries{Name: "gradients + AdamW state 梯度与优化器状态"}
	var names []string
	for _, r := range rs {
		k := CostOf(r.Counts)
		names = append(names, r.Name)
		held.Values = append(held.Values, math.Round(float64(r.base.HeldBytes())/(1<<20)*100)/100)
		state.Values = append(state.Values, math.Round(float64(k.GradientBytes+k.OptimizerBytes)/(1<<20)*100)/100)
	}
	return plot.Bars(plot.BarOptions{Title: title, YName: "MiB", Stack: true}, names, held, state)
}

// ScaleTable is a Markdown table of Scale for each model (names[i] is cfgs[i]'s name): per way
// of fine-tuning, the trainable parameters (share of the model's), and the GB of weights,
// gradients, AdamW state and their total.
func ScaleTable(lc lora.Config, names []string, cfgs ...*llama.Config) string {
	if len(names) != len(cfgs) {
		Fail(fmt.Errorf("ScaleTable: %d names for %d configs", len(names), len(cfgs)))
	}
	gb := func(n int64) string { return fmt.Sprintf("%.2f GB", float64(n)/1e9) }
	var rows [][]string
	for i, cfg := range cfgs {
		for _, s := range Scale(cfg, lc) {
			rows = append(rows, []string{names[i], s.Method, s.Base, fmt.Sprintf("%s (%.2f%%)", Commas(s.Trainable), 100*float64(s.Trainable)/float64(cfg.NumParams())),
				gb(s.Weights), gb(s.Gradients), gb(s.Optimizer), "**" + gb(s.Total()) + "**"})
		}
	}
	return Table([]string{"model", "method", "base held as", "trainable", "weights", "gradients", "AdamW state", "total (no activations)"}, rows)
}

// ScaleChart draws Scale's totals for cfg in GB, one bar per way of fine-tuning.
func ScaleChart(title string, cfg *llama.Config, lc lora.Config) plot.Chart {
	var names []string
	totals := plot.BarSeries{Name: "GB"}
	for _, s := range Scale(cfg, lc) {
		names = append(names, s.Method+" ("+s.Base+")")
		totals.Values = append(totals.Values, math.Round(float64(s.Total())/1e7)/100)
	}
	return plot.Bars(plot.BarOptions{Title: title, YName: "GB", Labels: true}, names, totals)
}

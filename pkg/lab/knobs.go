package lab

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/loralab/loralab/pkg/plot"
	"github.com/loralab/loralab/pkg/train"
)

// Words is a computed verdict, in Chinese and in English.
type Words struct{ Zh, En string }

// FinalEvals returns the final eval loss of each named run (NaN for a run that did not finish).
func (rs Runs) FinalEvals(names ...string) []float64 {
	out := make([]float64, len(names))
	for i, n := range names {
		out[i] = rs.Get(n).Summary.FinalEvalLoss
		if rs.Get(n).Status != train.StatusDone {
			out[i] = math.NaN()
		}
	}
	return out
}

// EvalAt is the eval loss of the first evaluation at or after step (NaN when there is none).
func (r *Run) EvalAt(step int) float64 {
	for _, e := range r.Evals {
		if e.Step >= step {
			return e.Loss
		}
	}
	return math.NaN()
}

// Scaling is the factor the run's LoRA branch is multiplied by: lora_alpha/r, or
// lora_alpha/√r with use_rslora.
func (r *Run) Scaling() float64 { return r.LoRA.Scaling(r.LoRA.R, r.LoRA.LoraAlpha) }

// Spread is max − min of vs (NaN when vs is empty or holds a NaN).
func Spread(vs []float64) float64 {
	if len(vs) == 0 || slices.ContainsFunc(vs, math.IsNaN) {
		return math.NaN()
	}
	return slices.Max(vs) - slices.Min(vs)
}

// ScalingStudy sets the two rules for LoRA's scaling against each other at equal tokens: for
// every rank, lora_alpha/r (PEFT's default) and lora_alpha/√r (use_rslora, Kalajdzievski 2023,
// arXiv 2312.03732), with rsLoRA's lora_alpha chosen so that both rules give the same scaling at
// the smallest rank (one run serves both there); and a lora_alpha sweep at the middle rank.
//
// The two rules stand for two predictions. The Adam first-step heuristic: Adam moves every entry
// of lora_B by about the learning rate, and those moves add up coherently over the r rank-one
// terms of B·A, so the change of B·A grows like r and alpha/r keeps the speed independent of r.
// The rsLoRA paper's analysis: the r terms add up like random ones (√r), so alpha/r slows
// learning as r grows and alpha/√r is the rank-stabilising factor. The rule whose early eval
// losses depend least on the rank is the one the runs agree with.
type ScalingStudy struct {
	Ranks          []int
	Alpha, RSAlpha float64   // lora_alpha of the alpha/r runs and of the rsLoRA runs
	Alphas         []float64 // the lora_alpha sweep at rank Ranks[len(Ranks)/2] (Alpha included)
	EarlyStep      int       // the step of the early evaluation (how fast), besides the final one
	Runs           Runs

	// Early and Final are the eval losses per rank at EarlyStep and at the end, [0] for
	// alpha/r and [1] for alpha/√r.
	Early, Final [2][]float64
	// EarlySpread and FinalSpread are the spreads of those losses over the ranks (max − min).
	EarlySpread, FinalSpread [2]float64
	// Gain is the final eval loss at the smallest rank minus that at the largest, per rule:
	// what the extra rank bought.
	Gain [2]float64
	// Stable is the rule (0 alpha/r, 1 alpha/√r) whose early eval losses spread least over the ranks.
	Stable int
	// ControlName and Control are the alpha/r run of the lora_alpha sweep whose scaling × r equals
	// rsLoRA's at the largest rank, and its final eval loss ("" and NaN when the sweep has none).
	ControlName string
	Control     float64
	Verdict     Words
}

// Rules names the two scaling rules, in the order of ScalingStudy's pairs.
var Rules = [2]string{"alpha/r", "alpha/sqrt(r)"}

// ScalingName is the run name of rank r at lora_alpha alpha under a rule: "r=8,alpha=16" or
// "rslora,r=8,alpha=5.657".
func ScalingName(r int, alpha float64, rslora bool) string {
	n := fmt.Sprintf("r=%d,alpha=%.4g", r, alpha)
	if rslora {
		return "rslora," + n
	}
	return n
}

// ScalingStudy runs the study (see ScalingStudy) with the experiment's data and training
// arguments: ranks ascending, lora_alpha alpha for the alpha/r runs, the sweep alphas at the
// middle rank, early losses read at earlyStep.
func (e Experiment) ScalingStudy(ranks []int, alpha float64, alphas []float64, earlyStep int) *ScalingStudy {
	if len(ranks) < 2 || !slices.IsSorted(ranks) {
		Fail(fmt.Errorf("scaling study: want two or more ranks in ascending order, got %v", ranks))
	}
	s := &ScalingStudy{Ranks: ranks, Alpha: alpha, RSAlpha: alpha / math.Sqrt(float64(ranks[0])), EarlyStep: earlyStep}
	s.Alphas = slices.Sorted(slices.Values(append(slices.Clone(alphas), alpha)))
	s.Alphas = slices.Compact(s.Alphas)
	var trials []train.Trial
	for _, r := range ranks {
		trials = append(trials, Trial(ScalingName(r, alpha, false), Set{"r": r, "lora_alpha": alpha}))
	}
	for _, r := range ranks[1:] {
		trials = append(trials, Trial(ScalingName(r, s.RSAlpha, true), Set{"r": r, "lora_alpha": s.RSAlpha, "use_rslora": true}))
	}
	mid := ranks[len(ranks)/2]
	for _, a := range s.Alphas {
		if a != alpha {
			trials = append(trials, Trial(ScalingName(mid, a, false), Set{"r": mid, "lora_alpha": a}))
		}
	}
	s.Runs = e.Sweep(trials...)
	s.measure()
	return s
}

// Family returns the runs of one rule (0 alpha/r, 1 alpha/√r), one per rank; the smallest
// rank's run is the alpha/r one for both (their scalings are equal).
func (s *ScalingStudy) Family(rule int) Runs {
	var out Runs
	for i, r := range s.Ranks {
		if rule == 1 && i > 0 {
			out = append(out, s.Runs.Get(ScalingName(r, s.RSAlpha, true)))
		} else {
			out = append(out, s.Runs.Get(ScalingName(r, s.Alpha, false)))
		}
	}
	return out
}

// AlphaSweep returns the runs of the lora_alpha sweep at the middle rank, by lora_alpha.
func (s *ScalingStudy) AlphaSweep() Runs {
	var out Runs
	for _, a := range s.Alphas {
		out = append(out, s.Runs.Get(ScalingName(s.Ranks[len(s.Ranks)/2], a, false)))
	}
	return out
}

func (s *ScalingStudy) measure() {
	for rule := range 2 {
		s.Early[rule], s.Final[rule] = nil, nil
		for _, r := range s.Family(rule) {
			s.Early[rule] = append(s.Early[rule], r.EvalAt(s.EarlyStep))
			s.Final[rule] = append(s.Final[rule], r.Summary.FinalEvalLoss)
		}
		s.EarlySpread[rule], s.FinalSpread[rule] = Spread(s.Early[rule]), Spread(s.Final[rule])
		s.Gain[rule] = s.Final[rule][0] - s.Final[rule][len(s.Ranks)-1]
	}
	if s.EarlySpread[1] < s.EarlySpread[0] {
		s.Stable = 1
	}
	other := 1 - s.Stable
	faster := "slower"
	if s.Early[other][len(s.Ranks)-1] < s.Early[other][0] {
		faster = "faster"
	}
	agree := [2]Words{
		{"在步长如何随 r 变化这一点上，这些运行与 Adam 第一步的启发式论证一致，而不是 rsLoRA 论文的分析", "on how the step grows with r, the runs agree with the Adam first-step heuristic, not with the rsLoRA paper's analysis"},
		{"在步长如何随 r 变化这一点上，这些运行与 rsLoRA 论文一致（1/√r 让各个秩学得一样快），而不是 Adam 第一步的启发式论证", "on how the step grows with r, the runs agree with the rsLoRA paper (1/√r makes every rank learn alike), not with the Adam first-step heuristic"},
	}[s.Stable]
	s.Verdict = Say("在 %s 下，各个秩在第 %d 步的验证损失相差 %.3f，在 %s 下相差 %.3f；另一种规则下最大的秩学得%s：%s。"+
		"训练结束时，r 从 %d 增加到 %d 在 alpha/sqrt(r) 下使验证损失降低 %.3f，在 alpha/r 下降低 %.3f：%s。",
		"under %s the ranks' eval losses at step %d differ by %.3f, under %s by %.3f, and under the other rule the largest rank learns %s: %s. "+
			"At the end, going from r=%d to r=%d lowers the eval loss by %.3f under alpha/sqrt(r) and by %.3f under alpha/r: %s.",
		Rules[s.Stable], s.EarlyStep, s.EarlySpread[s.Stable], Rules[other], s.EarlySpread[other], Pick(faster == "faster", Words{"更快", "faster"}, Words{"更慢", "slower"}),
		agree, s.Ranks[0], s.Ranks[len(s.Ranks)-1], s.Gain[1], s.Gain[0],
		Pick(s.Gain[1] > s.Gain[0], Words{"rsLoRA 论文的观察——用 rsLoRA 时更大的秩学到更多，用 alpha/r 时几乎没有——在这里重现", "the rsLoRA paper's observation that a larger rank learns more with rsLoRA and hardly any more with alpha/r is reproduced"},
			Words{"rsLoRA 论文的观察——用 rsLoRA 时更大的秩学到更多——在这里没有重现", "the rsLoRA paper's observation that a larger rank learns more with rsLoRA is not reproduced"}))
	// Control: the alpha/r run of the sweep whose scaling × r (the heuristic's step size) equals that of
	// rsLoRA at the largest rank, if the sweep has it.
	rmax := s.Ranks[len(s.Ranks)-1]
	s.Control = math.NaN()
	if c := s.RSAlpha * math.Sqrt(float64(rmax)); slices.Contains(s.Alphas, c) {
		s.ControlName = ScalingName(s.Ranks[len(s.Ranks)/2], c, false)
		s.Control = s.Runs.Get(s.ControlName).Summary.FinalEvalLoss
		rs := s.Final[1][len(s.Ranks)-1]
		s.Verdict = Say("%s对照：alpha/r、r=%d、lora_alpha=%g 的运行与 r=%d 的 rsLoRA 运行有相同的 scaling×r（%g，启发式论证里的步长），它最终是 %.3f，rsLoRA 是 %.3f：%s。",
			"%s Control: alpha/r at r=%d with lora_alpha=%g and rsLoRA at r=%d have the same scaling × r (%g, the heuristic's step size); the first ends at %.3f, rsLoRA at %.3f: %s.",
			s.Verdict, s.Ranks[len(s.Ranks)/2], c, rmax, c, s.Control, rs, Pick(math.Abs(s.Control-rs) < s.Gain[1]/2,
				Words{"rsLoRA 的收益跟着步长走（换成更大的 lora_alpha 也能得到），不是来自更大的秩", "rsLoRA's gain goes with the step size (a larger lora_alpha gives it too), not with the larger rank"},
				Words{"两者相差超过 rsLoRA 收益的一半，收益不能只用步长解释", "they differ by more than half of rsLoRA's gain, so the step size alone does not explain it"}))
	}
}

// Charts are the study's eval loss curves per rule, the early and final eval loss against the
// rank per rule, and the eval loss curves of the lora_alpha sweep.
func (s *ScalingStudy) Charts() []plot.Chart {
	var vsRank []plot.Series
	for rule := range 2 {
		for i, what := range []string{fmt.Sprintf("step %d", s.EarlyStep), "final"} {
			ser := plot.Series{Name: Rules[rule] + ", " + what}
			for j, r := range s.Ranks {
				ser.X = append(ser.X, float64(r))
				ser.Y = append(ser.Y, [2][2][]float64{s.Early, s.Final}[i][rule][j])
			}
			vsRank = append(vsRank, ser)
		}
	}
	mid := s.Ranks[len(s.Ranks)/2]
	return []plot.Chart{
		append(s.Family(0), s.Family(1)[1:]...).Curves(fmt.Sprintf("eval loss: alpha/r (lora_alpha=%g) vs rsLoRA alpha/sqrt(r) (lora_alpha=%.3g)", s.Alpha, s.RSAlpha), true),
		plot.Lines(plot.LineOptions{Title: "eval loss vs r, per scaling rule (equal tokens)", XName: "r", YName: "eval loss", LogX: true}, vsRank...),
		s.AlphaSweep().Curves(fmt.Sprintf("eval loss: lora_alpha sweep at r=%d", mid), true),
	}
}

// Fit is a run's account of over-fitting.
type Fit struct {
	BestEval  float64 // the lowest eval loss of the run
	BestStep  int     // where it was reached
	FinalEval float64
	// TrainLoss is the trained adapter's loss on the training set, dropout off (as evaluated).
	TrainLoss float64
	// Gap is FinalEval − TrainLoss: how much better the adapter does on what it trained on.
	Gap float64
}

// Fit evaluates the trained adapter on trainSet (the run's training examples) with dropout off,
// kept like the run, and returns its account of over-fitting.
func (r *Run) Fit(trainSet *Examples) Fit {
	if r.Status != train.StatusDone {
		Fail(fmt.Errorf("run %s: %s, nothing to evaluate", r.Name, r.Status))
	}
	f := Fit{BestEval: math.Inf(1), FinalEval: r.Summary.FinalEvalLoss}
	for _, e := range r.Evals {
		if e.Loss < f.BestEval {
			f.BestEval, f.BestStep = e.Loss, e.Step
		}
	}
	f.TrainLoss = Remember("train-loss", []any{r.Dir, trainSet.key()}, func() float64 {
		b := r.base
		model := train.LoRAModel(b.Model, r.Adapter().Clone())
		l := b.loader(trainSet, r.Args.PerDeviceEvalBatchSize, false, 0)
		tr := Must(train.New(Backend(), model, r.Args, l, nil))
		return Must(tr.EvaluateLoader(l)).Loss
	})
	f.Gap = f.FinalEval - f.TrainLoss
	return f
}

// FitCurves draws, for every run, its training loss (the mean over each stretch between two
// evaluations, dropout on) and its eval loss (dropout off) against the step, on a log axis (the
// gap between them shows as a distance).
func (rs Runs) FitCurves(title string) plot.Chart {
	var series []plot.Series
	for _, r := range rs {
		tr, ev := plot.Series{Name: r.Name + " train"}, plot.Series{Name: r.Name + " eval"}
		prev, sum, n := 0, 0.0, 0
		for _, e := range r.Evals {
			ev.X, ev.Y = append(ev.X, float64(e.Step)), append(ev.Y, e.Loss)
			for _, h := range r.History {
				if h.Step > prev && h.Step <= e.Step {
					sum, n = sum+h.Loss, n+1
				}
			}
			if n > 0 {
				tr.X, tr.Y = append(tr.X, float64(e.Step)), append(tr.Y, sum/float64(n))
			}
			prev, sum, n = e.Step, 0, 0
		}
		series = append(series, tr, ev)
	}
	return plot.Lines(plot.LineOptions{Title: title, XName: "step", YName: "loss", LogY: true}, series...)
}

// Versus is a Markdown table of runs against a reference run: trainable parameters, eval loss
// at step early and at the end, and the final eval loss's difference from the reference's.
func (rs Runs) Versus(ref *Run, early int) string {
	var rows [][]string
	for _, r := range append(Runs{ref}, rs...) {
		d := "—"
		if r != ref {
			d = fmt.Sprintf("%+.4f", r.Summary.FinalEvalLoss-ref.Summary.FinalEvalLoss)
		}
		rows = append(rows, []string{r.Name, Commas(r.Counts.Trainable), fmt.Sprintf("%.4f", r.EvalAt(early)),
			fmt.Sprintf("%.4f", r.Summary.FinalEvalLoss), d})
	}
	return Table([]string{"run", "trainable params", fmt.Sprintf("eval loss at step %d", early), "final eval loss",
		"vs " + strings.ReplaceAll(ref.Name, "|", "/")}, rows)
}

// Say formats one statement in both languages from the same values: zh and en are fmt formats
// of args, and an argument that is Words is written in the statement's language.
func Say(zh, en string, args ...any) Words {
	var out [2]string
	for lang, format := range []string{zh, en} {
		a := slices.Clone(args)
		for i, x := range a {
			if w, ok := x.(Words); ok {
				a[i] = [2]string{w.Zh, w.En}[lang]
			}
		}
		out[lang] = fmt.Sprintf(format, a...)
	}
	return Words{out[0], out[1]}
}

// Pick returns yes when cond holds, else no: a verdict chosen by a measured comparison.
func Pick(cond bool, yes, no Words) Words {
	if cond {
		return yes
	}
	return no
}

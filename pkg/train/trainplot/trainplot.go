// Package trainplot draws training runs: loss and learning-rate curves, per-turn metrics,
// sweeps (curves, loss against a parameter, heatmaps) and the LR range test, and redraws the
// loss curves live in a GoNB cell through the trainer's hooks (AttachLive, AttachSweepLive).
// Show a chart with plot.Display or save it with plot.SaveHTML.
package trainplot

import (
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/go-echarts/go-echarts/v2/charts"

	"github.com/loralab/loralab/pkg/plot"
	"github.com/loralab/loralab/pkg/train"
)

// LossChart draws the training loss against the step and, when evals is not empty, the eval
// loss at the steps it was measured. Show it with plot.Display or save it with plot.SaveHTML.
func LossChart(title string, history []train.Record, evals []train.EvalResult) *charts.Line {
	train := plot.Series{Name: "train loss"}
	for _, r := range history {
		train.X = append(train.X, float64(r.Step))
		train.Y = append(train.Y, r.Loss)
	}
	series := []plot.Series{train}
	if len(evals) > 0 {
		ev := plot.Series{Name: "eval loss"}
		for _, e := range evals {
			ev.X = append(ev.X, float64(e.Step))
			ev.Y = append(ev.Y, e.Loss)
		}
		series = append(series, ev)
	}
	return plot.Lines(plot.LineOptions{Title: title, XName: "step", YName: "loss"}, series...)
}

// LRChart draws the learning rate of each step (the schedule as it ran).
func LRChart(title string, history []train.Record) *charts.Line {
	s := plot.Series{Name: "learning rate"}
	for _, r := range history {
		s.X = append(s.X, float64(r.Step))
		s.Y = append(s.Y, r.LearningRate)
	}
	return plot.Lines(plot.LineOptions{Title: title, XName: "step", YName: "learning rate"}, s)
}

// SweepCurvesChart overlays the loss curves of a sweep's trials: the eval loss if eval is true
// (trials without evaluations are skipped), else the training loss.
func SweepCurvesChart(title string, res *train.SweepResult, eval bool) *charts.Line {
	var series []plot.Series
	for _, tr := range res.Trials {
		s := plot.Series{Name: tr.Name}
		if eval {
			for _, e := range res.Evals[tr.Name] {
				s.X = append(s.X, float64(e.Step))
				s.Y = append(s.Y, e.Loss)
			}
		} else {
			for _, r := range res.Histories[tr.Name] {
				s.X = append(s.X, float64(r.Step))
				s.Y = append(s.Y, r.Loss)
			}
		}
		if len(s.X) > 0 {
			series = append(series, s)
		}
	}
	y := "train loss"
	if eval {
		y = "eval loss"
	}
	return plot.Lines(plot.LineOptions{Title: title, XName: "step", YName: y}, series...)
}

// finalLoss returns a trial's final eval loss, or its final train loss without evaluation.
func finalLoss(r train.TrialResult) float64 {
	if !math.IsNaN(r.FinalEvalLoss) {
		return r.FinalEvalLoss
	}
	return r.FinalTrainLoss
}

// LossVsParamChart draws each finished trial's final loss (eval, else train) against a numeric
// parameter, on a logarithmic x axis when logX (e.g. "learning_rate"). With other parameters
// in the sweep, one curve per combination of the others is drawn.
func LossVsParamChart(title string, res *train.SweepResult, key string, logX bool) *charts.Line {
	groups := map[string]*plot.Series{}
	var names []string
	for _, tr := range res.Trials {
		x := tr.Param(key)
		y := finalLoss(tr)
		if tr.Status != train.StatusDone || math.IsNaN(x) || math.IsNaN(y) {
			continue
		}
		p := tr.Params()
		delete(p, key)
		g := train.Trial{Params: p}.TrialName()
		if g == "" {
			g = "final loss"
		}
		if groups[g] == nil {
			groups[g] = &plot.Series{Name: g}
			names = append(names, g)
		}
		groups[g].X = append(groups[g].X, x)
		groups[g].Y = append(groups[g].Y, y)
	}
	var series []plot.Series
	for _, n := range names {
		s := *groups[n]
		idx := make([]int, len(s.X))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return s.X[idx[a]] < s.X[idx[b]] })
		sorted := plot.Series{Name: s.Name}
		for _, i := range idx {
			sorted.X = append(sorted.X, s.X[i])
			sorted.Y = append(sorted.Y, s.Y[i])
		}
		series = append(series, sorted)
	}
	return plot.Lines(plot.LineOptions{Title: title, XName: key, YName: "final loss", LogX: logX}, series...)
}

// ParamHeatmap draws the final loss (eval, else train) of a sweep over two parameters, e.g.
// ("r", "lora_alpha"); cells of trials that did not finish stay empty. With several trials in a
// cell (other parameters varied) the lowest loss is shown.
func ParamHeatmap(title string, res *train.SweepResult, xKey, yKey string) *charts.HeatMap {
	xs, ys := map[string]float64{}, map[string]float64{}
	cell := map[[2]string]float64{}
	for _, tr := range res.Trials {
		p := tr.Params()
		xv, yv := p[xKey], p[yKey]
		if xv == nil || yv == nil {
			continue
		}
		x, y := fmt.Sprint(xv), fmt.Sprint(yv)
		xs[x], ys[y] = tr.Param(xKey), tr.Param(yKey)
		loss := finalLoss(tr)
		if tr.Status != train.StatusDone || math.IsNaN(loss) {
			continue
		}
		if old, ok := cell[[2]string{x, y}]; !ok || loss < old {
			cell[[2]string{x, y}] = loss
		}
	}
	order := func(m map[string]float64) []string {
		keys := slices.Sorted(maps.Keys(m))
		sort.SliceStable(keys, func(i, j int) bool {
			a, b := m[keys[i]], m[keys[j]]
			if math.IsNaN(a) || math.IsNaN(b) {
				return keys[i] < keys[j]
			}
			return a < b
		})
		return keys
	}
	xl, yl := order(xs), order(ys)
	values := make([][]float64, len(yl))
	for yi, y := range yl {
		values[yi] = make([]float64, len(xl))
		for xi, x := range xl {
			v, ok := cell[[2]string{x, y}]
			if !ok {
				v = math.NaN()
			}
			values[yi][xi] = v
		}
	}
	return plot.Heatmap(plot.HeatmapOptions{Title: title, XName: xKey, YName: yKey, ReverseColors: true}, xl, yl, values)
}

// LRFindChart draws an LR range test: loss (raw and smoothed) against the learning rate on a
// log axis, with the suggested rate in the subtitle.
func LRFindChart(title string, r *train.LRFindResult) *charts.Line {
	sub := "suggested lr " + strconv.FormatFloat(r.Suggested, 'g', 3, 64) +
		" (steepest " + strconv.FormatFloat(r.Steepest, 'g', 3, 64) +
		", min-loss/10 " + strconv.FormatFloat(r.MinLoss/10, 'g', 3, 64) + ")"
	return plot.Lines(plot.LineOptions{Title: title, Subtitle: sub, XName: "learning rate", YName: "loss", LogX: true},
		plot.Series{Name: "loss", X: r.LRs, Y: r.Losses},
		plot.Series{Name: "smoothed", X: r.LRs, Y: r.Smoothed})
}

// TurnChart draws one evaluation's loss and token accuracy per turn (turn 0, 1, …: the 0-based
// numbering of mask.Example.Turn, turn 0 being the first reply): how well each reply of a
// dialogue is learned.
func TurnChart(title string, e train.EvalResult) *charts.Bar {
	cats := make([]string, len(e.PerTurn))
	loss, acc := plot.BarSeries{Name: "eval loss"}, plot.BarSeries{Name: "token accuracy"}
	for i, tm := range e.PerTurn {
		cats[i] = fmt.Sprintf("turn %d", tm.Turn)
		loss.Values = append(loss.Values, math.Round(tm.Loss*1e4)/1e4)
		acc.Values = append(acc.Values, math.Round(tm.Accuracy*1e4)/1e4)
	}
	return plot.Bars(plot.BarOptions{Title: title, Subtitle: fmt.Sprintf("step %d", e.Step), Labels: true}, cats, loss, acc)
}

// TurnCurvesChart draws the eval loss of each assistant turn against the step.
func TurnCurvesChart(title string, evals []train.EvalResult) *charts.Line {
	byTurn := map[int]*plot.Series{}
	var turns []int
	for _, e := range evals {
		for _, tm := range e.PerTurn {
			s := byTurn[tm.Turn]
			if s == nil {
				s = &plot.Series{Name: fmt.Sprintf("turn %d", tm.Turn)}
				byTurn[tm.Turn] = s
				turns = append(turns, tm.Turn)
			}
			s.X = append(s.X, float64(e.Step))
			s.Y = append(s.Y, tm.Loss)
		}
	}
	sort.Ints(turns)
	series := make([]plot.Series, len(turns))
	for i, k := range turns {
		series[i] = *byTurn[k]
	}
	return plot.Lines(plot.LineOptions{Title: title, XName: "step", YName: "eval loss"}, series...)
}

// AttachLive draws t's loss curves (train and eval, LossChart) below the cell's output in a GoNB
// notebook and redraws them in place at most once a second while training, and at the end of
// a run. Outside a notebook it attaches nothing.
func AttachLive(t *train.Trainer) {
	if !plot.InNotebook() {
		return
	}
	var live *plot.Live
	var last time.Time
	draw := func(t *train.Trainer, force bool) {
		if !force && time.Since(last) < time.Second {
			return
		}
		if live == nil {
			live = plot.NewLive()
		}
		if err := live.Update(LossChart("loss", t.History(), t.EvalHistory())); err != nil {
			fmt.Fprintln(os.Stderr, "trainplot: live chart:", err)
		}
		last = time.Now()
	}
	t.Attach(train.Hook{
		OnStep: func(t *train.Trainer, r train.Record) error { draw(t, r.Step == t.TotalSteps()); return nil },
		OnEnd:  func(t *train.Trainer, err error) { draw(t, true) },
	})
}

// AttachSweepLive overlays a sweep's loss curves (SweepCurvesChart: eval loss when the trials
// evaluate, else train loss) in a GoNB notebook and redraws them after each trial. It chains
// opts.OnTrial. Outside a notebook it attaches nothing.
func AttachSweepLive(opts *train.SweepOptions) {
	if !plot.InNotebook() {
		return
	}
	var live *plot.Live
	prev := opts.OnTrial
	opts.OnTrial = func(r train.TrialResult, res *train.SweepResult) {
		if prev != nil {
			prev(r, res)
		}
		withEval := false
		for _, e := range res.Evals {
			withEval = withEval || len(e) > 0
		}
		if live == nil {
			live = plot.NewLive()
		}
		if err := live.Update(SweepCurvesChart("sweep", res, withEval)); err != nil {
			fmt.Fprintln(os.Stderr, "trainplot: live chart:", err)
		}
	}
}

// Package progress shows a training run as it goes, attached to a train.Trainer through its
// hooks: in a GoNB notebook cell an HTML progress bar updated in place, in a terminal a line
// rewritten in place, otherwise (a file, a pipe, a test) a line every logging_steps steps. The
// trainer itself writes nothing.
//
//	tr, err := train.New(…)
//	progress.Attach(tr, nil) // os.Stderr outside a notebook
//	err = tr.Train()
package progress

import (
	"fmt"
	"html"
	"io"
	"os"
	"strings"

	"github.com/janpfeifer/gonb/gonbui"

	"github.com/loralab/loralab/pkg/train"
)

// Attach shows the progress of t's runs on w (nil means os.Stderr), or in the notebook cell when
// running in GoNB. With Args.DisableTQDM (HF disable_tqdm) it attaches nothing.
func Attach(t *train.Trainer, w io.Writer) {
	if t.Args.DisableTQDM {
		return
	}
	attach(t, w, "")
}

// AttachSweep shows a sweep's progress: one line per trial on w (nil means os.Stderr) — in GoNB
// an HTML block of those lines — and each trial's progress line as Attach does, every trial in
// the same notebook block. It chains opts.OnTrialStart and sets opts.Progress.
func AttachSweep(opts *train.SweepOptions, w io.Writer) {
	if w == nil {
		w = os.Stderr
	}
	trialID := ""
	if gonbui.IsNotebook {
		trialID = "loralab_train_" + gonbui.UniqueId()
		w = &htmlLines{id: "loralab_sweep_" + gonbui.UniqueId()}
	}
	opts.Progress = w
	prev := opts.OnTrialStart
	opts.OnTrialStart = func(trial train.Trial, tr *train.Trainer) {
		if prev != nil {
			prev(trial, tr)
		}
		if !tr.Args.DisableTQDM {
			attach(tr, w, trialID)
		}
	}
}

// mode is where the line goes.
type mode int

const (
	notebook mode = iota // an HTML block updated in place
	terminal             // a line rewritten with \r
	lines                // a line every logging_steps
)

type bar struct {
	mode      mode
	w         io.Writer
	id        string
	every     int
	lastEval  string
	last      train.Record
	haveLast  bool
	wroteLine bool
	recent    []train.Record // the last records, for the ETA
}

func attach(t *train.Trainer, w io.Writer, notebookID string) {
	if w == nil {
		w = os.Stderr
	}
	p := &bar{w: w, every: t.Args.LoggingSteps}
	switch {
	case gonbui.IsNotebook:
		p.mode, p.id = notebook, notebookID
		if p.id == "" {
			p.id = "loralab_train_" + gonbui.UniqueId()
		}
	case isTerminal(w):
		p.mode = terminal
	default:
		p.mode = lines
	}
	t.Attach(train.Hook{
		OnStart: func(*train.Trainer) error { p.recent = nil; return nil },
		OnStep: func(t *train.Trainer, r train.Record) error {
			p.step(r, t.TotalSteps())
			return nil
		},
		OnEval: func(t *train.Trainer, e train.EvalResult) { p.eval(e, t.TotalSteps()) },
		OnEnd:  func(*train.Trainer, error) { p.done() },
	})
}

// Line formats the progress of step r of total, with the ETA from the mean step time of recent
// records (the last few steps).
func Line(r train.Record, total int, recent []train.Record) string {
	if len(recent) > 1 {
		recent = recent[1:] // the first step of a process compiles the graphs
	}
	var secs float64
	for _, h := range recent {
		secs += h.StepSeconds
	}
	eta := float64(total-r.Step) * secs / float64(max(1, len(recent)))
	return fmt.Sprintf("step %d/%d | epoch %.2f | loss %.4f | lr %.3g | %.0f tok/s | elapsed %s | ETA %s",
		r.Step, total, r.Epoch, r.Loss, r.LearningRate, r.TokensPerSecond, train.FormatDuration(r.ElapsedSeconds),
		train.FormatDuration(eta))
}

func (p *bar) step(r train.Record, total int) {
	p.recent = append(p.recent, r)
	if len(p.recent) > 21 {
		p.recent = p.recent[len(p.recent)-21:]
	}
	p.last, p.haveLast = r, true
	p.show(total, (p.every > 0 && r.Step%p.every == 0) || r.Step == total)
}

// show draws the line; in lines mode only when print is set.
func (p *bar) show(total int, print bool) {
	r := p.last
	line := Line(r, total, p.recent) + p.lastEval
	switch p.mode {
	case notebook:
		frac := float64(r.Step) / float64(max(1, total))
		gonbui.UpdateHTML(p.id, fmt.Sprintf(
			`<div style="font-family:monospace"><progress value="%.4f" max="1" style="width:30em"></progress> %s</div>`,
			frac, html.EscapeString(line)))
	case terminal:
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
		p.wroteLine = true
	case lines:
		if print {
			fmt.Fprintln(p.w, line)
		}
	}
}

func (p *bar) eval(e train.EvalResult, total int) {
	p.lastEval = fmt.Sprintf(" | eval loss %.4f ppl %.3g acc %.3f", e.Loss, e.Perplexity, e.Accuracy)
	switch {
	case p.mode == lines:
		fmt.Fprintf(p.w, "eval at step %d:%s\n", e.Step, p.lastEval)
	case p.haveLast:
		p.show(total, false)
	}
}

func (p *bar) done() {
	if p.mode == terminal && p.wroteLine {
		fmt.Fprintln(p.w)
		p.wroteLine = false
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// htmlLines is a writer that shows what is written as a <pre> block updated in place in GoNB.
type htmlLines struct {
	id    string
	lines []string
}

func (h *htmlLines) Write(b []byte) (int, error) {
	h.lines = append(h.lines, strings.TrimRight(string(b), "\n"))
	var sb strings.Builder
	sb.WriteString(`<pre style="margin:0">`)
	for _, l := range h.lines {
		sb.WriteString(html.EscapeString(l))
		sb.WriteString("\n")
	}
	sb.WriteString("</pre>")
	gonbui.UpdateHTML(h.id, sb.String())
	return len(b), nil
}

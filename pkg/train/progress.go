package train

import (
	"fmt"
	"html"
	"io"
	"os"
	"strings"
	"time"

	"github.com/janpfeifer/gonb/gonbui"
)

// progress shows the live progress line: an HTML block updated in place in a GoNB cell, a line
// rewritten with \r in a terminal, otherwise a line every logging_steps steps.
type progress struct {
	mode      int // 0 off, 1 notebook, 2 terminal, 3 lines
	w         io.Writer
	id        string
	every     int
	lastEval  string
	wroteLine bool
	last      func() // redraws the last line (with the latest eval)
}

const (
	progOff = iota
	progNotebook
	progTerminal
	progLines
)

func newProgress(w io.Writer, args Args, notebookID string) *progress {
	if w == nil {
		w = os.Stderr
	}
	p := &progress{w: w, every: args.LoggingSteps}
	switch {
	case args.DisableTQDM:
		p.mode = progOff
	case gonbui.IsNotebook:
		p.mode, p.id = progNotebook, notebookID
		if p.id == "" {
			p.id = "loralab_train_" + gonbui.UniqueId()
		}
	case isTerminal(w):
		p.mode = progTerminal
	default:
		p.mode = progLines
	}
	return p
}

// FormatDuration formats seconds as h:mm:ss or m:ss.
func FormatDuration(secs float64) string {
	if secs < 0 || secs != secs {
		return "?"
	}
	d := time.Duration(secs * float64(time.Second)).Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

// ProgressLine formats the progress of step r of total, with the ETA from the mean step time
// of the last (up to 20) records of history.
func ProgressLine(r Record, total int, history []Record) string {
	recent := history
	if len(recent) > 20 {
		recent = recent[len(recent)-20:]
	}
	if len(recent) > 1 {
		recent = recent[1:] // the first step of a process compiles the graphs
	}
	var secs float64
	for _, h := range recent {
		secs += h.StepSeconds
	}
	eta := float64(total-r.Step) * secs / float64(max(1, len(recent)))
	return fmt.Sprintf("step %d/%d | epoch %.2f | loss %.4f | lr %.3g | %.0f tok/s | elapsed %s | ETA %s",
		r.Step, total, r.Epoch, r.Loss, r.LearningRate, r.TokensPerSecond, FormatDuration(r.ElapsedSeconds), FormatDuration(eta))
}

func (p *progress) update(r Record, total int, history []Record) {
	p.last = func() { p.update(r, total, history) }
	line := ProgressLine(r, total, history)
	switch p.mode {
	case progNotebook:
		frac := float64(r.Step) / float64(max(1, total))
		gonbui.UpdateHTML(p.id, fmt.Sprintf(
			`<div style="font-family:monospace"><progress value="%.4f" max="1" style="width:30em"></progress> %s%s</div>`,
			frac, html.EscapeString(line), html.EscapeString(p.lastEval)))
	case progTerminal:
		fmt.Fprintf(p.w, "\r%s%s\x1b[K", line, p.lastEval)
		p.wroteLine = true
	case progLines:
		if (p.every > 0 && r.Step%p.every == 0) || r.Step == total {
			fmt.Fprintln(p.w, line+p.lastEval)
		}
	}
}

func (p *progress) eval(e EvalResult) {
	var b strings.Builder
	fmt.Fprintf(&b, " | eval loss %.4f ppl %.3g acc %.3f", e.Loss, e.Perplexity, e.Accuracy)
	p.lastEval = b.String()
	switch {
	case p.mode == progLines:
		fmt.Fprintf(p.w, "eval at step %d:%s\n", e.Step, p.lastEval)
	case p.last != nil:
		p.last()
	}
}

func (p *progress) done() {
	if p.mode == progTerminal && p.wroteLine {
		fmt.Fprintln(p.w)
	}
}

// Package lab is LoRA Lab's notebook API: a cell states the experiment — which base, which
// data, which LoraConfig and TrainingArguments — and lab does the plumbing underneath
// (datasets, tokenizer, masking, trainer, adapters, charts).
//
//	base := lab.Load("", "")                                   // the tiny base model
//	trainSet := base.Examples(datasets.SFTRecall, datasets.Train, lab.DataOptions{MaxLength: 128, Limit: 400})
//	evalSet := base.Examples(datasets.SFTRecall, datasets.Validation, lab.DataOptions{MaxLength: 128, Limit: 24})
//	run := base.FineTune("r=8", lab.LoRA(lab.Set{"r": 8, "lora_alpha": 16}),
//		lab.Args(lab.Set{"learning_rate": 2e-3, "max_steps": 15}), trainSet, evalSet)
//	plot.Display(run.LossChart())
//
// Results persist across cells: GoNB runs every cell as a new program, so a value computed in
// one cell is gone in the next. FineTune keeps each run (history, evaluations, trained adapter)
// in the kernel session's folder under a key made of everything that determines it — base,
// data, LoraConfig, TrainingArguments — so a later cell asking for the same run reads it back
// at once, and a changed budget never reads a stale result. Remember does the same for any
// value.
//
// Errors: lab's functions are meant for notebook cells. On an error they show one line that
// says what failed and why, and end the cell (exit status 1), so that cells need no error
// plumbing. Library code should use the packages underneath, which return errors.
package lab

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"sync"

	"github.com/loralab/loralab/pkg/atomicfile"
	"github.com/loralab/loralab/pkg/plot"
)

// exit ends the cell after an error was shown; tests replace it.
var exit = func(code int) { os.Exit(code) }

// Fail shows err as one line (what failed and why) and ends the cell.
func Fail(err error) {
	if plot.InNotebook() {
		plot.HTML(`<div style="color:#b00020;font-family:monospace;white-space:pre-wrap">✗ ` + html.EscapeString(err.Error()) + `</div>`)
	} else {
		fmt.Fprintln(os.Stderr, "✗", err)
	}
	exit(1)
}

// check ends the cell with what: err when err is not nil.
func check(err error, what string, args ...any) {
	if err != nil {
		Fail(fmt.Errorf("%s: %w", fmt.Sprintf(what, args...), err))
	}
}

// Must returns v, or ends the cell with err: for the few calls a cell makes to the packages
// underneath.
func Must[T any](v T, err error) T {
	if err != nil {
		Fail(err)
	}
	return v
}

var (
	dirOnce  sync.Once
	cacheDir string
)

// Dir is the folder where lab keeps results for later cells: under the notebook kernel's
// session folder ($GONB_TMP_DIR), so a restarted kernel starts afresh; outside a notebook, a
// new temporary folder per process. Set $LORALAB_RESULTS to keep results across sessions.
func Dir() string {
	dirOnce.Do(func() {
		cacheDir = os.Getenv("LORALAB_RESULTS")
		if cacheDir == "" && plot.SessionDir() != "" {
			cacheDir = filepath.Join(plot.SessionDir(), "loralab")
		}
		if cacheDir == "" {
			d, err := os.MkdirTemp("", "loralab_")
			check(err, "results folder")
			cacheDir = d
		}
		check(os.MkdirAll(cacheDir, 0o755), "results folder")
	})
	return cacheDir
}

// Key names a configuration: a short hash of its JSON form. Equal configurations get equal
// keys; any changed field gives another key.
func Key(config ...any) string {
	b, err := json.Marshal(config)
	check(err, "configuration key")
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:6])
}

// Remember returns the value that compute returned for this name and configuration, computing
// and keeping it (encoding/gob, so NaN and ±Inf survive) the first time: a later cell of the
// same kernel session gets it back without computing it again, and another configuration
// computes anew.
func Remember[T any](name string, config any, compute func() T) T {
	path := filepath.Join(Dir(), name+"-"+Key(name, config)+".gob")
	var v T
	if b, err := os.ReadFile(path); err == nil {
		if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&v); err == nil {
			return v
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		check(err, "reading %s", name)
	}
	v = compute()
	var buf bytes.Buffer
	check(gob.NewEncoder(&buf).Encode(&v), "keeping %s", name)
	check(atomicfile.Write(path, buf.Bytes()), "keeping %s", name)
	return v
}

// Show draws charts inline in the cell (nothing outside a notebook); an error ends the cell.
func Show(charts ...plot.Chart) {
	check(plot.Display(charts...), "chart")
}

// Check ends the cell with err when it is not nil: for the few calls a cell makes to the
// packages underneath that return only an error.
func Check(err error) {
	if err != nil {
		Fail(err)
	}
}

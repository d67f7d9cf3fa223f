package gguf

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/loralab/loralab/pkg/plot"
)

//go:embed llamacpp.mjs
var llamacppScript []byte

// Run is one model for LlamaCpp to load (with an optional LoRA adapter) and what to compute.
type Run struct {
	Model     string   `json:"model"`          // GGUF model file
	Lora      string   `json:"lora,omitempty"` // GGUF LoRA adapter file, applied with scale 1
	Texts     []string `json:"texts,omitempty"`
	Prompts   [][]int  `json:"prompts,omitempty"` // token ids, special tokens included
	MaxTokens int      `json:"max_tokens"`        // greedy tokens per prompt (default 16)
	Top       int      `json:"top"`               // next-token log-probabilities kept per prompt (default 5)
}

// RunResult is what llama.cpp computed for a Run.
type RunResult struct {
	Tokens [][]int `json:"tokens"` // llama.cpp's tokenization of each text (no special tokens parsed)
	Greedy [][]int `json:"greedy"` // greedy continuation of each prompt, the end-of-generation token kept
	Next   []struct {
		IDs      []int     `json:"ids"`      // the Top most likely next tokens after the prompt
		LogProbs []float64 `json:"logprobs"` // their log-probabilities
	} `json:"next"`
}

// ErrNoLlamaCpp says that llama.cpp (npm node-llama-cpp, which docker/setup.sh installs into
// $LORALAB_CACHE/llamacpp) or node is not installed.
var ErrNoLlamaCpp = errors.New("llama.cpp is not installed: run `make setup` (docker/setup.sh installs npm node-llama-cpp@3.21.1 into $LORALAB_CACHE/llamacpp)")

// LlamaCppPackage is the directory of the installed node-llama-cpp package.
func LlamaCppPackage() (string, error) {
	if _, err := exec.LookPath("node"); err != nil {
		return "", ErrNoLlamaCpp
	}
	dir := filepath.Join(plot.CacheDir(), "llamacpp", "node_modules", "node-llama-cpp")
	if _, err := os.Stat(filepath.Join(dir, "package.json")); err != nil {
		return "", ErrNoLlamaCpp
	}
	return dir, nil
}

// LlamaCpp runs llama.cpp itself (its prebuilt CPU build, through node-llama-cpp, offline, one
// thread) on the runs: an independent engine for the GGUF files this package writes.
func LlamaCpp(runs ...Run) ([]RunResult, error) {
	pkg, err := LlamaCppPackage()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "llamacpp")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for i := range runs {
		if runs[i].MaxTokens == 0 {
			runs[i].MaxTokens = 16
		}
		if runs[i].Top == 0 {
			runs[i].Top = 5
		}
	}
	job, err := json.Marshal(map[string]any{"runs": runs})
	if err != nil {
		return nil, err
	}
	script, jobPath := filepath.Join(dir, "llamacpp.mjs"), filepath.Join(dir, "job.json")
	if err := os.WriteFile(script, llamacppScript, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(jobPath, job, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command("node", script, pkg, jobPath)
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("llama.cpp: %w\n%s", err, stderr.String())
	}
	var res struct {
		Runs []RunResult `json:"runs"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("llama.cpp output: %w", err)
	}
	if len(res.Runs) != len(runs) {
		return nil, fmt.Errorf("llama.cpp gave %d results for %d runs", len(res.Runs), len(runs))
	}
	return res.Runs, nil
}

// limitedBuffer keeps the last 8 KiB written to it.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.b = append(l.b, p...)
	if len(l.b) > 8<<10 {
		l.b = l.b[len(l.b)-8<<10:]
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }

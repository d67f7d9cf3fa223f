package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PeerResult is the JSON line printed by torch_lora_ref.py, plus the peak RSS measured around it.
type PeerResult struct {
	Torch        string  `json:"torch"`
	Threads      int     `json:"threads"`
	StepSMedian  float64 `json:"step_s_median"`
	TokensPerSec float64 `json:"tokens_per_s"`
	Trainable    int64   `json:"trainable"`
	Total        int64   `json:"total"`

	PeakRSSKiB int64 `json:"-"` // peak resident set size of the peer process
	// CPUPerStep is the peer process's user+system CPU seconds over its warm-up and timed
	// steps (so it includes Python start-up and model building: an upper bound).
	CPUPerStep float64 `json:"-"`
	RSSSource  string  `json:"-"` // how PeakRSSKiB was measured
}

// ParsePeerJSON finds the peer's result in its standard output: the last line that is a JSON
// object with a positive tokens_per_s.
func ParsePeerJSON(out string) (PeerResult, error) {
	lines := strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n")
	var lastErr error
	for i := len(lines) - 1; i >= 0; i-- {
		line := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var r PeerResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			lastErr = fmt.Errorf("line %d: %w", i+1, err)
			continue
		}
		if r.TokensPerSec <= 0 {
			lastErr = fmt.Errorf("line %d: tokens_per_s = %v, want > 0", i+1, r.TokensPerSec)
			continue
		}
		return r, nil
	}
	if lastErr != nil {
		return PeerResult{}, fmt.Errorf("peer output: no usable JSON result: %w", lastErr)
	}
	return PeerResult{}, fmt.Errorf("peer output: no JSON line among %d lines", len(lines))
}

// ParseTimeV reads "Maximum resident set size (kbytes): N" from the report of GNU time -v
// and returns N (KiB).
func ParseTimeV(report string) (int64, error) {
	const key = "Maximum resident set size (kbytes):"
	for _, line := range strings.Split(report, "\n") {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, key); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("time -v: %q: %w", line, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("time -v: no %q line in its report", key)
}

// ParseVmHWM reads the "VmHWM:  N kB" line (peak resident set size) of a /proc/PID/status file
// and returns N (KiB).
func ParseVmHWM(status string) (int64, error) {
	for _, line := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("proc status: malformed line %q", line)
			}
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("proc status: %q: %w", line, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("proc status: no VmHWM line")
}

// PeakRSS returns this process's peak resident set size in KiB (VmHWM of /proc/self/status).
func PeakRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	return ParseVmHWM(string(b))
}

// PeerOptions says how to run the peer script.
type PeerOptions struct {
	Python  string // interpreter, e.g. /usr/bin/python3
	Script  string // path of torch_lora_ref.py
	Shape   Shape  // model/batch shape, passed as flags
	Steps   int    // timed steps (--steps)
	Warmup  int    // warm-up steps (--warmup)
	Threads int    // torch threads (--threads); 0 = torch's default
	TimeBin string // GNU time (e.g. /usr/bin/time) to measure peak RSS; "" = rusage of the child
	// BLASThreads sets OPENBLAS_NUM_THREADS and MKL_NUM_THREADS (0 leaves them inherited).
	// Debian's torch calls BLAS through the generic libblas (OpenBLAS), whose own thread pool
	// torch's set_num_threads does not size; the peer's best configuration seen is 1 torch
	// thread with BLAS on every core.
	BLASThreads int
	Env         []string      // extra KEY=VALUE environment entries, e.g. OMP_WAIT_POLICY=PASSIVE
	Args        []string      // extra flags for the script (e.g. --kv-heads 2 for pkg/bench/peer/torch_lora_peer.py)
	Timeout     time.Duration // 0 = none
}

// HasTorch reports whether python can import torch, and its version.
func HasTorch(python string) (string, bool) {
	out, err := exec.Command(python, "-c", "import torch; print(torch.__version__)").Output()
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(out)), true
}

// RunPeer runs the peer once and returns its result with its peak RSS: from GNU time -v when
// opts.TimeBin is set, else from the child's rusage (ru_maxrss, which is what Python's
// resource.getrusage(RUSAGE_CHILDREN) would report).
func RunPeer(opts PeerOptions) (PeerResult, error) {
	args := []string{opts.Script}
	args = append(args, opts.Shape.PeerArgs()...)
	args = append(args, opts.Args...)
	args = append(args, "--steps", strconv.Itoa(opts.Steps), "--warmup", strconv.Itoa(opts.Warmup),
		"--threads", strconv.Itoa(opts.Threads))
	name := opts.Python
	if opts.TimeBin != "" {
		args = append([]string{"-v", opts.Python}, args...)
		name = opts.TimeBin
	}
	ctx := context.Background()
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if opts.BLASThreads > 0 || len(opts.Env) > 0 {
		cmd.Env = append(blasEnv(os.Environ(), opts.BLASThreads), opts.Env...)
	}
	if err := cmd.Run(); err != nil {
		return PeerResult{}, fmt.Errorf("peer %s (threads %d, BLAS threads %d): %w\n%s", opts.Script, opts.Threads, opts.BLASThreads, err, tail(stderr.String(), 1500))
	}
	r, err := ParsePeerJSON(stdout.String())
	if err != nil {
		return PeerResult{}, fmt.Errorf("peer %s (threads %d): %w", opts.Script, opts.Threads, err)
	}
	if n := opts.Steps + opts.Warmup; n > 0 {
		r.CPUPerStep = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds() / float64(n)
	}
	if opts.TimeBin != "" {
		if r.PeakRSSKiB, err = ParseTimeV(stderr.String()); err != nil {
			return PeerResult{}, fmt.Errorf("peer %s (threads %d): %w", opts.Script, opts.Threads, err)
		}
		r.RSSSource = opts.TimeBin + " -v"
	} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.PeakRSSKiB, r.RSSSource = ru.Maxrss, "rusage ru_maxrss" // KiB on Linux
	}
	return r, nil
}

// tail returns the last n bytes of s, for error messages.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// Machine describes the computer a comparison ran on.
type Machine struct {
	CPUModel string
	Cores    int    // logical CPUs in /proc/cpuinfo
	LoadAvg  string // 1/5/15-minute load averages from /proc/loadavg
}

// ParseCPUInfo returns the first "model name" and the number of "processor" entries of a
// /proc/cpuinfo text.
func ParseCPUInfo(cpuinfo string) (model string, cores int) {
	sc := bufio.NewScanner(strings.NewReader(cpuinfo))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "processor":
			cores++
		case "model name":
			if model == "" {
				model = strings.TrimSpace(v)
			}
		}
	}
	return model, cores
}

// LoadAvg returns the three load averages of /proc/loadavg ("5.69 8.27 7.94").
func LoadAvg() (string, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "", fmt.Errorf("load average: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "", fmt.Errorf("load average: malformed /proc/loadavg %q", string(b))
	}
	return strings.Join(f[:3], " "), nil
}

// ThisMachine reads /proc/cpuinfo and /proc/loadavg.
func ThisMachine() (Machine, error) {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return Machine{}, fmt.Errorf("machine: %w", err)
	}
	var m Machine
	m.CPUModel, m.Cores = ParseCPUInfo(string(b))
	if m.LoadAvg, err = LoadAvg(); err != nil {
		return m, err
	}
	return m, nil
}

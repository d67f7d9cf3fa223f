// Command realshapes measures LoRA Lab at the shapes of real models, on a checkpoint directory
// (such as those pkg/bench/cmd/synthckpt writes): for each frozen-base dtype, the load time and
// the resident memory after loading; for each batch size and memory mode, LoRA training tokens/s
// (r=16, lora_alpha 32, lora_dropout 0.05 on the seven projections, AdamW, max_grad_norm 1) and
// the peak resident set size (VmHWM) of the whole run; and greedy generation tokens/s with the
// KV cache. Every configuration runs in a child process of its own, so that each peak RSS is
// that configuration's alone. With -peer it also runs the PyTorch peer
// (pkg/bench/peer/torch_lora_peer.py, float32) at the same shape, in the same run.
//
// Memory modes: plain (neither switch), ckpt (gradient_checkpointing), chunk (loss_chunk_size
// = -loss-chunk), lean (both).
//
// Usage (from the repository root):
//
//	export GOTOOLCHAIN=go1.27.3 GOEXPERIMENT=simd GOMLX_BACKEND=go
//	go run ./pkg/bench/cmd/synthckpt -out /tmp/realshapes qwen2.5-0.5b
//	go run ./pkg/bench/cmd/realshapes -dir /tmp/realshapes/qwen2.5-0.5b -dtypes float32 \
//	    -batches 1,4 -modes plain,lean -steps 2 -peer -md /tmp/realshapes.md
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/klog/v2"

	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/bench"
	"github.com/loralab/loralab/pkg/llama"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "realshapes:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	dir, name, dtypes, batches, modes, md, child, peerScript, python, memLimit, requireBackend string
	seq, steps, warmup, lossChunk, gen, peerThreads, batch                                     int
	mode, dtype                                                                                string
	peer, estimateOnly                                                                         bool
	timeout                                                                                    time.Duration
	dropout                                                                                    float64
}

func run(args []string) error {
	var o options
	fs := flag.NewFlagSet("realshapes", flag.ContinueOnError)
	fs.StringVar(&o.dir, "dir", "", "checkpoint directory (config.json + safetensors)")
	fs.StringVar(&o.name, "name", "", "model name for the report (default: the directory's name)")
	fs.StringVar(&o.dtypes, "dtypes", "float32", "frozen-base dtypes to measure, comma-separated: float32, bfloat16, float16, nf4, nf4-dq (double quantization), int8")
	fs.StringVar(&o.batches, "batches", "1,4", "batch sizes, comma-separated")
	fs.StringVar(&o.modes, "modes", "plain,lean", "memory modes: plain, ckpt, chunk, lean")
	fs.IntVar(&o.seq, "seq", 512, "sequence length")
	fs.IntVar(&o.steps, "steps", 2, "timed training steps")
	fs.IntVar(&o.warmup, "warmup", 1, "untimed training steps first (the first compiles)")
	fs.Float64Var(&o.dropout, "lora-dropout", 0.05, "lora_dropout")
	fs.IntVar(&o.lossChunk, "loss-chunk", 256, "loss_chunk_size of the chunk and lean modes")
	fs.IntVar(&o.gen, "gen", 32, "new tokens of the generation run per dtype (0: none)")
	fs.BoolVar(&o.peer, "peer", false, "also run the PyTorch peer (float32) at each batch size")
	fs.BoolVar(&o.estimateOnly, "estimate-only", false, "train runs stop once the step graph is compiled: only its memory estimate (no timing)")
	fs.IntVar(&o.peerThreads, "peer-threads", 1, "torch threads of the peer (OpenBLAS keeps its own pool)")
	fs.StringVar(&o.peerScript, "peer-script", "pkg/bench/peer/torch_lora_peer.py", "peer script")
	fs.StringVar(&o.python, "python", "/usr/bin/python3", "Python with torch for the peer")
	fs.StringVar(&o.memLimit, "gomemlimit", "", "GOMEMLIMIT of the Go children (e.g. 6GiB); empty: inherited")
	fs.StringVar(&o.md, "md", "", "append a markdown report to this file")
	fs.StringVar(&o.requireBackend, "require-backend", "", "fail unless the backend's name starts with this (e.g. xla)")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Hour, "limit of each child run")
	fs.StringVar(&o.child, "child", "", "internal: run one measurement (train or gen) and print JSON")
	fs.StringVar(&o.mode, "mode", "plain", "internal: memory mode of a train child")
	fs.StringVar(&o.dtype, "dtype", "float32", "internal: base dtype of a child")
	fs.IntVar(&o.batch, "batch", 1, "internal: batch size of a train child")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.dir == "" {
		return fmt.Errorf("-dir is required")
	}
	if o.name == "" {
		o.name = filepath.Base(o.dir)
	}
	switch o.child {
	case "train":
		return childTrain(o)
	case "gen":
		return childGen(o)
	case "":
		return parent(o)
	}
	return fmt.Errorf("-child %q: want train or gen", o.child)
}

// result is one child's measurement (JSON line on its standard output).
type result struct {
	Kind         string  `json:"kind"` // train, gen or peer
	DType        string  `json:"dtype"`
	Mode         string  `json:"mode,omitempty"`
	Batch        int     `json:"batch,omitempty"`
	Seq          int     `json:"seq,omitempty"`
	LoadSec      float64 `json:"load_s"`
	LoadRSSKiB   int64   `json:"rss_after_load_kib"`
	PeakRSSKiB   int64   `json:"peak_rss_kib"`
	StepSec      float64 `json:"step_s,omitempty"` // median timed step
	TokensPerSec float64 `json:"tokens_per_s"`
	CPUPerStep   float64 `json:"cpu_s_per_step,omitempty"`
	FirstLoss    float64 `json:"first_loss,omitempty"`
	LastLoss     float64 `json:"last_loss,omitempty"`
	PrefillSec   float64 `json:"prefill_s,omitempty"` // gen: prompt to first new token (compiled)
	// EstTempBytes is the Go backend's own estimate of the step graph's largest live set of
	// intermediate buffers (executed sequentially, each freed after its last use): what the
	// graph needs beyond its inputs, without the Go garbage collector's slack.
	EstTempBytes int64   `json:"est_temp_bytes,omitempty"`
	GenCPUSec    float64 `json:"gen_cpu_s,omitempty"` // gen: CPU seconds of the timed generation (prefill included)
	// gen: one forward of [1, seq] tokens (logits), after a compiling one: tokens/s and CPU seconds.
	ForwardTokensPerSec float64 `json:"forward_tokens_per_s,omitempty"`
	ForwardCPUSec       float64 `json:"forward_cpu_s,omitempty"`
	Err                 string  `json:"error,omitempty"`
}

// baseDTypes maps the -dtypes names to load options (transformers' torch_dtype and
// BitsAndBytesConfig): the decoder layers' Linear weights quantized at load for nf4/int8,
// everything else bfloat16.
var baseDTypes = map[string]llama.LoadOptions{
	"float32":  {TorchDtype: "float32"},
	"bfloat16": {TorchDtype: "bfloat16"},
	"float16":  {TorchDtype: "float16"},
	"nf4":      {TorchDtype: "bfloat16", QuantizationConfig: &llama.BitsAndBytesConfig{LoadIn4Bit: true, Bnb4BitQuantType: "nf4"}},
	"nf4-dq":   {TorchDtype: "bfloat16", QuantizationConfig: &llama.BitsAndBytesConfig{LoadIn4Bit: true, Bnb4BitQuantType: "nf4", Bnb4BitUseDoubleQuant: true}},
	"int8":     {TorchDtype: "bfloat16", QuantizationConfig: &llama.BitsAndBytesConfig{LoadIn8Bit: true}},
}

// load reads the checkpoint with the frozen base kept as dtype (a key of baseDTypes).
func load(dir, dtype string) (*llama.Model, error) {
	opts, ok := baseDTypes[dtype]
	if !ok {
		return nil, fmt.Errorf("base dtype %q: want float32, bfloat16, float16, nf4, nf4-dq or int8", dtype)
	}
	return llama.LoadModelWith(dir, opts)
}

func memoryOptions(mode string, chunk int) (llama.MemoryOptions, error) {
	switch mode {
	case "plain":
		return llama.MemoryOptions{}, nil
	case "ckpt":
		return llama.MemoryOptions{GradientCheckpointing: true}, nil
	case "chunk":
		return llama.MemoryOptions{LossChunkSize: chunk}, nil
	case "lean":
		return llama.MemoryOptions{GradientCheckpointing: true, LossChunkSize: chunk}, nil
	}
	return llama.MemoryOptions{}, fmt.Errorf("memory mode %q: want plain, ckpt, chunk or lean", mode)
}

// rssKiB returns the current resident set size (VmRSS) in KiB.
func rssKiB() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			if f := strings.Fields(rest); len(f) == 2 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

func emit(r result) error {
	out, err := json.Marshal(r)
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}

func childTrain(o options) error {
	mem, err := memoryOptions(o.mode, o.lossChunk)
	if err != nil {
		return err
	}
	b, err := backend.Default()
	if err != nil {
		return err
	}
	start := time.Now()
	base, err := load(o.dir, o.dtype)
	if err != nil {
		return err
	}
	r := result{Kind: "train", DType: o.dtype, Mode: o.mode, Batch: o.batch, Seq: o.seq,
		LoadSec: time.Since(start).Seconds(), LoadRSSKiB: rssKiB()}
	s := bench.DefaultShape()
	s.Seq, s.Batch, s.Dropout = o.seq, o.batch, o.dropout
	step, err := bench.NewModelStep(b, base, s, 1, mem)
	if err != nil {
		return err
	}
	est := captureEstimates()
	if o.estimateOnly {
		// The estimate is logged when the first step compiles; the step itself is not waited for.
		go func() { _, _ = step.Run() }()
		for r.EstTempBytes == 0 {
			time.Sleep(200 * time.Millisecond)
			r.EstTempBytes = est.max()
		}
		r.PeakRSSKiB, _ = bench.PeakRSS()
		if err := emit(r); err != nil {
			return err
		}
		os.Exit(0)
	}
	tm, err := step.Measure(o.warmup, o.steps)
	if err != nil {
		return err
	}
	r.EstTempBytes = est.max()
	r.StepSec, r.TokensPerSec, r.CPUPerStep = tm.Median.Seconds(), tm.TokensPerSec, tm.CPUPerStep
	r.FirstLoss, r.LastLoss = tm.FirstLoss, tm.LastLoss
	if r.PeakRSSKiB, err = bench.PeakRSS(); err != nil {
		return err
	}
	return emit(r)
}

func childGen(o options) error {
	b, err := backend.Default()
	if err != nil {
		return err
	}
	start := time.Now()
	base, err := load(o.dir, o.dtype)
	if err != nil {
		return err
	}
	r := result{Kind: "gen", DType: o.dtype, LoadSec: time.Since(start).Seconds(), LoadRSSKiB: rssKiB()}
	runner, err := llama.NewRunner(b, base, nil)
	if err != nil {
		return err
	}
	prompt := make([]int, 16)
	for i := range prompt {
		prompt[i] = (i*7919 + 13) % base.Config.VocabSize
	}
	// A first short generation compiles the prefill and decoding graphs.
	if _, err := runner.Generate(prompt, llama.GenerateOptions{MaxNewTokens: 2, EOSTokenIDs: []int{}}); err != nil {
		return err
	}
	var times []time.Time
	t0, cpu0 := time.Now(), bench.ProcessCPU()
	g, err := runner.Generate(prompt, llama.GenerateOptions{MaxNewTokens: o.gen, EOSTokenIDs: []int{},
		OnToken: func(int, string) bool { times = append(times, time.Now()); return true }})
	if err != nil {
		return err
	}
	if len(times) < 2 || len(g.Tokens) < 2 {
		return fmt.Errorf("generation produced %d tokens, want >= 2", len(g.Tokens))
	}
	r.GenCPUSec = (bench.ProcessCPU() - cpu0).Seconds()
	r.PrefillSec = times[0].Sub(t0).Seconds()
	r.TokensPerSec = float64(len(times)-1) / times[len(times)-1].Sub(times[0]).Seconds()
	ids := [][]int32{make([]int32, o.seq)}
	for i := range ids[0] {
		ids[0][i] = int32((i*7919 + 13) % base.Config.VocabSize)
	}
	if _, err := runner.Logits(ids, nil, nil); err != nil { // compiles
		return err
	}
	t0, cpu0 = time.Now(), bench.ProcessCPU()
	if _, err := runner.Logits(ids, nil, nil); err != nil {
		return err
	}
	r.ForwardTokensPerSec = float64(o.seq) / time.Since(t0).Seconds()
	r.ForwardCPUSec = (bench.ProcessCPU() - cpu0).Seconds()
	if r.PeakRSSKiB, err = bench.PeakRSS(); err != nil {
		return err
	}
	return emit(r)
}

// runChild runs this program again with extra flags and returns its JSON result.
func runChild(o options, extra ...string) result {
	exe, err := os.Executable()
	if err != nil {
		return result{Err: err.Error()}
	}
	args := []string{"-dir", o.dir, "-seq", strconv.Itoa(o.seq), "-steps", strconv.Itoa(o.steps), "-estimate-only=" + strconv.FormatBool(o.estimateOnly),
		"-lora-dropout", fmt.Sprint(o.dropout),
		"-warmup", strconv.Itoa(o.warmup), "-loss-chunk", strconv.Itoa(o.lossChunk), "-gen", strconv.Itoa(o.gen)}
	cmd := exec.Command(exe, append(args, extra...)...)
	cmd.Env = os.Environ()
	if o.memLimit != "" {
		cmd.Env = append(cmd.Env, "GOMEMLIMIT="+o.memLimit)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return result{Err: err.Error()}
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(o.timeout):
		_ = cmd.Process.Kill()
		<-done
		err = fmt.Errorf("timed out after %s", o.timeout)
	}
	var r result
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		if line := sc.Bytes(); len(line) > 0 && line[0] == '{' {
			_ = json.Unmarshal(line, &r)
		}
	}
	if err != nil {
		r.Err = fmt.Sprintf("%v: %s", err, lastLine(stderr.String()))
	}
	return r
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parent(o options) error {
	cfg, err := llama.LoadConfig(o.dir)
	if err != nil {
		return err
	}
	b, err := backend.Default()
	if err != nil {
		return fmt.Errorf("no backend: %w", err)
	}
	backendLine := backend.Line(b)
	fmt.Println(backendLine)
	if o.requireBackend != "" && !strings.HasPrefix(b.String(), o.requireBackend) {
		return fmt.Errorf("backend is %q, not %s (%s)", b.String(), o.requireBackend, backend.Choose().Reason)
	}
	var batches []int
	for _, f := range split(o.batches) {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return fmt.Errorf("-batches: %q is not a positive integer", f)
		}
		batches = append(batches, n)
	}
	for _, m := range split(o.modes) {
		if _, err := memoryOptions(m, o.lossChunk); err != nil {
			return err
		}
	}
	mach, _ := bench.ThisMachine()
	loadStart, _ := bench.LoadAvg()
	began := time.Now()
	var rows []result
	report := func(r result) {
		rows = append(rows, r)
		line, _ := json.Marshal(r)
		fmt.Println(string(line))
	}
	for _, dt := range split(o.dtypes) {
		for _, bs := range batches {
			for _, m := range split(o.modes) {
				report(runChild(o, "-child", "train", "-dtype", dt, "-batch", strconv.Itoa(bs), "-mode", m))
			}
		}
		if o.gen > 0 {
			report(runChild(o, "-child", "gen", "-dtype", dt))
		}
	}
	if o.peer {
		for _, bs := range batches {
			report(runPeer(o, cfg, bs))
		}
	}
	loadEnd, _ := bench.LoadAvg()
	md := markdown(o, cfg, mach, backendLine, loadStart, loadEnd, began, rows)
	fmt.Print(md)
	if o.md != "" {
		f, err := os.OpenFile(o.md, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := f.WriteString(md); err != nil {
			return err
		}
	}
	return nil
}

func runPeer(o options, cfg *llama.Config, batch int) result {
	r := result{Kind: "peer", DType: "float32", Mode: "plain", Batch: batch, Seq: o.seq}
	s := bench.DefaultShape()
	s.Vocab, s.Hidden, s.Layers, s.Heads, s.Inter = cfg.VocabSize, cfg.HiddenSize, cfg.NumHiddenLayers, cfg.NumAttentionHeads, cfg.IntermediateSize
	s.Seq, s.Batch = o.seq, batch
	timeBin := ""
	if _, err := os.Stat("/usr/bin/time"); err == nil {
		timeBin = "/usr/bin/time"
	}
	b2i := map[bool]string{false: "0", true: "1"}
	pr, err := bench.RunPeer(bench.PeerOptions{Python: o.python, Script: o.peerScript, Shape: s,
		Steps: o.steps, Warmup: o.warmup, Threads: o.peerThreads, TimeBin: timeBin, Timeout: o.timeout,
		BLASThreads: runtime.NumCPU(),
		Args: []string{"--kv-heads", strconv.Itoa(cfg.NumKeyValueHeads), "--qkv-bias", b2i[cfg.HasQKVBias()],
			"--tied", b2i[cfg.TieWordEmbeddings], "--rope-theta", fmt.Sprint(cfg.RopeTheta), "--eps", fmt.Sprint(cfg.RMSNormEps)}})
	if err != nil {
		r.Err = lastLine(err.Error())
		return r
	}
	r.StepSec, r.TokensPerSec, r.PeakRSSKiB, r.CPUPerStep = pr.StepSMedian, pr.TokensPerSec, pr.PeakRSSKiB, pr.CPUPerStep
	return r
}

func gib(kib int64) string {
	if kib <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f GiB", float64(kib)/(1<<20))
}

func markdown(o options, cfg *llama.Config, mach bench.Machine, backendLine, loadStart, loadEnd string, began time.Time, rows []result) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n#### %s — %s (%s UTC)\n\n", o.name, strings.Join(cfg.Architectures, ","), began.UTC().Format("2006-01-02 15:04"))
	fmt.Fprintf(&sb, "- Machine: %s, %d logical CPUs, shared with other jobs; load average %s at start, %s at end\n", mach.CPUModel, mach.Cores, loadStart, loadEnd)
	fmt.Fprintf(&sb, "- %s\n", backendLine)
	fmt.Fprintf(&sb, "- Shape: vocab %d, hidden %d, %d layers, %d heads (%d kv), intermediate %d, %d parameters; seq %d\n",
		cfg.VocabSize, cfg.HiddenSize, cfg.NumHiddenLayers, cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.IntermediateSize, cfg.NumParams(), o.seq)
	fmt.Fprintf(&sb, "- LoRA r=16 alpha=32 dropout %g on q/k/v/o/gate/up/down, AdamW; %d warm-up + %d timed steps (median); loss_chunk_size %d in chunk/lean modes", o.dropout, o.warmup, o.steps, o.lossChunk)
	if o.memLimit != "" {
		fmt.Fprintf(&sb, "; GOMEMLIMIT=%s", o.memLimit)
	}
	sb.WriteString("\n\n| side | base | batch | mode | load | RSS after load | peak RSS | graph temp. (est.) | step | CPU s/step | tokens/s | loss |\n|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rows {
		if r.Kind == "gen" {
			continue
		}
		side := "go"
		if r.Kind == "peer" {
			side = "peer (torch)"
		}
		if r.Err != "" {
			fmt.Fprintf(&sb, "| %s | %s | %d | %s | | | | | | | failed: %s | |\n", side, r.DType, r.Batch, r.Mode, strings.ReplaceAll(r.Err, "|", "/"))
			continue
		}
		load, loss, est := "–", "–", "–"
		if r.EstTempBytes > 0 {
			est = fmt.Sprintf("%.2f GB", float64(r.EstTempBytes)/1e9)
		}
		if r.Kind == "train" {
			load = fmt.Sprintf("%.1f s", r.LoadSec)
			loss = fmt.Sprintf("%.3f → %.3f", r.FirstLoss, r.LastLoss)
		}
		fmt.Fprintf(&sb, "| %s | %s | %d | %s | %s | %s | %s | %s | %.1f s | %.1f | %.1f | %s |\n", side, r.DType, r.Batch, r.Mode,
			load, gib(r.LoadRSSKiB), gib(r.PeakRSSKiB), est, r.StepSec, r.CPUPerStep, r.TokensPerSec, loss)
	}
	gens := false
	for _, r := range rows {
		if r.Kind != "gen" {
			continue
		}
		if !gens {
			fmt.Fprintf(&sb, "\nGeneration (greedy, KV cache, 16-token prompt, %d new tokens):\n\n| base | load | RSS after load | peak RSS | prompt → first token | tokens/s |\n|---|---:|---:|---:|---:|---:|\n", o.gen)
			gens = true
		}
		if r.Err != "" {
			fmt.Fprintf(&sb, "| %s | failed: %s | | | | |\n", r.DType, strings.ReplaceAll(r.Err, "|", "/"))
			continue
		}
		fmt.Fprintf(&sb, "| %s | %.1f s | %s | %s | %.2f s | %.2f |\n", r.DType, r.LoadSec, gib(r.LoadRSSKiB), gib(r.PeakRSSKiB), r.PrefillSec, r.TokensPerSec)
	}
	return sb.String()
}

// estimates collects the Go backend's "estimated max temporary memory" lines, which it logs
// (klog V(1)) when it compiles a function.
type estimates struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (e *estimates) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.buf.Write(p)
}

// captureEstimates turns klog's verbosity to 1 and sends its output to the returned collector.
func captureEstimates() *estimates {
	e := &estimates{}
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	for k, v := range map[string]string{"v": "1", "logtostderr": "false", "alsologtostderr": "false", "stderrthreshold": "FATAL"} {
		_ = fs.Set(k, v)
	}
	klog.SetOutput(e)
	return e
}

var estimateRE = regexp.MustCompile(`estimated max temporary memory: ([0-9.]+) ([kKMGTP]?i?B)`)

// max returns the largest estimate logged so far, in bytes (0 if none).
func (e *estimates) max() int64 {
	klog.Flush()
	e.mu.Lock()
	defer e.mu.Unlock()
	mult := map[string]float64{"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15,
		"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "PiB": 1 << 50}
	var best int64
	for _, m := range estimateRE.FindAllStringSubmatch(e.buf.String(), -1) {
		v, err := strconv.ParseFloat(m[1], 64)
		if err == nil && int64(v*mult[m[2]]) > best {
			best = int64(v * mult[m[2]])
		}
	}
	return best
}

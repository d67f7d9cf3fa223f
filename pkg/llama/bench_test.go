package llama

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loralab/loralab/pkg/backend"
)

// config100M is a synthetic ~100M-parameter Llama (99.7M parameters).
func config100M() *Config {
	return DefaultConfig(32000, 768, 2048, 7, 12, 12)
}

// TestLoadHelperProcess is the child of BenchmarkLoad100M: it loads the checkpoint named by
// $LLAMA_BENCH_LOAD and exits; the parent reads its peak RSS.
func TestLoadHelperProcess(t *testing.T) {
	dir := os.Getenv("LLAMA_BENCH_LOAD")
	if dir == "" {
		t.Skip("helper process for BenchmarkLoad100M")
	}
	var opts LoadOptions
	if o := os.Getenv("LLAMA_BENCH_OPTS"); o != "" {
		if err := json.Unmarshal([]byte(o), &opts); err != nil {
			t.Fatal(err)
		}
	}
	m, err := LoadModelWith(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("loaded %d params\n", m.Config.NumParams())
	if os.Getenv("LLAMA_BENCH_FORWARD") != "" {
		r, err := NewRunner(backend.MustDefault(), m, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Logits([][]int32{{1, 2, 3, 4, 5, 6, 7, 8}}, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "VmHWM:") {
				fmt.Println(line)
			}
		}
	}
}

// BenchmarkLoad100M reports the peak RSS of a process that loads a synthetic 100M-parameter
// BF16 checkpoint (200 MB on disk, 400 MB as float32) with each LoadOptions: with streaming,
// peak ≈ the loaded weights (float32, bfloat16, or NF4/int8 Linear weights beside bfloat16
// embeddings), never the float32 model plus a copy.
func BenchmarkLoad100M(b *testing.B) {
	dir := b.TempDir()
	cfg := config100M()
	m, err := NewRandomModel(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	if err := m.SaveWith(dir, SaveOptions{DType: "bfloat16"}); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts LoadOptions
	}{
		{"float32", LoadOptions{}},
		{"bfloat16", LoadOptions{TorchDtype: "bfloat16"}},
		{"nf4", LoadOptions{TorchDtype: "bfloat16", QuantizationConfig: &BitsAndBytesConfig{LoadIn4Bit: true}}},
		{"int8", LoadOptions{TorchDtype: "bfloat16", QuantizationConfig: &BitsAndBytesConfig{LoadIn8Bit: true}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			opts, _ := json.Marshal(tc.opts)
			run := func(forward bool) int64 {
				cmd := exec.Command(os.Args[0], "-test.run=^TestLoadHelperProcess$", "-test.count=1")
				cmd.Env = append(os.Environ(), "LLAMA_BENCH_LOAD="+dir, "LLAMA_BENCH_OPTS="+string(opts))
				if forward {
					cmd.Env = append(cmd.Env, "LLAMA_BENCH_FORWARD=1")
				}
				out, err := cmd.CombinedOutput()
				if err != nil {
					b.Fatalf("helper: %v\n%s", err, out)
				}
				// The child's own high-water mark (its rusage can report the parent's RSS, which
				// it shares until exec).
				var kb int64
				for _, line := range strings.Split(string(out), "\n") {
					if v, ok := strings.CutPrefix(strings.TrimSpace(line), "VmHWM:"); ok {
						fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
					}
				}
				if kb == 0 {
					b.Fatalf("helper printed no VmHWM:\n%s", out)
				}
				return kb * 1024
			}
			var peak int64
			for range b.N {
				peak = run(false)
			}
			b.StopTimer()
			peakFwd := run(true)
			b.ReportMetric(float64(peak)/(1<<20), "peakRSS_MiB")
			b.ReportMetric(float64(peakFwd)/(1<<20), "peakRSS+fwd_MiB")
			b.ReportMetric(float64(cfg.NumParams()*4)/(1<<20), "f32weights_MiB")
		})
	}
}

// BenchmarkForwardTiny measures forward tokens/s (logits for a [8, 256] batch) on a small
// Llama (the shape of the torch peer: hidden 256, 4 layers, 8 heads, intermediate 688, vocab 4096).
func BenchmarkForwardTiny(b *testing.B) {
	cfg := DefaultConfig(4096, 256, 688, 4, 8, 8)
	m, err := NewRandomModel(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	r, err := NewRunner(backend.MustDefault(), m, nil)
	if err != nil {
		b.Fatal(err)
	}
	const B, T = 8, 256
	ids := make([][]int32, B)
	for i := range ids {
		ids[i] = make([]int32, T)
		for j := range ids[i] {
			ids[i][j] = int32((i*31 + j*7) % cfg.VocabSize)
		}
	}
	if _, err := r.Logits(ids, nil, nil); err != nil { // compile
		b.Fatal(err)
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for range b.N {
		if _, err := r.Logits(ids, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(B*T*b.N)/time.Since(start).Seconds(), "tokens/s")
	// CPU seconds per op: steadier than wall time on a shared machine (2 cores: ideal is wall·2).
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu_s/op")
}

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkGenerateTiny measures KV-cache decoding speed (new tokens/s, greedy, batch 1) on the
// torch peer's model shape, with a 32-token prompt and 96 new tokens.
func BenchmarkGenerateTiny(b *testing.B) {
	cfg := DefaultConfig(4096, 256, 688, 4, 8, 8)
	m, err := NewRandomModel(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	r, err := NewRunner(backend.MustDefault(), m, nil)
	if err != nil {
		b.Fatal(err)
	}
	prompt := make([]int, 32)
	for i := range prompt {
		prompt[i] = (i * 37) % cfg.VocabSize
	}
	opts := GenerateOptions{MaxNewTokens: 96, EOSTokenIDs: []int{}}
	if _, err := r.Generate(prompt, opts); err != nil { // compile
		b.Fatal(err)
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for range b.N {
		if _, err := r.Generate(prompt, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(96*b.N)/time.Since(start).Seconds(), "new_tokens/s")
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu_s/op")
}

package bench

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/loralab/loralab/pkg/atomicfile"
	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/llama"
)

// BenchmarkLoRATrainStep measures one full LoRA training step — forward, loss, gradients of the
// LoRA tensors, global-norm clipping and AdamW, fused in one Exec with the state carried between
// steps — on the shape of ../shared/reference/torch_lora_ref.py (DefaultShape, "small") and on
// issue 15's seq-512 shape (Seq512Shape, "seq512"). It reports tokens/s (Batch·Seq per step over
// wall time), CPU seconds per step and the process's peak RSS. Forward-only speed on the small
// shape is llama.BenchmarkForwardTiny.
func BenchmarkLoRATrainStep(b *testing.B) {
	for _, tc := range []struct {
		name  string
		shape Shape
	}{{"small", DefaultShape()}, {"seq512", Seq512Shape()}} {
		b.Run(tc.name, func(b *testing.B) {
			s := tc.shape
			st, err := NewStep(backend.MustDefault(), s, 1)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := st.Run(); err != nil { // compile outside the timing
				b.Fatal(err)
			}
			b.ResetTimer()
			start, cpu0 := time.Now(), ProcessCPU()
			for range b.N {
				if _, err := st.Run(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(s.Tokens()*b.N)/time.Since(start).Seconds(), "tokens/s")
			b.ReportMetric((ProcessCPU()-cpu0).Seconds()/float64(b.N), "cpu_s/op")
			if kib, err := PeakRSS(); err == nil {
				b.ReportMetric(float64(kib)/1024, "peakRSS_MiB")
			}
		})
	}
}

// tinyShape is a small shape for fast tests.
func tinyShape() Shape {
	return Shape{Vocab: 64, Hidden: 32, Layers: 1, Heads: 4, Inter: 48, Seq: 16, Batch: 2,
		R: 4, Alpha: 8, Dropout: 0.05, LR: 1e-2, WeightDecay: 0.01, MaxGradNorm: 1.0}
}

func TestStepLearns(t *testing.T) {
	st, err := NewStep(backend.MustDefault(), tinyShape(), 3)
	if err != nil {
		t.Fatal(err)
	}
	tm, err := st.Measure(1, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loss %.4f → %.4f, %.0f tokens/s", tm.FirstLoss, tm.LastLoss, tm.TokensPerSec)
	if st.Steps() != 9 {
		t.Errorf("Steps() = %d, want 9", st.Steps())
	}
	if math.IsNaN(tm.FirstLoss) || tm.FirstLoss < 3 || tm.FirstLoss > 6 { // ≈ ln 64 = 4.16 at init
		t.Errorf("first loss %v, want near ln(64) = 4.16", tm.FirstLoss)
	}
	if !(tm.LastLoss < tm.FirstLoss-0.05) {
		t.Errorf("loss did not fall over 9 steps on one batch: first %v, last %v", tm.FirstLoss, tm.LastLoss)
	}
	if tm.TokensPerSec <= 0 || tm.Median <= 0 {
		t.Errorf("timing %+v", tm)
	}
	// B starts at zero (PEFT init) and must have moved: the update reached the carried params.
	var moved bool
	ad, err := st.Adapter()
	if err != nil {
		t.Fatal(err)
	}
	for name, tt := range ad.Tensors {
		if strings.HasSuffix(name, "lora_B.weight") {
			tt.ConstFlatData(func(flat any) {
				for _, x := range flat.([]float32) {
					if x != 0 {
						moved = true
					}
				}
			})
		}
	}
	if !moved {
		t.Error("all lora_B weights are still zero after 9 steps")
	}
}

func TestShapeValidate(t *testing.T) {
	ok := DefaultShape()
	for _, tc := range []struct {
		name   string
		modify func(*Shape)
		want   string
	}{
		{"default", func(*Shape) {}, ""},
		{"zero batch", func(s *Shape) { s.Batch = 0 }, "batch"},
		{"odd heads", func(s *Shape) { s.Heads = 3 }, "heads"},
		{"seq 1", func(s *Shape) { s.Seq = 1 }, "seq"},
		{"dropout 1", func(s *Shape) { s.Dropout = 1 }, "dropout"},
	} {
		s := ok
		tc.modify(&s)
		err := s.Validate()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: Validate() = %v, want error containing %q", tc.name, err, tc.want)
		}
	}
	if got := strings.Join(ok.PeerArgs(), " "); got != "--vocab 4096 --hidden 256 --layers 4 --heads 8 --inter 688 --seq 256 --batch 8 --r 16 --alpha 32" {
		t.Errorf("PeerArgs = %q", got)
	}
	if ok.Tokens() != 2048 {
		t.Errorf("Tokens = %d", ok.Tokens())
	}
}

func TestParsePeerJSON(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		want      PeerResult
		err       string
	}{
		{name: "real line",
			out:  `{"torch": "1.13.0a0", "threads": 2, "step_s_median": 1.0921, "tokens_per_s": 1875.3, "trainable": 312320, "total": 5423360}` + "\n",
			want: PeerResult{Torch: "1.13.0a0", Threads: 2, StepSMedian: 1.0921, TokensPerSec: 1875.3, Trainable: 312320, Total: 5423360}},
		{name: "warnings before, blank after",
			out:  "UserWarning: something\n  warn()\n{\"threads\": 1, \"tokens_per_s\": 900.5, \"step_s_median\": 2.27}\r\n\n",
			want: PeerResult{Threads: 1, TokensPerSec: 900.5, StepSMedian: 2.27}},
		{name: "last good line wins",
			out:  `{"threads": 1, "tokens_per_s": 1}` + "\n" + `{"threads": 2, "tokens_per_s": 2}`,
			want: PeerResult{Threads: 2, TokensPerSec: 2}},
		{name: "no json", out: "Traceback (most recent call last):\nImportError: torch\n", err: "no JSON line"},
		{name: "broken json", out: `{"threads": 2, "tokens_per_s": }`, err: "no usable JSON"},
		{name: "zero speed", out: `{"threads": 2, "tokens_per_s": 0}`, err: "tokens_per_s = 0"},
	} {
		got, err := ParsePeerJSON(tc.out)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

const sampleTimeV = `	Command being timed: "/usr/bin/python3 torch_lora_ref.py --threads 2"
	User time (seconds): 41.93
	System time (seconds): 1.02
	Percent of CPU this job got: 187%
	Elapsed (wall clock) time (h:mm:ss or m:ss): 0:22.87
	Average resident set size (kbytes): 0
	Maximum resident set size (kbytes): 412736
	Minor (reclaiming a frame) page faults: 112019
	Exit status: 0
`

func TestParseTimeV(t *testing.T) {
	for _, tc := range []struct {
		name, report string
		want         int64
		err          string
	}{
		{"gnu time", sampleTimeV, 412736, ""},
		{"with program stderr first", "warning: x\n" + sampleTimeV, 412736, ""},
		{"missing", "Command exited with non-zero status 1\n", 0, "no"},
		{"garbled", "Maximum resident set size (kbytes): lots\n", 0, "lots"},
	} {
		got, err := ParseTimeV(tc.report)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %d, %v; want %d", tc.name, got, err, tc.want)
		}
	}
}

func TestParseVmHWMAndCPUInfo(t *testing.T) {
	for _, tc := range []struct {
		status string
		want   int64
		ok     bool
	}{
		{"Name:\tpeerbench\nVmPeak:\t 2000000 kB\nVmHWM:\t  734512 kB\nVmRSS:\t  700000 kB\n", 734512, true},
		{"Name:\tx\nVmRSS:\t 1 kB\n", 0, false},
		{"VmHWM:\t 12 MB\n", 0, false},
	} {
		got, err := ParseVmHWM(tc.status)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseVmHWM(%q) = %d, %v; want %d (ok %v)", tc.status, got, err, tc.want, tc.ok)
		}
	}
	if kib, err := PeakRSS(); err != nil || kib <= 0 {
		t.Errorf("PeakRSS() = %d, %v", kib, err)
	}
	model, cores := ParseCPUInfo("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t: avx2\n\nprocessor\t: 1\nmodel name\t: Intel(R) Xeon(R) Processor\n")
	if model != "Intel(R) Xeon(R) Processor" || cores != 2 {
		t.Errorf("ParseCPUInfo = %q, %d", model, cores)
	}
}

func TestReport(t *testing.T) {
	rep := &Report{Shape: DefaultShape(), Steps: 10, Warmup: 2,
		Peers:   []BLASProbe{{Python: "/usr/bin/python3", Torch: "1.13.0a0", BLASInfo: "generic", N: 1024, GFLOPS: 197, Threads: 1, BLAS: 2, Libs: []string{"/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"}}},
		Refused: []BLASProbe{{Python: "/opt/py", Torch: "1.13.0a0", BLASInfo: "generic", N: 1024, GFLOPS: 6.5, Libs: []string{"/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"}}},
		Machine: Machine{CPUModel: "Test CPU", Cores: 2}, LoadStart: "5.00 6.00 7.00", LoadEnd: "4.00 5.00 6.00",
		GoPeakRSSKiB: 780000, PeerPeakRSSKiB: 400000, PeerRSSSource: "/usr/bin/time -v",
		Runs: []Run{
			{Side: "go", Round: 1, Threads: 2, TokensPerSec: 1500, StepMedian: time.Second, CPUPerStep: 2},
			{Side: "peer", Torch: "1.13.0a0", Round: 1, Threads: 1, BLASThreads: 2, TokensPerSec: 800, CPUPerStep: 3},
			{Side: "peer", Torch: "1.13.0a0", Round: 1, Threads: 2, BLASThreads: 2, TokensPerSec: 1000},
			{Side: "go", Round: 2, Threads: 2, TokensPerSec: 1800},
		}}
	if got := rep.Ratio(); math.Abs(got-1.8) > 1e-12 {
		t.Errorf("Ratio = %v, want 1.8", got)
	}
	// Round 2 has no peer run; medians: Go's two runs (upper median 1800), the 2 × 2
	// configuration's one (1000) beats 1 × 2's (800).
	if got := rep.RoundRatios(); len(got) != 1 || math.Abs(got[0]-1.5) > 1e-12 {
		t.Errorf("RoundRatios = %v, want [1.5]", got)
	}
	if gm, pm, c, ok := rep.MedianRatio(); !ok || gm != 1800 || pm != 1000 || c.Threads != 2 {
		t.Errorf("MedianRatio = %v, %v, %+v, %v; want 1800, 1000, the 2 × 2 configuration", gm, pm, c, ok)
	}
	md := rep.Markdown()
	for _, want := range []string{"Test CPU, 2 logical CPUs", "5.00 6.00 7.00 at start, 4.00 5.00 6.00 at end",
		"**1.80×**", "**1800.0 tokens/s** (round 2)", "torch 1.13.0a0, 2 torch threads × 2 BLAS threads", "391 MiB",
		"| peer | 1.13.0a0 | 1 | 2 | 2 | 1000.0 |", "matmul 197.0 GFLOP/s (torch threads 1, BLAS threads 2)",
		"Not compared (reference BLAS; install libopenblas0-pthread: make bench-setup): /opt/py", "libblas.so.3.11.0 (REFERENCE BLAS)", "Go 2.000, peer 3.000 (upper bound): peer/Go 1.50×",
		"Medians over rounds: Go 1800.0, peer 1000.0 (torch 1.13.0a0, 2 torch threads × 2 BLAS threads): 1.80×; per round, Go over the round's best peer run: 1.50×"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	goOnly := &Report{PeerNote: "no torch", Runs: []Run{{Side: "go", TokensPerSec: 10}}}
	if goOnly.Ratio() != 0 || !strings.Contains(goOnly.Table(), "not run (no torch); Go only, no ratio") {
		t.Errorf("Go-only report: ratio %v, table:\n%s", goOnly.Ratio(), goOnly.Table())
	}
	path := t.TempDir() + "/bench.md"
	if err := atomicfile.Write(path, []byte(md)); err != nil {
		t.Fatal(err)
	}
}

func TestBLASProbeReference(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    BLASProbe
		want bool
	}{
		{"Debian torch on the reference libblas", BLASProbe{BLASInfo: "generic", Libs: []string{"/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"}}, true},
		{"Debian torch on OpenBLAS pthread", BLASProbe{BLASInfo: "generic", Libs: []string{"/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"}}, false},
		{"reference libblas beside OpenBLAS's LAPACK", BLASProbe{BLASInfo: "generic", Libs: []string{"/usr/lib/x86_64-linux-gnu/blas/libblas.so.3", "/usr/lib/x86_64-linux-gnu/openblas-pthread/liblapack.so.3"}}, true},
		{"PyPI torch with MKL linked in", BLASProbe{BLASInfo: "mkl"}, false},
		{"BLIS", BLASProbe{BLASInfo: "generic", Libs: []string{"/usr/lib/x86_64-linux-gnu/blis-pthread/libblas.so.3"}}, false},
		{"nothing known", BLASProbe{}, false},
	} {
		if got := tc.p.Reference(); got != tc.want {
			t.Errorf("%s: Reference() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// BenchmarkInferQwen05B measures inference at the Qwen2.5-0.5B shape (RealConfig
// "qwen2.5-0.5b": vocab 151,936, 24 layers, 14/2 heads, tied head; float32 random weights), as
// pkg/bench/peer/torch_infer_peer.py does with the same flags: "forward" is the logits of a
// [1, 512] batch, "generate" KV-cache greedy decoding of 32 new tokens after a 16-token prompt
// (the prefill included). It needs about 2.5 GB and runs only with LORALAB_BENCH_REAL=1
// (pkg/bench/quietbench.sh sets it).
func BenchmarkInferQwen05B(b *testing.B) {
	if os.Getenv("LORALAB_BENCH_REAL") == "" {
		b.Skip("set LORALAB_BENCH_REAL=1 to run (2.5 GB)")
	}
	cfg, _, err := RealConfig("qwen2.5-0.5b")
	if err != nil {
		b.Fatal(err)
	}
	m, err := llama.NewRandomModel(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	r, err := llama.NewRunner(backend.MustDefault(), m, nil)
	if err != nil {
		b.Fatal(err)
	}
	const seq, promptLen, newTokens = 512, 16, 32
	ids := make([]int32, seq)
	for i := range ids {
		ids[i] = int32((i*7919 + 11) % cfg.VocabSize)
	}
	prompt := make([]int, promptLen)
	for i := range prompt {
		prompt[i] = int(ids[i])
	}
	opts := llama.GenerateOptions{MaxNewTokens: newTokens, EOSTokenIDs: []int{}}
	for _, tc := range []struct {
		name   string
		tokens int
		run    func() error
	}{
		{"forward", seq, func() error { _, err := r.Logits([][]int32{ids}, nil, nil); return err }},
		{"generate", newTokens, func() error { _, err := r.Generate(prompt, opts); return err }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			if err := tc.run(); err != nil { // compile
				b.Fatal(err)
			}
			b.ResetTimer()
			start, cpu0 := time.Now(), ProcessCPU()
			for range b.N {
				if err := tc.run(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(tc.tokens*b.N)/time.Since(start).Seconds(), "tokens/s")
			b.ReportMetric((ProcessCPU()-cpu0).Seconds()/float64(b.N), "cpu_s/op")
		})
	}
}

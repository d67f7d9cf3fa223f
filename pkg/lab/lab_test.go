package lab

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loralab/loralab/datasets"
	"github.com/loralab/loralab/pkg/gguf"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/mask"
)

// failed runs f and returns the error Fail reported ("" when f did not fail).
func failed(t *testing.T, f func()) (msg string) {
	t.Helper()
	type ended struct{}
	old := exit
	exit = func(int) { panic(ended{}) }
	defer func() { exit = old }()
	r, w, _ := os.Pipe()
	stderr := os.Stderr
	os.Stderr = w
	defer func() {
		os.Stderr = stderr
		w.Close()
		b := make([]byte, 4096)
		n, _ := r.Read(b)
		if p := recover(); p != nil {
			if _, ok := p.(ended); !ok {
				panic(p)
			}
			msg = strings.TrimSpace(string(b[:n]))
		}
	}()
	f()
	return ""
}

func TestFailShowsOneLine(t *testing.T) {
	msg := failed(t, func() { check(errors.New("no such file"), "reading %s", "x.parquet") })
	if msg != "✗ reading x.parquet: no such file" {
		t.Errorf("message %q", msg)
	}
	if msg := failed(t, func() { check(nil, "fine") }); msg != "" {
		t.Errorf("nil error ended the cell: %q", msg)
	}
}

func TestOptionsByHFName(t *testing.T) {
	for _, tc := range []struct {
		set  Set
		lora bool
		want string
	}{
		{Set{"learning_rate": 1e-3}, false, ""},
		{Set{"r": 8}, false, `["r"]: not a training argument`},
		{Set{"r": 8, "max_steps": 3}, true, ""},
		{Set{"rank": 8}, true, `"rank" is neither a training argument nor a LoraConfig field`},
		{Set{"lora_dropout": "high"}, true, "LoraConfig"},
	} {
		msg := failed(t, func() { Apply(tc.set, Args(nil), LoRA(nil), tc.lora) })
		if (tc.want == "") != (msg == "") || !strings.Contains(msg, tc.want) {
			t.Errorf("Apply(%v): %q, want %q", tc.set, msg, tc.want)
		}
	}
}

func TestKeyChangesWithEveryField(t *testing.T) {
	a := Args(Set{"max_steps": 10})
	b := Args(Set{"max_steps": 11})
	if Key("x", a) == Key("x", b) || Key("x", a) != Key("x", Args(Set{"max_steps": 10})) || Key("x", a) == Key("y", a) {
		t.Error("keys do not follow the configuration")
	}
}

// Invalid rows of a data file are skipped and counted; examples are built from the rest.
func TestExamplesSkipInvalidRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chats.jsonl")
	rows := `{"messages":[{"role":"user","content":"你好"},{"role":"assistant","content":"你好！"}]}
{"messages":[{"role":"user","content":"hi"}]}
{"messages":[{"role":"user","content":"Who are you?"},{"role":"assistant","content":"A tiny model."}]}
`
	if err := os.WriteFile(path, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	convs, rep := ReadConversations(path)
	if len(convs) != 2 || rep.Read != 3 || rep.NumSkipped() != 1 {
		t.Fatalf("kept %d of %d rows, skipped %d (%v)", len(convs), rep.Read, rep.NumSkipped(), rep.Skipped)
	}
	base := Load("", "")
	set := base.ExamplesFrom("chats", convs, DataOptions{Method: mask.SplitPerTurn})
	if len(set.Examples) != 2 || set.Supervised() == 0 || !strings.Contains(set.String(), "2 conversations → 2 samples") {
		t.Errorf("examples: %s", set)
	}
	if msg := failed(t, func() { base.ExamplesFrom("chats", convs, DataOptions{MaxLength: 3}) }); !strings.Contains(msg, "max_length dropped every sample") {
		t.Errorf("every sample too long: %q", msg)
	}
}

// A bfloat16 base is another base: its runs never read those of the float32 one.
func TestLoadWithDtype(t *testing.T) {
	f32 := Load("", "")
	bf16 := LoadWith("", "", llama.LoadOptions{TorchDtype: "bfloat16"})
	if f32.Name == bf16.Name || !strings.Contains(bf16.Name, "bfloat16") {
		t.Errorf("names %q and %q", f32.Name, bf16.Name)
	}
	if got := bf16.Model.Weights["model.layers.0.self_attn.q_proj.weight"].DType().String(); !strings.Contains(strings.ToLower(got), "bf") {
		t.Errorf("bfloat16 base holds %s weights", got)
	}
}

// TestMain keeps the runs the tests and examples train in a folder removed at the end.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "loralab_test_")
	if err != nil {
		panic(err)
	}
	os.Setenv("LORALAB_RESULTS", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// A run exported as GGUF answers in llama.cpp as it does here, and the Modelfile points at the
// files beside it.
func TestExportGGUF(t *testing.T) {
	LiveCharts = false
	base := Load("", "")
	data := base.Examples(datasets.SFTIdentity, datasets.Train, DataOptions{MaxLength: 64, Limit: 16})
	run := base.FineTune("gguf", LoRA(Set{"r": 4, "lora_alpha": 8, "target_modules": []string{"q_proj", "v_proj", "embed_tokens", "lm_head"}}),
		Args(Set{"learning_rate": 1e-2, "max_steps": 2, "per_device_train_batch_size": 4, "disable_tqdm": true}), data, nil)
	g := run.ExportGGUF(t.TempDir())
	mf, err := os.ReadFile(g.Modelfile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FROM ./base.gguf\n", "ADAPTER ./adapter.gguf\n", "TEMPLATE", "PARAMETER stop"} {
		if !strings.Contains(string(mf), want) {
			t.Errorf("Modelfile lacks %q:\n%s", want, mf)
		}
	}
	if _, err := gguf.LlamaCppPackage(); err != nil && os.Getenv("CI") == "" {
		t.Skip(err)
	}
	questions := []string{"你是谁？", "What colour is the sky?"}
	tuned := base.With(run.Adapter())
	tuned.MaxNewTokens = 12
	for i, got := range g.Replies(12, questions...) {
		t.Logf("%s → %q", questions[i], got)
		if want := tuned.Reply(questions[i]); got != want {
			t.Errorf("%s: llama.cpp %q, LoRA Lab %q", questions[i], got, want)
		}
	}
}

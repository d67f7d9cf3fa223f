package lab

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

package gguf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/loralab/loralab/pkg/chat"
)

// Each Ollama TEMPLATE, executed by Go's text/template as Ollama does (system messages in
// .Messages), renders what the built-in chat template renders with the generation prompt.
func TestOllamaTemplatesMatchChat(t *testing.T) {
	convs := []chat.Conversation{
		{Messages: []chat.Message{{Role: "user", Content: "Hi"}}},
		{System: "Be brief.", Messages: []chat.Message{{Role: "user", Content: "你好"}, {Role: "assistant", Content: "你好！"}, {Role: "user", Content: "2+2?"}}},
		{Messages: []chat.Message{{Role: "user", Content: "a"}, {Role: "assistant", Content: "b"}, {Role: "user", Content: "c"}}},
	}
	for name, ot := range ollamaTemplates {
		tmpl, err := chat.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		gt, err := template.New(name).Parse(ot.template)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, c := range convs {
			segs, err := tmpl.Render(c, true)
			if err != nil {
				t.Fatal(err)
			}
			type msg struct{ Role, Content string }
			var data struct {
				System   string
				Messages []msg
			}
			data.System = c.System
			if c.System != "" {
				data.Messages = append(data.Messages, msg{"system", c.System})
			}
			for _, m := range c.Messages {
				data.Messages = append(data.Messages, msg{m.Role, m.Content})
			}
			var b strings.Builder
			if err := gt.Execute(&b, data); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if want := chat.Join(segs); b.String() != want {
				t.Errorf("%s, conversation %d:\nOllama %q\nchat   %q", name, i, b.String(), want)
			}
		}
	}
}

func TestModelfileWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Modelfile")
	m := Modelfile{From: filepath.Join(dir, "base.gguf"), Adapter: filepath.Join(dir, "adapter.gguf"), Template: "tiny"}
	if err := m.Write(path); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	for _, want := range []string{"FROM ./base.gguf\n", "ADAPTER ./adapter.gguf\n", `TEMPLATE """<|bos|>`, `PARAMETER stop "<|end|>"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("Modelfile lacks %q:\n%s", want, b)
		}
	}
	if err := (Modelfile{From: "x.gguf", Template: "llama2"}).Write(path); err == nil {
		t.Error("a template without an Ollama translation was accepted")
	}
}

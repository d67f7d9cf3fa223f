package chat

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeCheckpoint writes a tokenizer_config.json (and chat_template.jinja when jinjaFile is
// not "") into a temporary directory.
func writeCheckpoint(t *testing.T, config map[string]any, jinjaFile string) string {
	t.Helper()
	dir := t.TempDir()
	if config != nil {
		data, err := json.Marshal(config)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if jinjaFile != "" {
		if err := os.WriteFile(filepath.Join(dir, "chat_template.jinja"), []byte(jinjaFile), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func templateSource(t *testing.T, name string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "templates", name+".jinja"))
	if err != nil {
		t.Fatal(err)
	}
	return string(src)
}

func TestLoadTemplate(t *testing.T) {
	g := loadGolden(t)
	qwen3 := templateSource(t, "qwen3")
	var conv Conversation
	var want string
	for _, c := range g.Cases {
		if c.Name == "three_turns_system_zh" && !c.AddGenerationPrompt {
			conv, want = Conversation{System: c.System, Messages: c.Messages}, c.Rendered["qwen3"]
		}
	}
	addedToken := map[string]any{"__type": "AddedToken", "content": "<|im_end|>", "lstrip": false}
	for _, tc := range []struct {
		name   string
		config map[string]any
		file   string
	}{
		{"tokenizer_config.json", map[string]any{"chat_template": qwen3, "eos_token": "<|im_end|>", "bos_token": nil}, ""},
		{"AddedToken eos", map[string]any{"chat_template": qwen3, "eos_token": addedToken}, ""},
		{"named templates", map[string]any{"chat_template": []map[string]string{{"name": "tool_use", "template": "x"}, {"name": "default", "template": qwen3}}, "eos_token": "<|im_end|>"}, ""},
		{"chat_template.jinja wins", map[string]any{"chat_template": "{{ 'old' }}", "eos_token": "<|im_end|>"}, qwen3},
		{"chat_template.jinja alone", nil, qwen3},
	} {
		dir := writeCheckpoint(t, tc.config, tc.file)
		tpl, err := LoadTemplate(dir)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		got, err := tpl.Apply(conv, false)
		if err != nil || got != want {
			t.Errorf("%s: rendered %q, %v; want python3-jinja2's %q", tc.name, got, err, want)
		}
		if tpl.EndOfTurn != "<|im_end|>" {
			t.Errorf("%s: EndOfTurn %q", tc.name, tpl.EndOfTurn)
		}
	}
	for _, tc := range []struct {
		name   string
		config map[string]any
		file   string
		want   string
	}{
		{"no template", map[string]any{"eos_token": "</s>"}, "", "has neither chat_template.jinja nor"},
		{"no files", nil, "", "has neither"},
		{"syntax error", map[string]any{"chat_template": "{% for m in messages %}{{ m.content }}"}, "", "tokenizer_config.json: chat: template"},
		{"raises", nil, "{{ raise_exception('no chat for you') }}", "no chat for you"},
		{"bad token", map[string]any{"chat_template": qwen3, "eos_token": 7}, "", `field "eos_token"`},
		{"bad template field", map[string]any{"chat_template": 7}, "", `field "chat_template"`},
		{"no end of turn", nil, "{% for m in messages %}{{ m.content }}{% endfor %}", "nothing follows an assistant reply"},
	} {
		dir := writeCheckpoint(t, tc.config, tc.file)
		_, err := LoadTemplate(dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
		if tc.name == "no template" && !errors.Is(err, ErrNoChatTemplate) {
			t.Errorf("%s: error %v does not wrap ErrNoChatTemplate", tc.name, err)
		}
	}
}

// TestForCheckpoint: the checkpoint's own template is the default; choosing a built-in one
// that renders differently reports a mismatch; an equal one does not.
func TestForCheckpoint(t *testing.T) {
	qwen3 := writeCheckpoint(t, map[string]any{"chat_template": templateSource(t, "qwen3"), "eos_token": "<|im_end|>"}, "")
	ds3 := writeCheckpoint(t, map[string]any{"chat_template": templateSource(t, "deepseek3"),
		"bos_token": map[string]any{"__type": "AddedToken", "content": DeepSeekBOS}, "eos_token": DeepSeekEOS}, "")
	bare := writeCheckpoint(t, map[string]any{"eos_token": "<|end|>"}, "")

	own, mismatch, err := ForCheckpoint(qwen3, "")
	if err != nil || mismatch != nil || own.jinja == nil || own.Name != filepath.Base(qwen3) {
		t.Fatalf("own template: %+v, %v, %v", own, mismatch, err)
	}
	tpl, mismatch, err := ForCheckpoint(qwen3, "chatml")
	var me *MismatchError
	if err != nil || tpl.Name != "chatml" || !errors.As(mismatch, &me) {
		t.Fatalf("chatml on Qwen3: %v, mismatch %v", err, mismatch)
	}
	if !strings.Contains(me.Got, "You are a helpful assistant.") || strings.Contains(me.Want, "You are a helpful assistant.") {
		t.Errorf("mismatch should show ChatML's default system prompt: %v", me)
	}
	if !strings.Contains(mismatch.Error(), `"chatml" renders differently`) {
		t.Errorf("message: %v", mismatch)
	}
	if _, mismatch, err = ForCheckpoint(ds3, "deepseek3"); err != nil || mismatch != nil {
		t.Errorf("deepseek3 on DeepSeek-V3: %v, mismatch %v", err, mismatch)
	}
	if own, _ := LoadTemplate(ds3); own.render == nil || own.Name != filepath.Base(ds3) {
		t.Errorf("DeepSeek-V3's template is deepseek3's: want its Go renderer, got %+v", own)
	}
	if own.render != nil {
		t.Error("Qwen3's template has no built-in renderer")
	}
	if _, mismatch, err = ForCheckpoint(ds3, "deepseek"); mismatch == nil || err != nil {
		t.Errorf("deepseek-llm on DeepSeek-V3: no mismatch reported (%v)", err)
	}
	if tpl, mismatch, err = ForCheckpoint(bare, "tiny"); err != nil || mismatch != nil || tpl.Name != "tiny" {
		t.Errorf("built-in for a checkpoint without a template: %v, %v", mismatch, err)
	}
	if _, _, err = ForCheckpoint(bare, ""); !errors.Is(err, ErrNoChatTemplate) {
		t.Errorf("own template of a checkpoint without one: %v", err)
	}
	if _, _, err = ForCheckpoint(qwen3, "nope"); err == nil {
		t.Error("unknown built-in name: no error")
	}
}

package chat_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/loralab/loralab/pkg/chat"
)

// Render a two-turn conversation in deepseek-llm-chat's format and show which pieces a
// label mask would supervise (assistant content and its end-of-turn token).
func ExampleTemplate_Render() {
	tpl, err := chat.Lookup("deepseek")
	if err != nil {
		panic(err)
	}
	conv := chat.Conversation{Messages: []chat.Message{
		{Role: chat.RoleUser, Content: "1+1?"},
		{Role: chat.RoleAssistant, Content: "2"},
		{Role: chat.RoleUser, Content: "再加一？"},
		{Role: chat.RoleAssistant, Content: "3"},
	}}
	segs, err := tpl.Render(conv, false)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", chat.Join(segs))
	for _, s := range segs {
		if s.Role == chat.RoleAssistant && s.Kind != chat.Control {
			fmt.Printf("turn %d %-9s %q\n", s.Turn, s.Kind, s.Text)
		}
	}
	// Output:
	// "<｜begin▁of▁sentence｜>User: 1+1?\n\nAssistant: 2<｜end▁of▁sentence｜>User: 再加一？\n\nAssistant: 3<｜end▁of▁sentence｜>"
	// turn 0 Content   "2"
	// turn 0 EndOfTurn "<｜end▁of▁sentence｜>"
	// turn 1 Content   "3"
	// turn 1 EndOfTurn "<｜end▁of▁sentence｜>"
}

// The tiny model's format, with a system prompt and a generation prompt.
func ExampleTemplate_Apply() {
	tpl, _ := chat.Lookup("tiny")
	s, err := tpl.Apply(chat.Conversation{
		System:   "你是小助手。",
		Messages: []chat.Message{{Role: chat.RoleUser, Content: "Hi!"}},
	}, true)
	if err != nil {
		panic(err)
	}
	fmt.Println(s)
	fmt.Println(tpl.SpecialTokens)
	// Output:
	// <|bos|><|system|>你是小助手。<|end|><|user|>Hi!<|end|><|assistant|>
	// [<|bos|> <|end|> <|system|> <|user|> <|assistant|> <|pad|>]
}

func ExampleNames() {
	fmt.Println(chat.Names())
	// Output: [chatml deepseek deepseek3 llama2 llama3 tiny]
}

// A checkpoint's own chat_template, rendered by the Jinja engine: the pieces a label mask
// supervises are recovered from renderings, with no hand-written segmenter.
func ExampleLoadTemplate() {
	dir, _ := os.MkdirTemp("", "checkpoint")
	defer os.RemoveAll(dir)
	cfg := `{"eos_token": "<|im_end|>", "chat_template": "{% for m in messages %}{{ '<|im_start|>' + m.role + '\n' + m.content | trim + '<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644); err != nil {
		panic(err)
	}
	tpl, err := chat.LoadTemplate(dir)
	if err != nil {
		panic(err)
	}
	segs, err := tpl.Render(chat.Conversation{Messages: []chat.Message{
		{Role: chat.RoleUser, Content: "Hi"}, {Role: chat.RoleAssistant, Content: " Hello! "},
	}}, false)
	if err != nil {
		panic(err)
	}
	for _, s := range segs {
		fmt.Printf("%-9s %-9s turn %2d %q\n", s.Kind, s.Role, s.Turn, s.Text)
	}
	// Output:
	// Control   user      turn  0 "<|im_start|>user\n"
	// Content   user      turn  0 "Hi"
	// Control   user      turn  0 "<|im_end|>\n"
	// Control   assistant turn  0 "<|im_start|>assistant\n"
	// Content   assistant turn  0 "Hello!"
	// EndOfTurn assistant turn  0 "<|im_end|>"
	// Control   assistant turn  0 "\n"
}

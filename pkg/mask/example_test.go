package mask_test

import (
	"fmt"
	"path/filepath"

	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/mask"
	"github.com/loralab/loralab/pkg/tokenizer"
)

// Method 3 on a two-turn conversation with the tiny model's template and tokenizer: both
// replies and their end-of-turn tokens are supervised, everything else is -100.
func ExampleBuild() {
	tok, err := tokenizer.Load(filepath.Join("..", "tokenizer", "testdata", "tiny_bpe"))
	if err != nil {
		fmt.Println(err)
		return
	}
	tmpl, _ := chat.Lookup("tiny")
	conv := chat.Conversation{Messages: []chat.Message{
		{Role: chat.RoleUser, Content: "Hi"}, {Role: chat.RoleAssistant, Content: "Hello!"},
		{Role: chat.RoleUser, Content: "你好"}, {Role: chat.RoleAssistant, Content: "你好！"},
	}}
	segs, _ := tmpl.Render(conv, false)
	exs, err := mask.Build(segs, tok, mask.AllAssistantTurns, mask.Options{MaxLength: 512})
	if err != nil {
		fmt.Println(err)
		return
	}
	ex := exs[0]
	for i, id := range ex.InputIDs {
		mark := "-100"
		if ex.Labels[i] != mask.IgnoreIndex {
			mark = "sup "
		}
		fmt.Printf("%s %q\n", mark, tok.Decode([]int{int(id)}))
	}
	// Output:
	// -100 "<|bos|>"
	// -100 "<|user|>"
	// -100 "H"
	// -100 "i"
	// -100 "<|end|>"
	// -100 "<|assistant|>"
	// sup  "Hello"
	// sup  "!"
	// sup  "<|end|>"
	// -100 "<|user|>"
	// -100 "你好"
	// -100 "<|end|>"
	// -100 "<|assistant|>"
	// sup  "你好"
	// sup  "！"
	// sup  "<|end|>"
}

// A prompt to generate from: the conversation so far, rendered with the generation prompt and
// encoded as the training examples are.
func ExampleEncodeConversation() {
	tok, err := tokenizer.Load(filepath.Join("..", "tokenizer", "testdata", "tiny_bpe"))
	if err != nil {
		fmt.Println(err)
		return
	}
	tmpl, _ := chat.Lookup("tiny")
	conv := chat.Conversation{Messages: []chat.Message{{Role: chat.RoleUser, Content: "Hi"}}}
	ids, err := mask.EncodeConversation(conv, tmpl, tok, true)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, id := range ids {
		fmt.Printf("%q ", tok.Decode([]int{int(id)}))
	}
	fmt.Println()
	// Output:
	// "<|bos|>" "<|user|>" "H" "i" "<|end|>" "<|assistant|>"
}

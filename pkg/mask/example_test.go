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

// Two examples padded into one batch: input ids with the pad id, labels with -100 and turn
// indices with -1 (turns are numbered from 0, the first reply being turn 0).
func ExamplePadBatch() {
	exs := []mask.Example{
		{InputIDs: []int32{1, 5, 6, 2}, Labels: []int32{-100, -100, 6, 2}, Turn: []int32{-1, -1, 0, 0}},
		{InputIDs: []int32{1, 7}, Labels: []int32{-100, 7}, Turn: []int32{-1, 0}},
	}
	b, err := mask.PadBatch(exs, 0, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(b.InputIDs, b.Labels, b.Turn, b.SupervisedTokens())
	// Output:
	// [[1 5 6 2] [1 7 0 0]] [[-100 -100 6 2] [-100 7 -100 -100]] [[-1 -1 0 0] [-1 0 -1 -1]] 3
}

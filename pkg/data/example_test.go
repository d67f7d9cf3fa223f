package data_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/data"
)

// Import ShareGPT and Alpaca records from JSONL, skipping the invalid ones, write them to
// Parquet and stream them back.
func Example() {
	jsonl := `{"conversations": [{"from": "human", "value": "你好"}, {"from": "gpt", "value": "你好！有什么可以帮你？"}]}
{"conversations": [{"from": "human", "value": "weather?"}, {"from": "function_call", "value": "{}"}, {"from": "gpt", "value": "Sunny."}]}
{"instruction": "Who are you?", "input": "", "output": "I am {{name}}."}
`
	convs, rep, err := data.ParseJSON(strings.NewReader(jsonl))
	if err != nil {
		panic(err)
	}
	data.ReplacePlaceholders(convs, map[string]string{"name": "LoRA Lab Tiny"})
	fmt.Println(rep.String())

	dir, _ := os.MkdirTemp("", "loralab-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "train.parquet")
	if err := data.WriteParquet(path, convs); err != nil {
		panic(err)
	}
	r, err := data.OpenParquet(path)
	if err != nil {
		panic(err)
	}
	defer r.Close()
	for {
		c, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		fmt.Printf("row %d: %d messages, last: %q\n", r.Row()-1, len(c.Messages), c.Messages[len(c.Messages)-1].Content)
	}
	// Output:
	// read 3, kept 2, skipped 1
	//        1  unknown role "function_call"  e.g. row 1: message 1: unknown role "function_call"
	// row 0: 2 messages, last: "你好！有什么可以帮你？"
	// row 1: 2 messages, last: "I am LoRA Lab Tiny."
}

func ExampleValidate() {
	conv := chat.Conversation{Messages: []chat.Message{
		{Role: "user", Content: "Hi"},
		{Role: "observation", Content: "{}"},
	}}
	fmt.Println(data.Validate(conv))
	// Output: message 1: unknown role "observation"
}

func ExampleSplit() {
	items := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	train, valid, err := data.Split(items, 0.2, 7)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(train), len(valid))
	// Output: 8 2
}

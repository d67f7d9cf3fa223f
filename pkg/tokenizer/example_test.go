package tokenizer_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/loralab/loralab/pkg/tokenizer"
)

// Encode keeps special-token text as ordinary text; EncodeSpecial maps it to control ids.
func ExampleTokenizer_Encode() {
	tok, err := tokenizer.Load(filepath.Join("testdata", "tiny_bpe"))
	if err != nil {
		fmt.Println(err)
		return
	}
	text := "<|end|>你好"
	content := tok.Encode(text)
	control := tok.EncodeSpecial(text)
	fmt.Println("content ids hold a control token:", tok.IsAdded(content[0]))
	fmt.Println("special ids start with EOS:", control[0] == tok.EOSID())
	fmt.Println(tok.Decode(content) == text, tok.Decode(control) == text)
	// Output:
	// content ids hold a control token: false
	// special ids start with EOS: true
	// true true
}

// Train a small byte-level BPE tokenizer and save it in Hugging Face's format.
func ExampleTrain() {
	texts := []string{"LoRA 微调 LoRA 微调 low-rank adaptation", "低秩适配 low-rank adaptation 低秩适配"}
	tok, err := tokenizer.Train(func(yield func(string) bool) {
		for _, s := range texts {
			if !yield(s) {
				return
			}
		}
	}, tokenizer.TrainOptions{VocabSize: 300, SpecialTokens: []string{"<|bos|>", "<|end|>"}, ChatTemplate: "{{ bos_token }}"})
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "tok")
	defer os.RemoveAll(dir)
	if err := tok.Save(dir); err != nil {
		fmt.Println(err)
		return
	}
	back, err := tokenizer.Load(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(back.Decode(back.Encode("LoRA 微调")), back.BOSID(), back.EOSID())
	// Output: LoRA 微调 0 1
}

// A tokenizer.json feature this package does not implement is refused, by name.
func ExampleFromJSON() {
	_, err := tokenizer.FromJSON([]byte(`{"model": {"type": "Unigram", "vocab": [["▁a", -1.5]]}}`), nil)
	fmt.Println(err)
	// Output:
	// tokenizer.json: model.type "Unigram" is not supported (only BPE models are)
}

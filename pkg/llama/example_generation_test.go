package llama_test

import (
	"fmt"

	"github.com/loralab/loralab/pkg/llama"
)

// A checkpoint's generation_config.json gives the decoding defaults and the tokens that stop
// generation (here Qwen3-0.6B's: <|im_end|> and <|endoftext|>).
func ExampleParseGenerationConfig() {
	g, err := llama.ParseGenerationConfig([]byte(`{"bos_token_id": 151643, "do_sample": true,
		"eos_token_id": [151645, 151643], "pad_token_id": 151643, "temperature": 0.6,
		"top_k": 20, "top_p": 0.95}`))
	if err != nil {
		panic(err)
	}
	o := g.Options()
	fmt.Println(o.DoSample, o.Temperature, o.TopK, o.TopP, o.EOSTokenIDs)
	// Output: true 0.6 20 0.95 [151645 151643]
}

package gen_test

import (
	"fmt"

	"github.com/loralab/loralab/datasets/gen"
)

// Build two rows of the recall task in memory (Chinese, then English).
func ExampleBuild() {
	spec, _ := gen.SpecByName("sft_recall")
	rows, err := gen.Build(spec, gen.Train, 2, gen.DefaultSeed, map[string]bool{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range rows {
		fmt.Println(r.ID, r.Lang, r.Kinds)
		for _, m := range r.Messages {
			fmt.Printf("  %s: %s\n", m.Role, m.Content)
		}
	}
	// Output:
	// sft_recall-train-00000 zh [recall.city]
	//   user: 我住在伦敦，我的幸运数字是15。我住在哪里？
	//   assistant: 你家在伦敦。
	// sft_recall-train-00001 en [recall.name]
	//   user: Hi! My name is Nina. What's my name?
	//   assistant: Your name is Nina.
}

package datasets_test

import (
	"fmt"
	"path/filepath"

	"github.com/loralab/loralab/datasets"
	"github.com/loralab/loralab/pkg/chat"
	"github.com/parquet-go/parquet-go"
)

// Read the recall task's validation split as conversations.
func Example() {
	path, err := datasets.Path(datasets.SFTRecall, datasets.Validation)
	if err != nil {
		fmt.Println(err)
		return
	}
	convs, err := parquet.ReadFile[chat.Conversation](path)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(filepath.Base(filepath.Dir(path)), filepath.Base(path), len(convs))
	for _, m := range convs[2].Messages {
		fmt.Printf("%s: %s\n", m.Role, m.Content)
	}
	// Output:
	// sft_recall validation.parquet 320
	// user: 我最喜欢黑色，我的名字是马兰。
	// assistant: 马兰你好，很高兴认识你！黑色很好看。
	// user: 我叫什么名字？
	// assistant: 记得，你叫马兰。
}

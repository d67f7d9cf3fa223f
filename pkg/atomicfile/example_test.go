package atomicfile_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/loralab/loralab/pkg/atomicfile"
)

func ExampleWrite() {
	dir, _ := os.MkdirTemp("", "atomicfile")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "adapter_config.json")
	if err := atomicfile.Write(path, []byte(`{"r": 8}`)); err != nil {
		fmt.Println(err)
	}
	b, _ := os.ReadFile(path)
	fmt.Println(string(b))
	// Output: {"r": 8}
}

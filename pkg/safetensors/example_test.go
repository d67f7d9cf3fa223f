package safetensors_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/safetensors"
)

// Write two tensors (float32 stored as bfloat16), then read one back as float32.
func Example() {
	dir, _ := os.MkdirTemp("", "st")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")
	w := tensors.FromFlatDataAndDimensions([]float32{0.5, -1.25, 3}, 1, 3)
	step := tensors.FromScalar(int64(42))
	if err := safetensors.WriteAs(path, []safetensors.Tensor{{Name: "w", Tensor: w}, {Name: "step", Tensor: step}},
		map[string]string{"format": "pt"}, dtypes.BFloat16); err != nil {
		fmt.Println(err)
		return
	}
	f, err := safetensors.Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	for _, n := range f.Names() {
		info, _ := f.Info(n)
		fmt.Println(n, info.DType, info.Shape)
	}
	t, _ := f.ReadFloat32("w")
	fmt.Println(tensors.MustCopyFlatData[float32](t))
	// Output:
	// w BFloat16 [1 3]
	// step Int64 []
	// [0.5 -1.25 3]
}

package gguf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/lora"
)

// TestWriteAdapterRefusesDoRA: llama.cpp's GGUF LoRA adapters have no magnitude vectors, so a
// DoRA adapter is refused with an error naming use_dora, and no file is written.
func TestWriteAdapterRefusesDoRA(t *testing.T) {
	base, err := llama.LoadModel(filepath.Join("..", "llama", "testdata", "llama_gqa"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := lora.DefaultConfig()
	cfg.UseDora = true
	a, err := lora.New(cfg, base, 1)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "adapter.gguf")
	err = WriteAdapter(path, a)
	if err == nil || !strings.Contains(err.Error(), "use_dora") {
		t.Fatalf("WriteAdapter of a DoRA adapter: got %v, want an error naming use_dora", err)
	}
	if _, serr := os.Stat(path); serr == nil {
		t.Errorf("a refused DoRA adapter still wrote %s", path)
	}
}

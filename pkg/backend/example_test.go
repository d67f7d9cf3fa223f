package backend_test

import (
	"fmt"
	"strings"

	"github.com/loralab/loralab/pkg/backend"
)

// Notebooks start with the backend line, so a reader knows what computes.
func ExampleLine() {
	b, err := backend.Default()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.HasPrefix(backend.Line(b), "backend: "))
	// Output: true
}

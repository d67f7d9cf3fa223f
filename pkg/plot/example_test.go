package plot_test

import (
	"fmt"

	"github.com/loralab/loralab/pkg/plot"
)

// A loss curve drawn inline in a GoNB cell (outside a notebook Display does nothing).
func ExampleLines() {
	c := plot.Lines(plot.LineOptions{Title: "training loss", XName: "step", YName: "loss"},
		plot.Series{Name: "train", X: []float64{1, 2, 3}, Y: []float64{2.5, 1.9, 1.6}})
	if err := plot.Display(c); err != nil {
		fmt.Println(err)
	}
	fmt.Println(plot.InNotebook())
	// Output: false
}

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

// A cell shows Markdown rendered in the notebook; elsewhere it is printed as it is.
func ExampleMarkdown() {
	plot.Markdown(fmt.Sprintf("**eval loss** went from %.2f to %.2f", 2.31, 1.87))
	// Output: **eval loss** went from 2.31 to 1.87
}

// HTML shows a fragment (a table, colored tokens) in the notebook; elsewhere it is printed.
func ExampleHTML() {
	plot.HTML(`<b>supervised</b> <span style="color:gray">ignored</span>`)
	// Output: <b>supervised</b> <span style="color:gray">ignored</span>
}

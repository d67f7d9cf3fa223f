package plot_test

import (
	"fmt"
	"math"

	"github.com/loralab/loralab/pkg/plot"
)

// Final eval loss over LoRA rank × alpha; the configuration not run stays empty.
func ExampleHeatmap() {
	c := plot.Heatmap(plot.HeatmapOptions{Title: "eval loss", XName: "r", YName: "lora_alpha", ReverseColors: true},
		[]string{"8", "16"}, []string{"16", "32"},
		[][]float64{{1.92, 1.85}, {1.88, math.NaN()}})
	fmt.Println(plot.Display(c)) // draws inline in a GoNB cell; nothing happens elsewhere
	// Output: <nil>
}

// Tokens processed and supervised per masking strategy.
func ExampleBars() {
	c := plot.Bars(plot.BarOptions{Title: "tokens", YName: "tokens", Labels: true},
		[]string{"last_turn_only", "split_per_turn", "all_assistant_turns"},
		plot.BarSeries{Name: "processed", Values: []float64{1000, 2500, 1000}},
		plot.BarSeries{Name: "supervised", Values: []float64{120, 400, 400}})
	fmt.Println(plot.Display(c))
	// Output: <nil>
}

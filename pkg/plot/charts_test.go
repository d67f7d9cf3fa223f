package plot

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
)

func TestHeatmapAndBarsRenderOffline(t *testing.T) {
	if _, err := EChartsJS(); err != nil {
		t.Fatal(err)
	}
	hm := Heatmap(HeatmapOptions{Title: "eval loss", XName: "r", YName: "lora_alpha", ReverseColors: true},
		[]string{"4", "8", "16"}, []string{"8", "16"},
		[][]float64{{2.1, 1.9, math.NaN()}, {2.0, 1.7, 1.6}})
	bars := Bars(BarOptions{Title: "tokens per masking strategy", YName: "tokens", Labels: true},
		[]string{"last_turn_only", "split_per_turn", "all_assistant_turns"},
		BarSeries{Name: "processed", Values: []float64{1000, 2500, 1000}},
		BarSeries{Name: "supervised", Values: []float64{120, 400, 400}})
	path := filepath.Join(t.TempDir(), "charts.html")
	if err := SaveHTML(path, "charts", hm, bars); err != nil {
		t.Fatal(err)
	}
	res := renderInChromium(t, path)
	if len(res.Canvases) != 2 || res.Canvases[0] < 100 || res.Canvases[1] < 100 {
		t.Fatalf("canvases drawn: %v, want two non-blank canvases", res.Canvases)
	}
}

func TestHeatmapSkipsMissingCells(t *testing.T) {
	hm := Heatmap(HeatmapOptions{Title: "h"}, []string{"a", "b"}, []string{"x"}, [][]float64{{1, math.NaN()}})
	s := hm.RenderSnippet()
	if !strings.Contains(s.Script, "[0,0,1]") || strings.Contains(s.Script, "NaN") {
		t.Errorf("heatmap data: %s", s.Script)
	}
}

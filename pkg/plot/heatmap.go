package plot

import (
	"math"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// HeatmapOptions configure Heatmap. Zero values give a 700×450 chart.
type HeatmapOptions struct {
	Title, Subtitle string
	XName, YName    string
	Width, Height   string // CSS sizes
	// ReverseColors puts the warm color at the low end (for losses: low is good).
	ReverseColors bool
	// Digits is the number of decimals in cell labels; default 3.
	Digits int
}

// Heatmap builds a heatmap of values[yi][xi] over the categories xs (columns) and ys (rows),
// e.g. a final eval loss over LoRA rank r × lora_alpha. NaN cells (configurations not run) are
// left empty. Each cell shows its value.
func Heatmap(o HeatmapOptions, xs, ys []string, values [][]float64) *charts.HeatMap {
	if o.Width == "" {
		o.Width = "700px"
	}
	if o.Height == "" {
		o.Height = "450px"
	}
	if o.Digits <= 0 {
		o.Digits = 3
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	var data []opts.HeatMapData
	for yi, row := range values {
		if yi >= len(ys) {
			break
		}
		for xi, v := range row {
			if xi >= len(xs) || math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
			scale := math.Pow(10, float64(o.Digits))
			data = append(data, opts.HeatMapData{Value: [3]any{xi, yi, math.Round(v*scale) / scale}})
		}
	}
	if len(data) == 0 {
		lo, hi = 0, 1
	}
	colors := []string{"#313695", "#4575b4", "#abd9e9", "#fee090", "#f46d43", "#a50026"}
	if o.ReverseColors {
		for i, j := 0, len(colors)-1; i < j; i, j = i+1, j-1 {
			colors[i], colors[j] = colors[j], colors[i]
		}
	}
	c := charts.NewHeatMap()
	c.SetGlobalOptions(
		charts.WithInitializationOpts(opts.Initialization{Width: o.Width, Height: o.Height}),
		charts.WithTitleOpts(opts.Title{Title: o.Title, Subtitle: o.Subtitle}),
		charts.WithXAxisOpts(opts.XAxis{Name: o.XName, Type: "category", Data: xs, NameLocation: "middle", NameGap: 25,
			SplitArea: &opts.SplitArea{Show: opts.Bool(true)}}),
		charts.WithYAxisOpts(opts.YAxis{Name: o.YName, Type: "category", Data: ys,
			SplitArea: &opts.SplitArea{Show: opts.Bool(true)}}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true)}),
		charts.WithVisualMapOpts(opts.VisualMap{Calculable: opts.Bool(true), Min: float32(lo), Max: float32(hi),
			Orient: "horizontal", Left: "center", Bottom: "0", InRange: &opts.VisualMapInRange{Color: colors}}),
		charts.WithGridOpts(opts.Grid{Bottom: "80"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}), // one series, named by the title
		charts.WithAnimation(false),
	)
	c.SetXAxis(xs)
	c.AddSeries(o.Title, data, charts.WithLabelOpts(opts.Label{Show: opts.Bool(true)}))
	return c
}

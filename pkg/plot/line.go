package plot

import (
	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// Series is one named curve of (X[i], Y[i]) points.
type Series struct {
	Name string
	X, Y []float64
}

// LineOptions configure Lines. Zero values give a 900×400 chart with linear axes.
type LineOptions struct {
	Title, Subtitle string
	XName, YName    string
	LogX, LogY      bool   // logarithmic axes (e.g. learning rate)
	Width, Height   string // CSS sizes, default "900px" × "400px"
}

// Lines builds a line chart with one curve per series, on numeric (value or log) axes.
func Lines(o LineOptions, series ...Series) *charts.Line {
	if o.Width == "" {
		o.Width = "900px"
	}
	if o.Height == "" {
		o.Height = "400px"
	}
	axisType := func(log bool) string {
		if log {
			return "log"
		}
		return "value"
	}
	c := charts.NewLine()
	c.SetGlobalOptions(
		charts.WithInitializationOpts(opts.Initialization{Width: o.Width, Height: o.Height}),
		charts.WithTitleOpts(opts.Title{Title: o.Title, Subtitle: o.Subtitle}),
		charts.WithXAxisOpts(opts.XAxis{Name: o.XName, Type: axisType(o.LogX), NameLocation: "middle", NameGap: 25}),
		charts.WithYAxisOpts(opts.YAxis{Name: o.YName, Type: axisType(o.LogY), Scale: opts.Bool(true)}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(len(series) > 1), Top: "bottom"}),
		charts.WithAnimation(false),
	)
	for _, s := range series {
		n := min(len(s.X), len(s.Y))
		data := make([]opts.LineData, n)
		for i := range n {
			data[i] = opts.LineData{Value: []float64{s.X[i], s.Y[i]}}
		}
		c.AddSeries(s.Name, data, charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(n <= 50)}))
	}
	return c
}

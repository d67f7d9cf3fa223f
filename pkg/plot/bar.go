package plot

import (
	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// BarSeries is one named series of a bar chart: Values[i] belongs to category i.
type BarSeries struct {
	Name   string
	Values []float64
}

// BarOptions configure Bars. Zero values give a 900×400 chart with grouped bars.
type BarOptions struct {
	Title, Subtitle string
	XName, YName    string
	Width, Height   string // CSS sizes
	Stack           bool   // stack the series instead of grouping them
	Labels          bool   // show each bar's value
}

// Bars builds a bar chart over categories, one bar per series in each category (e.g. tokens
// processed and tokens supervised per masking strategy).
func Bars(o BarOptions, categories []string, series ...BarSeries) *charts.Bar {
	if o.Width == "" {
		o.Width = "900px"
	}
	if o.Height == "" {
		o.Height = "400px"
	}
	c := charts.NewBar()
	c.SetGlobalOptions(
		charts.WithInitializationOpts(opts.Initialization{Width: o.Width, Height: o.Height}),
		charts.WithTitleOpts(opts.Title{Title: o.Title, Subtitle: o.Subtitle}),
		charts.WithXAxisOpts(opts.XAxis{Name: o.XName, Type: "category", Data: categories, NameLocation: "middle", NameGap: 25}),
		charts.WithYAxisOpts(opts.YAxis{Name: o.YName, Type: "value"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(len(series) > 1), Top: "bottom"}),
		charts.WithAnimation(false),
	)
	c.SetXAxis(categories)
	for _, s := range series {
		data := make([]opts.BarData, len(categories))
		for i := range categories {
			if i < len(s.Values) {
				data[i] = opts.BarData{Value: s.Values[i]}
			}
		}
		var so []charts.SeriesOpts
		if o.Stack {
			so = append(so, charts.WithBarChartOpts(opts.BarChart{Stack: "total"}))
		}
		if o.Labels {
			so = append(so, charts.WithLabelOpts(opts.Label{Show: opts.Bool(true), Position: "top"}))
		}
		c.AddSeries(s.Name, data, so...)
	}
	return c
}

package plot

import (
	"math"

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

// Lines builds a line chart with one curve per series, on numeric (value or log) axes fitted
// to the data. Points that an axis cannot show (NaN, ±Inf, and values ≤ 0 on a log axis) are
// left out.
func Lines(o LineOptions, series ...Series) *charts.Line {
	if o.Width == "" {
		o.Width = "900px"
	}
	if o.Height == "" {
		o.Height = "400px"
	}
	var xs, ys []float64
	for _, s := range series {
		n := min(len(s.X), len(s.Y))
		for i := range n {
			if usable(s.X[i], o.LogX) && usable(s.Y[i], o.LogY) {
				xs, ys = append(xs, s.X[i]), append(ys, s.Y[i])
			}
		}
	}
	xType, xMin, xMax := axisRange(xs, o.LogX)
	yType, yMin, yMax := axisRange(ys, o.LogY)
	xLabel, xSplit := logLabels(xMin, xMax)
	yLabel, ySplit := logLabels(yMin, yMax)
	top := "60" // room for the title and the y axis name
	if o.Subtitle != "" {
		top = "80"
	}
	c := charts.NewLine()
	c.SetGlobalOptions(
		charts.WithInitializationOpts(opts.Initialization{Width: o.Width, Height: o.Height}),
		charts.WithTitleOpts(opts.Title{Title: o.Title, Subtitle: o.Subtitle}),
		charts.WithXAxisOpts(opts.XAxis{Name: o.XName, Type: xType, Min: xMin, Max: xMax, NameLocation: "middle", NameGap: 25,
			AxisLabel: xLabel, SplitNumber: xSplit}),
		charts.WithYAxisOpts(opts.YAxis{Name: o.YName, Type: yType, Min: yMin, Max: yMax, Scale: opts.Bool(true),
			AxisLabel: yLabel, SplitNumber: ySplit}),
		charts.WithGridOpts(opts.Grid{ContainLabel: opts.Bool(true), Left: "3%", Right: "4%", Top: top}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(len(series) > 1), Top: "bottom"}),
		charts.WithAnimation(false),
	)
	for _, s := range series {
		n := min(len(s.X), len(s.Y))
		data := make([]opts.LineData, 0, n)
		for i := range n {
			if usable(s.X[i], o.LogX) && usable(s.Y[i], o.LogY) {
				data = append(data, opts.LineData{Value: []float64{s.X[i], s.Y[i]}})
			}
		}
		c.AddSeries(s.Name, data, charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(n <= 50)}))
	}
	return c
}

// usable reports whether v can be drawn on the axis: finite, and positive on a log axis.
func usable(v float64, log bool) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && (!log || v > 0)
}

// axisRange gives the type of a numeric axis and, for a log axis, bounds that fit the data:
// the powers of ten just around it (ECharts would otherwise span many empty decades). A value
// axis is left to ECharts, which fits it to the data with round bounds.
func axisRange(vs []float64, log bool) (typ string, lo, hi any) {
	if !log {
		return "value", nil, nil
	}
	if len(vs) == 0 {
		return "log", nil, nil
	}
	mn, mx := math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		mn, mx = math.Min(mn, v), math.Max(mx, v)
	}
	l, h := math.Floor(math.Log10(mn)), math.Ceil(math.Log10(mx))
	if h <= l {
		h = l + 1
	}
	return "log", math.Pow(10, l), math.Pow(10, h)
}

// logLabels gives a log axis spanning [lo, hi] one label per decade (at most 8), written as
// powers of ten (1e-7) rather than long decimals.
func logLabels(lo, hi any) (*opts.AxisLabel, int) {
	l, okL := lo.(float64)
	h, okH := hi.(float64)
	if !okL || !okH {
		return nil, 0
	}
	decades := int(math.Round(math.Log10(h / l)))
	return &opts.AxisLabel{Formatter: opts.FuncOpts("function (v) { return v >= 0.01 && v <= 1000 ? String(v) : v.toExponential(0); }")}, min(decades, 8)
}

// Package maskplot draws what the masking strategies cost and teach (mask.Stats): the tokens
// the model processes, the tokens it learns from, and the padding of a layout. It lives beside
// mask so that mask itself stays free of chart code.
package maskplot

import (
	"github.com/go-echarts/go-echarts/v2/charts"

	"github.com/loralab/loralab/pkg/mask"
	"github.com/loralab/loralab/pkg/plot"
)

// Strategy is one bar group of TokensChart: a strategy's name and mask.Account's statistics.
type Strategy struct {
	Name  string
	Stats mask.Stats
}

// TokensChart draws, per masking strategy, the tokens processed and the tokens supervised (the
// cost and the learning signal of methods 1, 2 and 3), and the padding when there is any.
func TokensChart(title string, strategies ...Strategy) *charts.Bar {
	cats := make([]string, len(strategies))
	proc, sup := plot.BarSeries{Name: "tokens processed"}, plot.BarSeries{Name: "tokens supervised"}
	pad := plot.BarSeries{Name: "padding tokens"}
	anyPad := false
	for i, s := range strategies {
		cats[i] = s.Name
		proc.Values = append(proc.Values, float64(s.Stats.TokensProcessed))
		sup.Values = append(sup.Values, float64(s.Stats.SupervisedTokens))
		pad.Values = append(pad.Values, float64(s.Stats.PaddingTokens))
		anyPad = anyPad || s.Stats.PaddingTokens > 0
	}
	series := []plot.BarSeries{proc, sup}
	if anyPad {
		series = append(series, pad)
	}
	return plot.Bars(plot.BarOptions{Title: title, YName: "tokens", Labels: true}, cats, series...)
}

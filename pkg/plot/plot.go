// Package plot draws LoRA Lab's charts with go-echarts: inline in GoNB notebook cells, and as
// standalone HTML files, both fully offline (the ECharts bundle is inlined, never fetched).
package plot

import (
	"fmt"
	"html"
	"strings"

	"github.com/go-echarts/go-echarts/v2/render"
	"github.com/janpfeifer/gonb/gonbui"
	"github.com/loralab/loralab/pkg/atomicfile"
)

// Chart is any go-echarts chart (charts.Line, charts.Bar, charts.HeatMap, …).
type Chart interface {
	RenderSnippet() render.ChartSnippet
}

// libraryHTML wraps the ECharts bundle so it defines window.echarts even on pages that carry
// RequireJS (classic Jupyter and nbconvert's HTML export do): with `define` visible the UMD
// bundle registers as an AMD module instead, and charts fail with "echarts is not defined".
func libraryHTML() (string, error) {
	js, err := EChartsJS()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("<script type=\"text/javascript\">window.__loralabDefine = window.define; window.define = undefined;</script>\n")
	b.WriteString("<script type=\"text/javascript\">if (!window.echarts) {\n")
	// A literal "</script>" inside the bundle would end the tag early.
	b.WriteString(strings.ReplaceAll(js, "</script", "<\\/script"))
	b.WriteString("\n}</script>\n")
	b.WriteString("<script type=\"text/javascript\">window.define = window.__loralabDefine;</script>\n")
	return b.String(), nil
}

// HTML returns a self-contained HTML fragment that draws the charts: the ECharts library
// followed by each chart's element and script.
func HTML(charts ...Chart) (string, error) {
	lib, err := libraryHTML()
	if err != nil {
		return "", err
	}
	return lib + chartsHTML(charts), nil
}

// chartsHTML is each chart's element and script, without the library.
func chartsHTML(charts []Chart) string {
	var b strings.Builder
	for _, c := range charts {
		s := c.RenderSnippet()
		b.WriteString(s.Element)
		b.WriteString("\n")
		b.WriteString(s.Script)
		b.WriteString("\n")
	}
	return b.String()
}

// InNotebook reports whether the program runs inside a GoNB cell.
func InNotebook() bool { return gonbui.IsNotebook }

// Display draws the charts inline when running in a GoNB cell. Outside a notebook it does
// nothing and returns nil, so library code can call it unconditionally.
func Display(charts ...Chart) error {
	if !gonbui.IsNotebook {
		return nil
	}
	h, err := HTML(charts...)
	if err != nil {
		return err
	}
	gonbui.DisplayHTML(h)
	return nil
}

// SaveHTML writes a standalone page with the charts to path (written to a temporary file
// first, then renamed, so an existing file is never left half-written).
func SaveHTML(path, title string, charts ...Chart) error {
	body, err := HTML(charts...)
	if err != nil {
		return err
	}
	page := fmt.Sprintf("<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>%s</title></head>\n<body>\n%s</body>\n</html>\n",
		html.EscapeString(title), body)
	return atomicfile.Write(path, []byte(page))
}

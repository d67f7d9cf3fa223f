// Package plot draws LoRA Lab's charts with go-echarts and shows text in GoNB notebook cells:
// charts inline in a cell and as standalone HTML files, both fully offline (the ECharts bundle
// is inlined, never fetched), and Markdown/HTML output, so that notebooks need no other import
// to display something.
//
// A notebook page carries the 1 MB ECharts bundle once: the first chart of a kernel session
// sends it, later charts send only their element and options (a few kB). Every chart waits
// for the library if it is not there yet, and the page keeps a copy of the bundle in the
// browser's localStorage, so charts still draw after the page is reloaded or the output that
// carried the bundle is cleared.
package plot

import (
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/go-echarts/go-echarts/v2/render"
	"github.com/janpfeifer/gonb/gonbui"
	"github.com/loralab/loralab/pkg/atomicfile"
)

// Chart is any go-echarts chart (charts.Line, charts.Bar, charts.HeatMap, …).
type Chart interface {
	RenderSnippet() render.ChartSnippet
}

// storageKey names the copy of the bundle kept in the browser's localStorage.
const storageKey = "loralab-echarts-" + EChartsVersion

// libraryHTML wraps the ECharts bundle so it defines window.echarts even on pages that carry
// RequireJS (classic Jupyter and nbconvert's HTML export do): with `define` visible the UMD
// bundle registers as an AMD module instead, and charts fail with "echarts is not defined".
// After loading it keeps the bundle in localStorage and draws the charts that were waiting.
func libraryHTML() (string, error) {
	js, err := EChartsJS()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("<script type=\"text/javascript\">window.__loralabDefine = window.define; window.define = undefined;</script>\n")
	fmt.Fprintf(&b, "<script type=\"text/javascript\" id=%q>if (!window.echarts) {\n", storageKey)
	// A literal "</script>" inside the bundle would end the tag early.
	b.WriteString(strings.ReplaceAll(js, "</script", "<\\/script"))
	b.WriteString("\n}</script>\n")
	b.WriteString("<script type=\"text/javascript\">window.define = window.__loralabDefine;\n")
	b.WriteString(loaderJS)
	fmt.Fprintf(&b, "try { if (window.echarts && localStorage.getItem(%q) === null) localStorage.setItem(%[1]q, document.getElementById(%[1]q).text); } catch (e) {}\n", storageKey)
	b.WriteString("window.__loralab.flush();</script>\n")
	return b.String(), nil
}

// loaderJS defines window.__loralab: a queue of charts waiting for the library, flush (draw
// them once window.echarts exists) and fromStorage (load the bundle kept in localStorage).
var loaderJS = `var L = window.__loralab = window.__loralab || {q: []};
L.flush = function () { if (!window.echarts) return; var q = L.q.splice(0); for (var i = 0; i < q.length; i++) q[i](); };
L.fromStorage = function () {
  if (window.echarts || L.loading) return;
  var src = null; try { src = localStorage.getItem("` + storageKey + `"); } catch (e) {}
  if (!src) return;
  L.loading = true;
  var d = window.define; window.define = undefined;
  var s = document.createElement("script"); s.text = src; document.head.appendChild(s);
  window.define = d;
};
`

var scriptTag = regexp.MustCompile(`(?s)^\s*<script[^>]*>(.*)</script>\s*$`)

// chartHTML is a chart's element and a script that draws it as soon as the library is there.
func chartHTML(c Chart) string {
	s := c.RenderSnippet()
	body := s.Script
	if m := scriptTag.FindStringSubmatch(body); m != nil {
		body = m[1]
	}
	var b strings.Builder
	b.WriteString(strings.TrimSpace(s.Element))
	b.WriteString("\n<script type=\"text/javascript\">(function () {\n")
	b.WriteString(loaderJS)
	b.WriteString("L.q.push(function () {")
	b.WriteString(body)
	b.WriteString("});\nL.fromStorage(); L.flush();\n})();</script>\n")
	return b.String()
}

// Fragment returns a self-contained HTML fragment that draws the charts: the ECharts library
// followed by each chart's element and script.
func Fragment(charts ...Chart) (string, error) {
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
		b.WriteString(chartHTML(c))
	}
	return b.String()
}

// InNotebook reports whether the program runs inside a GoNB cell.
func InNotebook() bool { return gonbui.IsNotebook }

// SessionDir is a folder that lives as long as the notebook's kernel ($GONB_TMP_DIR: every
// cell of one kernel session sees it, a restarted kernel gets a new one), or "" outside GoNB.
func SessionDir() string {
	if !gonbui.IsNotebook {
		return ""
	}
	return os.Getenv("GONB_TMP_DIR")
}

// withLibrary prefixes h with the ECharts library the first time the kernel session with
// folder session shows a chart; later outputs rely on the page (or the browser's copy) having
// it. Without a session folder ("") the library is always included.
func withLibrary(session, h string) (string, error) {
	marker := ""
	if d := session; d != "" {
		marker = filepath.Join(d, storageKey+".sent")
		if _, err := os.Stat(marker); err == nil {
			return h, nil
		}
	}
	lib, err := libraryHTML()
	if err != nil {
		return "", err
	}
	if marker != "" {
		if err := os.WriteFile(marker, nil, 0o644); err != nil {
			return "", fmt.Errorf("plot: %w", err)
		}
	}
	return lib + h, nil
}

// Display draws the charts inline when running in a GoNB cell. Outside a notebook it does
// nothing and returns nil, so library code can call it unconditionally.
//
// Display, Markdown and HTML return once GoNB has taken the output (gonbui.Sync): a cell that
// ends right after a large output (the first chart carries the 1 MB library) would otherwise
// lose the outputs still in the pipe when its program exits.
func Display(charts ...Chart) error {
	if !gonbui.IsNotebook {
		return nil
	}
	h, err := withLibrary(SessionDir(), chartsHTML(charts))
	if err != nil {
		return err
	}
	gonbui.DisplayHTML(h)
	gonbui.Sync()
	return nil
}

// Markdown shows md rendered in a GoNB cell; outside a notebook it prints md.
func Markdown(md string) {
	if gonbui.IsNotebook {
		gonbui.DisplayMarkdown(md)
		gonbui.Sync()
		return
	}
	fmt.Println(md)
}

// HTML shows an HTML fragment in a GoNB cell; outside a notebook it prints it.
func HTML(h string) {
	if gonbui.IsNotebook {
		gonbui.DisplayHTML(h)
		gonbui.Sync()
		return
	}
	fmt.Println(h)
}

// SaveHTML writes a standalone page with the charts to path (written to a temporary file
// first, then renamed, so an existing file is never left half-written).
func SaveHTML(path, title string, charts ...Chart) error {
	body, err := Fragment(charts...)
	if err != nil {
		return err
	}
	page := fmt.Sprintf("<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>%s</title></head>\n<body>\n%s</body>\n</html>\n",
		html.EscapeString(title), body)
	return atomicfile.Write(path, []byte(page))
}

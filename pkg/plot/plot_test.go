package plot

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// chartCheckJS counts, after load, the non-blank pixels of every canvas on the page and
// writes the result into the DOM, where `chromium --dump-dom` prints it.
const chartCheckJS = `<script>
window.addEventListener('load', () => setTimeout(() => {
  const counts = [...document.querySelectorAll('canvas')].map(c => {
    try {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i+3] > 0 && (d[i] < 245 || d[i+1] < 245 || d[i+2] < 245)) n++;
      }
      return n;
    } catch (e) { return -1; }
  });
  const pre = document.createElement('pre');
  pre.id = 'loralab-chartcheck';
  pre.textContent = 'CHART' + 'CHECK' + JSON.stringify({canvases: counts, echarts: typeof echarts}) + 'END';
  document.body.appendChild(pre);
}, 500));
</script>`

type chartCheck struct {
	Canvases []int  `json:"canvases"`
	ECharts  string `json:"echarts"`
}

// renderInChromium loads page in headless Chromium with networking disabled and reports
// the canvases it drew.
func renderInChromium(t *testing.T, page string) chartCheck {
	t.Helper()

	bin := ""
	for _, b := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(b); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium not installed (.ci/run installs Debian's chromium)")
		}
		t.Skip("chromium not installed")
	}
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	checked := filepath.Join(t.TempDir(), "checked.html")
	html := string(data)
	if i := strings.LastIndex(html, "</body>"); i >= 0 {
		html = html[:i] + chartCheckJS + html[i:]
	} else {
		html += chartCheckJS
	}
	if err := os.WriteFile(checked, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=10000", "--dump-dom", "file://"+checked)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	m := regexp.MustCompile(`CHARTCHECK(.*?)END`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("chart check result missing from the page DOM (%d bytes)", len(out))
	}
	var res chartCheck
	if err := json.Unmarshal(m[1], &res); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestSaveHTMLRendersOffline(t *testing.T) {
	if _, err := EChartsJS(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "loss.html")
	c := Lines(LineOptions{Title: "loss", XName: "step", YName: "loss"},
		Series{Name: "train", X: []float64{0, 1, 2, 3}, Y: []float64{3, 2, 1.5, 1.2}},
		Series{Name: "eval", X: []float64{0, 3}, Y: []float64{3.1, 1.4}})
	if err := SaveHTML(path, "loss", c); err != nil {
		t.Fatal(err)
	}
	res := renderInChromium(t, path)
	if res.ECharts != "object" {
		t.Fatalf("window.echarts is %q, want the inlined library", res.ECharts)
	}
	if len(res.Canvases) != 1 || res.Canvases[0] < 100 {
		t.Fatalf("canvases drawn: %v, want one canvas with >= 100 non-blank pixels", res.Canvases)
	}
}

// A page carrying RequireJS (as classic Jupyter does) must still get window.echarts.
func TestHTMLUnderAMDLoader(t *testing.T) {
	frag, err := Fragment(Lines(LineOptions{Title: "x"}, Series{Name: "a", X: []float64{0, 1}, Y: []float64{1, 0}}))
	if err != nil {
		t.Fatal(err)
	}
	fakeAMD := `<script>window.define = function(){ window.amdUsed = true; }; window.define.amd = {};</script>`
	path := filepath.Join(t.TempDir(), "amd.html")
	page := "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>" + fakeAMD + frag + "</body></html>"
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	res := renderInChromium(t, path)
	if res.ECharts != "object" || len(res.Canvases) != 1 || res.Canvases[0] < 100 {
		t.Fatalf("under an AMD loader: echarts=%q canvases=%v", res.ECharts, res.Canvases)
	}
}

// A kernel session sends the 1 MB bundle with its first chart only; later charts weigh a few kB.
func TestLibraryOncePerSession(t *testing.T) {
	session := t.TempDir()
	c := Lines(LineOptions{Title: "x"}, Series{Name: "a", X: []float64{0, 1}, Y: []float64{1, 0}})
	first, err := withLibrary(session, chartsHTML([]Chart{c}))
	if err != nil {
		t.Fatal(err)
	}
	second, err := withLibrary(session, chartsHTML([]Chart{c}))
	if err != nil {
		t.Fatal(err)
	}
	other, err := withLibrary(t.TempDir(), chartsHTML([]Chart{c}))
	if err != nil {
		t.Fatal(err)
	}
	if len(first) < 500_000 || len(other) < 500_000 {
		t.Errorf("first chart of a session: %d and %d bytes, want the bundle inlined", len(first), len(other))
	}
	if len(second) > 10_000 || strings.Contains(second, "id=\""+storageKey) {
		t.Errorf("second chart of the session: %d bytes, want the chart alone", len(second))
	}
}

func TestAxisRange(t *testing.T) {
	for _, tc := range []struct {
		vs     []float64
		log    bool
		lo, hi any
	}{
		{[]float64{2.2, 0.3, 3e-7}, true, 1e-7, 10.0},
		{[]float64{5}, true, 1.0, 10.0},
		{[]float64{1, 10, 100}, true, 1.0, 100.0},
		{[]float64{-1, 3}, false, nil, nil},
	} {
		typ, lo, hi := axisRange(tc.vs, tc.log)
		if lo != tc.lo || hi != tc.hi || (typ == "log") != tc.log {
			t.Errorf("axisRange(%v, %v) = %s [%v, %v], want [%v, %v]", tc.vs, tc.log, typ, lo, hi, tc.lo, tc.hi)
		}
	}
	// Zeros and NaN cannot go on a log axis: they are left out of the chart and of its range.
	c := Lines(LineOptions{LogY: true}, Series{Name: "loss", X: []float64{1, 2, 3, 4}, Y: []float64{2, 0.01, 0, math.NaN()}})
	opt := c.RenderSnippet().Option
	if !strings.Contains(opt, `"min":0.01`) || !strings.Contains(opt, `"max":10`) || strings.Contains(opt, "[3,0]") {
		t.Errorf("log axis options: %s", opt)
	}
}

// In a live notebook the output that carried the bundle may render after a chart, or be gone
// (cleared, or the page reloaded): charts wait for the library, and a page without it loads
// the copy the browser kept.
func TestChartsDrawWithoutTheirLibraryOutput(t *testing.T) {
	if _, err := EChartsJS(); err != nil {
		t.Fatal(err)
	}
	lib, err := libraryHTML()
	if err != nil {
		t.Fatal(err)
	}
	chart := chartsHTML([]Chart{Lines(LineOptions{Title: "x"}, Series{Name: "a", X: []float64{0, 1, 2}, Y: []float64{1, 0, 2}})})
	fakeAMD := `<script>window.define = function(){ window.amdUsed = true; }; window.define.amd = {};</script>`
	page := func(body string) string {
		path := filepath.Join(t.TempDir(), "page.html")
		doc := "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>" + fakeAMD + body + "</body></html>"
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// The chart comes first, the library after it: the chart waits in the queue.
	res := renderInChromium(t, page(chart+lib))
	if res.ECharts != "object" || len(res.Canvases) != 1 || res.Canvases[0] < 100 {
		t.Fatalf("chart before its library: echarts=%q canvases=%v", res.ECharts, res.Canvases)
	}
	// The library ran once in this browser (it keeps a copy), then the page lost it, as after
	// a reload of a notebook whose output with the library was cleared: the chart loads the copy.
	forget := `<script>window.echarts = undefined; window.__loralab = undefined;</script>`
	res = renderInChromium(t, page(lib+forget+chart))
	if res.ECharts != "object" || len(res.Canvases) != 1 || res.Canvases[0] < 100 {
		t.Fatalf("chart without the library in the page: echarts=%q canvases=%v", res.ECharts, res.Canvases)
	}
	// A fresh browser without the copy cannot draw it: the check above is not vacuous.
	res = renderInChromium(t, page(chart))
	if res.ECharts == "object" || (len(res.Canvases) > 0 && res.Canvases[0] >= 100) {
		t.Fatalf("fresh browser, no library anywhere: echarts=%q canvases=%v", res.ECharts, res.Canvases)
	}
}

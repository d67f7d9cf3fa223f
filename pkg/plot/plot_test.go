package plot

import (
	"encoding/json"
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
	frag, err := HTML(Lines(LineOptions{Title: "x"}, Series{Name: "a", X: []float64{0, 1}, Y: []float64{1, 0}}))
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

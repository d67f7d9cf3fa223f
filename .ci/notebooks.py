#!/usr/bin/env python3
"""Execute LoRA Lab notebooks headlessly through the real GoNB kernel.

For each notebook: run every cell with nbclient (fail on any cell error), print its wall time,
write the executed copy and an HTML export to --out, and load the HTML in headless Chromium
with networking disabled, checking that every chart canvas was drawn with non-blank pixels.

    notebooks.py [--out DIR] [--min-charts NAME=N ...] [--no-browser] [NOTEBOOK ...]
"""
import argparse, glob, json, os, re, shutil, subprocess, sys, tempfile, time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

CHECK_JS = """<script>
window.addEventListener('load', () => setTimeout(() => {
  const counts = [...document.querySelectorAll('canvas')].map(c => {
    try {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4)
        if (d[i+3] > 0 && (d[i] < 245 || d[i+1] < 245 || d[i+2] < 245)) n++;
      return n;
    } catch (e) { return -1; }
  });
  const pre = document.createElement('pre');
  pre.textContent = 'CHART' + 'CHECK' + JSON.stringify({canvases: counts, echarts: typeof echarts}) + 'END';
  document.body.appendChild(pre);
}, 1000));
</script>"""


def chromium():
    for b in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(b)
        if p:
            return p
    return None


def check_charts(html_path):
    """Load html_path offline in headless Chromium; return the non-blank pixel count per canvas."""
    html = open(html_path, encoding="utf-8").read()
    i = html.rfind("</body>")
    html = html[:i] + CHECK_JS + html[i:] if i >= 0 else html + CHECK_JS
    with tempfile.TemporaryDirectory() as tmp:
        page = os.path.join(tmp, "page.html")
        open(page, "w", encoding="utf-8").write(html)
        cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
               "--user-data-dir=" + os.path.join(tmp, "profile"), "--virtual-time-budget=20000",
               "--dump-dom", "file://" + page]
        out = subprocess.run(cmd, capture_output=True, timeout=180).stdout.decode("utf-8", "replace")
    m = re.search(r"CHARTCHECK(.*?)END", out)
    if not m:
        raise RuntimeError("chart check did not run in Chromium (%d bytes of DOM)" % len(out))
    return json.loads(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("notebooks", nargs="*")
    ap.add_argument("--out", default="build/notebooks")
    ap.add_argument("--kernel", default="gonb")
    ap.add_argument("--timeout", type=int, default=1200, help="seconds per cell")
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    nbs = args.notebooks or sorted(glob.glob(os.path.join(repo, "notebooks", "*.ipynb")))
    if not nbs:
        print("no notebooks found", file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    failed, total = 0, 0.0
    for path in nbs:
        name = os.path.splitext(os.path.basename(path))[0]
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, kernel_name=args.kernel, timeout=args.timeout,
                                resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
        t0 = time.time()
        err = None
        try:
            client.execute()
        except CellExecutionError as e:
            err = str(e)
        except Exception as e:  # kernel died, timeout, …
            err = "%s: %s" % (type(e).__name__, e)
        wall = time.time() - t0
        total += wall
        # A GoNB cell that fails may still report "ok": look for error outputs too.
        for cell in nb.cells:
            for o in cell.get("outputs", []):
                if o.get("output_type") == "error" and err is None:
                    err = "cell error: %s: %s" % (o.get("ename"), o.get("evalue"))
        nbformat.write(nb, os.path.join(args.out, name + ".ipynb"))
        from nbconvert import HTMLExporter
        body, _ = HTMLExporter().from_notebook_node(nb)
        html_path = os.path.join(args.out, name + ".html")
        open(html_path, "w", encoding="utf-8").write(body)
        status = "ok"
        if err is None and not args.no_browser:
            if chromium() is None:
                err = "chromium not installed (needed for the chart check)"
            else:
                n_expected = sum("".join(o.get("data", {}).get("text/html", "")).count("echarts.init(")
                                 for c in nb.cells for o in c.get("outputs", []))
                res = check_charts(html_path)
                drawn = [c for c in res["canvases"] if c >= 100]
                status = "ok, %d/%d charts drawn offline" % (len(drawn), n_expected)
                if len(drawn) < n_expected or (n_expected and res["echarts"] != "object"):
                    err = "charts not drawn offline: expected %d, canvases %s, echarts %s" % (
                        n_expected, res["canvases"], res["echarts"])
        if err:
            failed += 1
            print("FAIL %-28s %7.1f s  %s" % (name, wall, err[-3000:]), flush=True)
        else:
            print("PASS %-28s %7.1f s  %s" % (name, wall, status), flush=True)
    print("notebook wall time in all: %.1f s" % total)
    print("notebooks: %d passed, %d failed" % (len(nbs) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

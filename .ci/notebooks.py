#!/usr/bin/env python3
"""Execute LoRA Lab notebooks headlessly through the real GoNB kernel, and check them.

For each notebook: run every cell with nbclient (fail on any cell error), print its wall time,
write the executed copy and an HTML export to --out, then check
  - the number of chart outputs against the committed table .ci/notebook_charts.json (a chart
    that is missing, or one more than the table says, fails: update the table with the notebook);
  - that headless Chromium, offline, draws every one of them (non-blank canvases) from the export;
  - that the executed notebook weighs at most --max-mb (charts share one ECharts bundle).

    notebooks.py [--out DIR] [--no-execute] [--no-browser] [NOTEBOOK ...]

--no-execute checks notebooks as they are (already executed), without a kernel.
"""
import argparse, glob, json, os, re, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.join(HERE, "notebook_charts.json")

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


def load_table(path=TABLE):
    """The committed number of charts of each notebook, by name (00_quickstart, …)."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def count_charts(nb):
    """The chart outputs of an executed notebook (each calls echarts.init once)."""
    return sum("".join(o.get("data", {}).get("text/html", "")).count("echarts.init(")
               for c in nb.cells for o in c.get("outputs", []))


def cell_error(nb):
    """The first error output of a notebook (a GoNB cell that fails may still report "ok")."""
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                return "cell error: %s: %s" % (o.get("ename"), o.get("evalue"))
    return None


def verify(name, nb, html_path, table, browser=True, size=None, max_mb=1.5):
    """Check an executed notebook: its charts against the table, drawn offline, and its size.

    Returns (error or None, status line)."""
    if name not in table:
        return "no expected chart count for %s in %s" % (name, os.path.relpath(TABLE)), ""
    want, got = table[name], count_charts(nb)
    if got != want:
        return "%d chart outputs, %s says %d%s" % (
            got, os.path.relpath(TABLE), want, " (a chart cell produced no chart)" if got < want else ""), ""
    if size is not None and size > max_mb * 1e6:
        return "executed notebook weighs %.2f MB, more than %.1f MB" % (size / 1e6, max_mb), ""
    status = "%d/%d charts" % (got, want)
    if browser and want > 0:
        if chromium() is None:
            return "chromium not installed (needed for the chart check)", status
        res = check_charts(html_path)
        drawn = [c for c in res["canvases"] if c >= 100]
        if len(drawn) < want or res["echarts"] != "object":
            return "charts not drawn offline: expected %d, canvases %s, echarts %s" % (
                want, res["canvases"], res["echarts"]), status
        status = "%d/%d charts drawn offline" % (len(drawn), want)
    if size is not None:
        status += ", %.2f MB" % (size / 1e6)
    return None, status


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("notebooks", nargs="*")
    ap.add_argument("--out", default="build/notebooks")
    ap.add_argument("--kernel", default="gonb")
    ap.add_argument("--timeout", type=int, default=1200, help="seconds per cell")
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--no-execute", action="store_true", help="check notebooks as they are")
    ap.add_argument("--max-mb", type=float, default=1.5, help="largest executed notebook, in MB")
    ap.add_argument("--table", default=TABLE)
    args = ap.parse_args(argv)

    import nbformat
    from nbconvert import HTMLExporter

    repo = os.path.dirname(HERE)
    nbs = args.notebooks or sorted(glob.glob(os.path.join(repo, "notebooks", "*.ipynb")))
    if not nbs:
        print("no notebooks found", file=sys.stderr)
        return 1
    table = load_table(args.table)
    os.makedirs(args.out, exist_ok=True)
    failed, total = 0, 0.0
    for path in nbs:
        name = os.path.splitext(os.path.basename(path))[0]
        nb = nbformat.read(path, as_version=4)
        t0 = time.time()
        err = None
        if not args.no_execute:
            from nbclient import NotebookClient
            from nbclient.exceptions import CellExecutionError
            client = NotebookClient(nb, kernel_name=args.kernel, timeout=args.timeout,
                                    resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
            try:
                client.execute()
            except CellExecutionError as e:
                err = str(e)
            except Exception as e:  # kernel died, timeout, …
                err = "%s: %s" % (type(e).__name__, e)
        wall = time.time() - t0
        total += wall
        err = err or cell_error(nb)
        out_nb = os.path.join(args.out, name + ".ipynb")
        nbformat.write(nb, out_nb)
        body, _ = HTMLExporter().from_notebook_node(nb)
        html_path = os.path.join(args.out, name + ".html")
        open(html_path, "w", encoding="utf-8").write(body)
        status = "ok"
        if err is None:
            err, status = verify(name, nb, html_path, table, browser=not args.no_browser,
                                 size=os.path.getsize(out_nb), max_mb=args.max_mb)
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

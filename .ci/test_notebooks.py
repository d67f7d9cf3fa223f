#!/usr/bin/env python3
"""Tests of the notebook runner (.ci/notebooks.py) on crafted, already executed notebooks:
a missing chart, an undrawn chart and an unknown notebook fail; a drawn chart passes.

    python3 -m unittest discover -s .ci -p 'test_*.py'     (make citest)
"""
import glob, json, os, shutil, sys, tempfile, unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import notebooks  # noqa: E402

import nbformat  # noqa: E402
from nbconvert import HTMLExporter  # noqa: E402


def echarts_js():
    """The ECharts bundle that docker/setup.sh installs (the path pkg/plot searches first)."""
    cache = os.environ.get("LORALAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "loralab")
    for p in (os.environ.get("LORALAB_ECHARTS_JS"), os.path.join(cache, "npm/node_modules/echarts/dist/echarts.min.js")):
        if p and os.path.exists(p):
            return open(p, encoding="utf-8").read()
    return None


def chart_html(with_library):
    """A chart output as a cell shows it: optionally the library (RequireJS hidden), then a chart."""
    lib = ""
    if with_library:
        lib = ("<script>window.__d = window.define; window.define = undefined;</script><script>"
               + echarts_js().replace("</script", "<\\/script") + "</script><script>window.define = window.__d;</script>")
    return lib + ('<div id="c1" style="width:400px;height:300px"></div><script>'
                  "echarts.init(document.getElementById('c1')).setOption({animation: false, xAxis: {}, yAxis: {},"
                  "series: [{type: 'line', data: [[0, 1], [1, 3], [2, 2]]}]});</script>")


def executed(*outputs):
    """A notebook with one code cell that produced outputs."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("%%\nfmt.Println(1)")
    cell.outputs = list(outputs)
    nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "gonb", "display_name": "Go", "language": "go"}
    return nb


def html_output(h):
    return nbformat.v4.new_output("display_data", data={"text/html": h})


class VerifyTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def verify(self, nb, table, browser=False):
        path = os.path.join(self.tmp, "nb.html")
        body, _ = HTMLExporter().from_notebook_node(nb)
        open(path, "w", encoding="utf-8").write(body)
        return notebooks.verify("nb", nb, path, table, browser=browser)

    def need_browser(self):
        if notebooks.chromium() is None or echarts_js() is None:
            if os.environ.get("CI"):
                self.fail("chromium and the ECharts bundle are needed (docker/setup.sh --test-deps)")
            self.skipTest("chromium or the ECharts bundle not installed")

    def test_missing_chart_fails(self):
        # What notebook 00 did on a fresh clone: its chart cell ran and showed nothing.
        nb = executed(nbformat.v4.new_output("stream", name="stdout", text="w = 2.0000\n"))
        err, _ = self.verify(nb, {"nb": 1})
        self.assertIsNotNone(err)
        self.assertIn("0 chart outputs", err)

    def test_extra_chart_fails(self):
        err, _ = self.verify(executed(html_output(chart_html(False))), {"nb": 0})
        self.assertIn("1 chart outputs", err)

    def test_unknown_notebook_fails(self):
        err, _ = self.verify(executed(), {"other": 0})
        self.assertIn("no expected chart count for nb", err)

    def test_undrawn_chart_fails(self):
        self.need_browser()
        err, _ = self.verify(executed(html_output(chart_html(False))), {"nb": 1}, browser=True)
        self.assertIsNotNone(err)
        self.assertIn("not drawn offline", err)

    def test_drawn_chart_passes(self):
        self.need_browser()
        err, status = self.verify(executed(html_output(chart_html(True))), {"nb": 1}, browser=True)
        self.assertIsNone(err)
        self.assertEqual(status, "1/1 charts drawn offline")

    def test_command_fails_on_missing_chart(self):
        path = os.path.join(self.tmp, "00_demo.ipynb")
        nbformat.write(executed(), path)
        table = os.path.join(self.tmp, "charts.json")
        json.dump({"00_demo": 1}, open(table, "w"))
        rc = notebooks.main(["--no-execute", "--no-browser", "--out", os.path.join(self.tmp, "out"), "--table", table, path])
        self.assertEqual(rc, 1)
        json.dump({"00_demo": 0}, open(table, "w"))
        rc = notebooks.main(["--no-execute", "--no-browser", "--out", os.path.join(self.tmp, "out"), "--table", table, path])
        self.assertEqual(rc, 0)

    def test_too_heavy_fails(self):
        err, _ = notebooks.verify("nb", executed(), "", {"nb": 0}, browser=False, size=2_000_000, max_mb=1.5)
        self.assertIn("weighs 2.00 MB", err)


class TableTest(unittest.TestCase):
    def test_table_lists_every_notebook(self):
        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        names = sorted(os.path.splitext(os.path.basename(p))[0] for p in glob.glob(os.path.join(repo, "notebooks", "*.ipynb")))
        self.assertEqual(sorted(notebooks.load_table()), names)


if __name__ == "__main__":
    unittest.main()

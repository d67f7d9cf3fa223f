#!/usr/bin/env python3
"""Render one chart of each executed notebook to a PNG for the README's notebook tour.

    screenshots.py EXECUTED_DIR OUT_DIR [NAME=INDEX ...]

For each EXECUTED_DIR/NN_name.ipynb, take its INDEX-th chart output (default 0; an output whose
HTML calls echarts.init), put it alone on a page after the ECharts bundle (which a notebook
carries once, in the output of its first chart) and screenshot it with headless Chromium,
offline, into OUT_DIR/NN_name.png.
"""
import glob, json, os, re, shutil, subprocess, sys, tempfile


LIBRARY = re.compile(r'(?s)<script type="text/javascript">window.__loralabDefine.*?window.__loralab.flush\(\);</script>')


def outputs(nb):
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            yield "".join(o.get("data", {}).get("text/html", ""))


def charts(nb):
    for html in outputs(nb):
        if "echarts.init(" in html:
            yield LIBRARY.sub("", html)


def library(nb):
    for html in outputs(nb):
        m = LIBRARY.search(html)
        if m:
            return m.group(0)
    return ""


def main():
    src, out = sys.argv[1], sys.argv[2]
    pick = dict(a.split("=") for a in sys.argv[3:])
    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    os.makedirs(out, exist_ok=True)
    for path in sorted(glob.glob(os.path.join(src, "*.ipynb"))):
        name = os.path.splitext(os.path.basename(path))[0]
        nb = json.load(open(path, encoding="utf-8"))
        found = list(charts(nb))
        if not found:
            continue
        html = library(nb) + found[min(int(pick.get(name, 0)), len(found) - 1)]
        with tempfile.TemporaryDirectory() as tmp:
            page = os.path.join(tmp, "page.html")
            open(page, "w", encoding="utf-8").write(
                '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">' + html + "</body></html>")
            png = os.path.join(out, name + ".png")
            subprocess.run([chrome, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
                            "--user-data-dir=" + os.path.join(tmp, "p"), "--virtual-time-budget=5000",
                            "--window-size=920,420", "--screenshot=" + png, "file://" + page],
                           check=True, capture_output=True, timeout=120)
            print(png)


if __name__ == "__main__":
    main()

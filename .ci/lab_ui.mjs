// Runs notebooks through JupyterLab's UI in Debian's chromium (playwright-core, no browser
// download) and checks what a user would see. Started by .ci/lab_ui.sh, which starts the server.
//
// For each notebook: open it in JupyterLab, wait for the GoNB kernel to be idle, click
// Run → Run All Cells, wait until every code cell has run and the kernel is idle again, then
// check: no error output, every code cell executed, the backend line says "SIMD: on" (where the
// notebook prints one), every chart canvas has non-blank pixels (at least one chart in
// 00_quickstart). A screenshot of the first chart (or the page) goes to $LAB_OUT/<name>.png.
//
// Environment: LAB_URL, LAB_TOKEN, LAB_OUT, PLAYWRIGHT_CORE (the npm package's folder).
import { createRequire } from "node:module";
import { join } from "node:path";

const { LAB_URL, LAB_TOKEN, LAB_OUT, PLAYWRIGHT_CORE } = process.env;
const require = createRequire(import.meta.url);
const { chromium } = require(PLAYWRIGHT_CORE);
const notebooks = process.argv.slice(2);
const NOTEBOOK_TIMEOUT_MS = 25 * 60 * 1000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The state of the open notebook, read from JupyterLab's own model (window.jupyterapp, exposed
// by --LabApp.expose_app_in_browser).
function notebookState() {
  const w = window.jupyterapp?.shell?.currentWidget;
  const kernel = w?.sessionContext?.session?.kernel;
  if (!w?.content?.model || !kernel) return null;
  const cells = [];
  for (const c of w.content.model.cells) {
    if (c.type !== "code") continue;
    cells.push({ count: c.executionCount, outputs: c.outputs.toJSON(), src: c.sharedModel.getSource().slice(0, 60) });
  }
  return { kernel: kernel.name, status: kernel.status, display: w.sessionContext.kernelDisplayStatus, conn: kernel.connectionStatus, busy: w.content.widgets.some((c) => c.promptNode?.textContent?.includes("*")), cells };
}

function canvasPixels() {
  return [...document.querySelectorAll(".jp-OutputArea-output canvas")].map((c) => {
    try {
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] < 245 || d[i + 1] < 245 || d[i + 2] < 245)) n++;
      return n;
    } catch (e) {
      return -1;
    }
  });
}

function outputText(o) {
  if (o.output_type === "stream") return [].concat(o.text).join("");
  if (o.output_type === "error") return `${o.ename}: ${o.evalue}`;
  const d = o.data || {};
  return [].concat(d["text/plain"] || d["text/html"] || d["text/markdown"] || "").join("");
}

async function waitState(page, pred, what, timeoutMs) {
  const end = Date.now() + timeoutMs;
  let s = null;
  while (Date.now() < end) {
    s = await page.evaluate(notebookState);
    if (s && pred(s)) return s;
    await sleep(1000);
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}; last state: ${JSON.stringify(s)?.slice(0, 2000)}`);
}

async function runNotebook(browser, name) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const logs = [];
  page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") logs.push(`console.${m.type()}: ${m.text()}`); });
  try {
    return await checkNotebook(page, name, logs);
  } catch (e) {
    await page.screenshot({ path: join(LAB_OUT, name.replace(/\.ipynb$/, "-failed.png")) }).catch(() => {});
    for (const l of logs) console.log(`lab-ui: ${name}: ${l}`);
    throw e;
  } finally {
    await page.close();
  }
}

async function checkNotebook(page, name, logs) {
  const t0 = Date.now();
  await page.goto(`${LAB_URL}/lab/tree/${encodeURIComponent(name)}?reset&token=${LAB_TOKEN}`, { waitUntil: "domcontentloaded" });
  await page.waitForFunction(() => window.jupyterapp?.shell?.currentWidget?.content?.model, null, { timeout: 120000 });
  // Idle: GoNB's status replies to kernel_info reach the page because
  // docker/jupyter_server_config.json keeps kernel_info out of untracked_message_types (by default
  // JupyterLab ignores them, and GoNB sends no other status before the first execution).
  // A kernel_info reply that arrives before the page's websocket is listening leaves the status
  // "unknown" until the first execution (seen once in CI): after 60 s with the kernel connected,
  // go on and run, as a user looking at a connected kernel would.
  let s = await waitState(page, (s) => s.status === "idle", "the kernel to be idle", 60000)
    .catch(() => waitState(page, (s) => s.kernel === "gonb" && s.conn === "connected", "the kernel to connect", 120000));
  if (s.kernel !== "gonb") throw new Error(`kernel ${s.kernel}, want gonb`);
  // Run → Run All Cells, as a user would.
  await page.locator(".lm-MenuBar-item", { hasText: /^Run$/ }).click();
  await page.getByRole("menuitem", { name: "Run All Cells", exact: true }).click();
  await waitState(page, (s) => s.status !== "idle" || s.busy, "the run to start", 30000).catch(() => {});
  // Done: kernel idle, no "[*]" prompt, every code cell has run — or a cell failed (JupyterLab
  // then stops and leaves the rest unexecuted).
  s = await waitState(page, (s) => s.status === "idle" && !s.busy &&
    (s.cells.every((c) => c.count !== null) || s.cells.some((c) => c.outputs.some((o) => o.output_type === "error"))),
    "all cells to run", NOTEBOOK_TIMEOUT_MS);
  await sleep(3000); // chart animations
  s = await page.evaluate(notebookState);
  const secs = ((Date.now() - t0) / 1000).toFixed(0);

  const problems = [];
  const text = [];
  s.cells.forEach((c, i) => {
    if (c.count === null) problems.push(`code cell ${i} (${JSON.stringify(c.src)}) did not run`);
    for (const o of c.outputs) {
      text.push(outputText(o));
      if (o.output_type === "error") problems.push(`code cell ${i} (${JSON.stringify(c.src)}): ${o.ename}: ${o.evalue} ${[].concat(o.traceback || []).join("\n").slice(0, 1500)}`);
    }
  });
  const all = text.join("\n");
  const backend = all.split("\n").find((l) => l.includes("backend:"));
  if (backend !== undefined && !backend.includes("SIMD: on")) problems.push(`backend line without "SIMD: on": ${backend}`);
  if (name.startsWith("00_") && backend === undefined) problems.push("no backend line in the outputs");
  const pixels = await page.evaluate(canvasPixels);
  if (name.startsWith("00_") && pixels.length === 0) problems.push("no chart canvas in the outputs");
  pixels.forEach((n, i) => { if (n <= 100) problems.push(`chart canvas ${i} is blank (${n} non-blank pixels)`); });

  const canvas = page.locator(".jp-OutputArea-output canvas").first();
  const shot = join(LAB_OUT, name.replace(/\.ipynb$/, ".png"));
  if (pixels.length > 0) {
    await canvas.evaluate((el) => el.scrollIntoView({ block: "center" }));
    await sleep(500);
  }
  await page.screenshot({ path: shot });
  console.log(`lab-ui: ${name}: ${s.cells.length} code cells in ${secs}s; ${backend ? backend.trim() : "no backend line"}; ` +
    `canvases ${JSON.stringify(pixels)} non-blank pixels; screenshot ${shot}`);
  if (problems.length > 0) for (const l of logs) console.log(`lab-ui: ${name}: ${l}`);
  return problems;
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic"],
});
let passed = 0, failed = 0;
try {
  for (const name of notebooks) {
    let problems;
    try {
      problems = await runNotebook(browser, name);
    } catch (e) {
      problems = [String(e.stack || e)];
    }
    if (problems.length === 0) passed++;
    else {
      failed++;
      for (const p of problems) console.error(`lab-ui: ${name}: FAIL: ${p}`);
    }
  }
} finally {
  await browser.close();
}
console.log(`lab-ui: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

// Startup benchmark (issue 6, item 2): headless Chromium on loopback, N page loads of a
// page carrying the snippet, each in a fresh browser context (empty cache and
// localStorage = a first visit). Measured inside the page with performance.now():
//   snippet executed → launcher painted (first animation frame in which the shadow root's
//     `.launcher` has a non-zero box; that frame is the one that paints it),
//   `show` → window interactive (the `show` callback, then the next frame with the window
//     box and composer laid out),
//   long tasks (> 50 ms) from PerformanceObserver('longtask') from navigation to 500 ms
//     after the window is interactive,
//   the load event, and the same page without the widget as the baseline;
//   then the same page reloaded in the same context (a returning visitor on the site's next
//   page: HTTP cache revalidated with 304s, cached wasm compilation, stored state; the
//   window is open, as the first load's `show` left it) → launcher painted again.
// Usage: node bench/startup.mjs [--runs 30]
import { startServer, launchBrowser, numArg, pct, fmt, printTable, machineNote, SNIPPET } from './lib.mjs';

const RUNS = numArg('runs', 30);

const INSTRUMENT = `
window.__bench = { longtasks: [], t0: null, launcher: null, load: null };
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__bench.longtasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
} catch (e) { window.__bench.noLongtask = String(e); }
addEventListener('load', () => { window.__bench.load = performance.now(); });
`;

const WATCH = `
(function () {
  function check() {
    var host = document.querySelector('#livechat-widget');
    var root = host && host.shadowRoot;
    var l = root && root.querySelector('.launcher');
    if (l && !l.hidden) {
      var r = l.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) {
        window.__bench.launcher = performance.now();
        console.debug('__bench_launcher_painted');
        return;
      }
    }
    requestAnimationFrame(check);
  }
  requestAnimationFrame(check);
})();
`;

const widgetPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Startup bench</title>
<script>${INSTRUMENT}</script>
<script>window.__bench.t0 = performance.now();
${SNIPPET}
${WATCH}</script>
</head><body><h1>A host page</h1><p>Some content of the host site.</p><button>Buy</button></body></html>`;

const baselinePage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Startup bench (no widget)</title>
<script>${INSTRUMENT}</script>
</head><body><h1>A host page</h1><p>Some content of the host site.</p><button>Buy</button></body></html>`;

/** Bytes of the widget's files on the wire (resource timing transferSize: headers + body as sent). */
const wireBytes = () => performance.getEntriesByType('resource')
  .filter((e) => e.name.includes('/widget/') || e.name.includes('/config'))
  .reduce((t, e) => t + e.transferSize, 0);

function showInteractive() {
  return new Promise((resolve) => {
    const t = performance.now();
    window.liveChat('show', undefined, (err) => {
      const tcb = performance.now();
      const frame = () => {
        const root = document.querySelector('#livechat-widget').shadowRoot;
        const w = root.querySelector('.window');
        const ta = root.querySelector('textarea');
        const r = w && !w.hidden ? w.getBoundingClientRect() : null;
        if (r && r.width > 0 && r.height > 0 && ta && ta.getBoundingClientRect().width > 0) {
          resolve({ err: err ? JSON.stringify(err) : null, callback: tcb - t, interactive: performance.now() - t, at: performance.now() });
        } else requestAnimationFrame(frame);
      };
      requestAnimationFrame(frame);
    });
  });
}

const server = await startServer({ pages: { 'widget.html': widgetPage, 'baseline.html': baselinePage } });
const browser = await launchBrowser();
const res = { bytes: [], repeatBytes: [], repeat: [], repeatLtMax: [], launcher: [], show: [], showCb: [], load: [], baseLoad: [], ltCount: [], ltMax: [], ltTotal: [], baseLt: [] };
try {
  // One warm-up load of each page (process start-up, wasm compile cache is per context anyway).
  for (let i = 0; i < RUNS + 1; i++) {
    // Baseline.
    {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await page.goto(server.url + '/bench/baseline.html', { waitUntil: 'load' });
      await page.waitForTimeout(100);
      const b = await page.evaluate(() => window.__bench);
      if (i > 0) { res.baseLoad.push(b.load); res.baseLt.push(b.longtasks.length); }
      await ctx.close();
    }
    // Widget.
    {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      // Wait without evaluating anything in the page until the launcher is painted:
      // Playwright's first evaluate injects its own script (~20 ms of main thread) that
      // would otherwise run in the middle of the widget's start and count as its long task.
      const painted = page.waitForEvent('console', { predicate: (m) => m.text() === '__bench_launcher_painted', timeout: 15000 });
      await page.goto(server.url + '/bench/widget.html', { waitUntil: 'load' });
      await painted;
      await page.waitForFunction(() => window.liveChat && window.liveChat.loaded === true, null, { timeout: 15000 });
      await page.waitForTimeout(100);
      const show = await page.evaluate(showInteractive);
      if (show.err) throw new Error(`show failed: ${show.err}`);
      await page.waitForTimeout(500);
      const b = await page.evaluate(() => window.__bench);
      const firstBytes = await page.evaluate(wireBytes);
      if (b.noLongtask) throw new Error(`no longtask observer: ${b.noLongtask}`);
      if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
      // The same visitor on the next page of the site: HTTP cache (revalidated with
      // If-None-Match → 304), the browser's cached wasm compilation and localStorage warm.
      const painted2 = page.waitForEvent('console', { predicate: (m) => m.text() === '__bench_launcher_painted', timeout: 15000 });
      await page.reload({ waitUntil: 'load' });
      await painted2;
      await page.waitForTimeout(300);
      const r = await page.evaluate(() => window.__bench);
      const repeatBytes = await page.evaluate(wireBytes);
      if (i > 0) {
        res.bytes.push(firstBytes);
        res.repeatBytes.push(repeatBytes);
        res.repeat.push(r.launcher - r.t0);
        res.repeatLtMax.push(Math.max(0, ...r.longtasks.map((x) => x.duration)));
        res.launcher.push(b.launcher - b.t0);
        res.show.push(show.interactive);
        res.showCb.push(show.callback);
        res.load.push(b.load);
        res.ltCount.push(b.longtasks.length);
        res.ltMax.push(Math.max(0, ...b.longtasks.map((x) => x.duration)));
        res.ltTotal.push(b.longtasks.reduce((s, x) => s + x.duration, 0));
      }
      await ctx.close();
    }
    if (i > 0 && i % 10 === 0) process.stderr.write(`${i}/${RUNS}\n`);
  }
} finally {
  await browser.close().catch(() => {});
  await server.stop();
}

const row = (name, v) => [name, fmt(pct(v, 50)), fmt(pct(v, 95)), fmt(Math.max(...v))];
console.log(`\nStartup, ${RUNS} page loads each (fresh context per load), ms\n`);
printTable(['metric', 'median', 'p95', 'max'], [
  row('snippet → launcher painted', res.launcher),
  row('returning visitor: snippet → launcher', res.repeat),
  row('returning visitor: longest long task', res.repeatLtMax),
  row('show → callback', res.showCb),
  row('show → window interactive', res.show),
  row('load event, widget page', res.load),
  row('load event, baseline (no widget)', res.baseLoad),
  row('long tasks per load, widget page', res.ltCount),
  row('longest long task, widget page', res.ltMax),
  row('long-task time per load, widget page', res.ltTotal),
  row('long tasks per load, baseline', res.baseLt),
]);
console.log(`\nwidget bytes on the wire (transferSize, median): first visit ${pct(res.bytes, 50)} B, returning visitor ${pct(res.repeatBytes, 50)} B`);
const loadsWithLt = res.ltCount.filter((n) => n > 0).length;
console.log(`\nloads with a long task: ${loadsWithLt}/${RUNS}`);
console.log(`\nfor docs/performance.md (${machineNote()}):`);
console.log(`| ${RUNS} loads | launcher p50 ${fmt(pct(res.launcher, 50), 1)} / p95 ${fmt(pct(res.launcher, 95), 1)} ms | show→interactive p50 ${fmt(pct(res.show, 50), 1)} / p95 ${fmt(pct(res.show, 95), 1)} ms | returning visitor launcher p50 ${fmt(pct(res.repeat, 50), 1)} / p95 ${fmt(pct(res.repeat, 95), 1)} ms | long tasks: ${loadsWithLt}/${RUNS} loads, max ${fmt(Math.max(...res.ltMax), 0)} ms | load event p50 ${fmt(pct(res.load, 50), 1)} ms vs baseline ${fmt(pct(res.baseLoad, 50), 1)} ms |`);

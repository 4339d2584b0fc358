// First visit, the README snippet (script URL with `?id=`: the server puts the launcher's
// look in front of the loader) against an older snippet without it (the loader waits for
// the configuration), interleaved in one run, each load in a fresh browser context.
// Measured in the page: snippet executed → the frame that paints the launcher.
// Usage: node bench/first-visit-ab.mjs [--runs 20]
import { startServer, launchBrowser, numArg, pct, fmt, printTable, machineNote, SNIPPET } from './lib.mjs';

const RUNS = numArg('runs', 20);
const WATCH = `(function(){function c(){var h=document.querySelector('#livechat-widget');var r=h&&h.shadowRoot;var l=r&&r.querySelector('.launcher');
if(l&&!l.hidden){var b=l.getBoundingClientRect();if(b.width>0){window.__painted=performance.now()-window.__t0;console.debug('__painted');return}}
requestAnimationFrame(c)}requestAnimationFrame(c)})();`;
const page = (snippet) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>First visit</title>
<script>window.__t0=performance.now();${snippet}${WATCH}</script></head>
<body><h1>A host page</h1><p>Some content of the host site.</p><button>Buy</button></body></html>`;
const older = SNIPPET.replace(/\?id=[^']*'/, "'");
if (older === SNIPPET) throw new Error('the bench snippet has no ?id=');

const server = await startServer({ pages: { 'older.html': page(older), 'readme.html': page(SNIPPET) } });
const browser = await launchBrowser();
const res = { older: [], readme: [] };
try {
  for (let i = 0; i < RUNS + 1; i++) {
    for (const v of i % 2 ? ['older', 'readme'] : ['readme', 'older']) {
      const ctx = await browser.newContext();
      const p = await ctx.newPage();
      const painted = p.waitForEvent('console', { predicate: (m) => m.text() === '__painted', timeout: 15000 });
      await p.goto(`${server.url}/bench/${v}.html`, { waitUntil: 'load' });
      await painted;
      if (i > 0) res[v].push(await p.evaluate(() => window.__painted));
      await ctx.close();
    }
  }
} finally {
  await browser.close().catch(() => {});
  await server.stop();
}
const row = (name, v) => [name, fmt(pct(v, 50)), fmt(pct(v, 95)), fmt(Math.max(...v))];
console.log(`\nFirst visit, snippet → launcher painted, ${RUNS} loads each, interleaved (ms)\n`);
printTable(['snippet', 'median', 'p95', 'max'], [
  row('README (?id=: preset in the loader)', res.readme),
  row('older (no ?id=: waits for the configuration)', res.older),
]);
console.log(`\n(${machineNote()})`);

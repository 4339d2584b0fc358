// Where the widget's time goes while sending (a diagnostic for the latency benchmark):
// wraps the browser APIs the widget calls through its JS glue (localStorage.setItem,
// JSON.stringify, JSON.parse, WebSocket.send) and the widget's render, and reports the
// total time spent in each over N sends, next to the total send → ack time.
// Usage: node bench/phases.mjs [--messages 200]
import { startServer, launchBrowser, numArg, fmt, printTable } from './lib.mjs';

const N = numArg('messages', 200);
const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Phases</title>
<script>
(() => {
  const t = window.__phases = {};
  const wrap = (obj, name, label) => {
    const f = obj[name];
    obj[name] = function (...a) {
      const s = performance.now();
      try { return f.apply(this, a); } finally {
        const e = t[label] || (t[label] = { ms: 0, calls: 0 });
        e.ms += performance.now() - s; e.calls += 1;
      }
    };
  };
  wrap(Storage.prototype, 'setItem', 'localStorage.setItem');
  wrap(JSON, 'stringify', 'JSON.stringify');
  wrap(JSON, 'parse', 'JSON.parse');
  wrap(WebSocket.prototype, 'send', 'WebSocket.send');
})();
</script>
<script>${(await import('./lib.mjs')).SNIPPET}</script></head><body></body></html>`;

async function run(n) {
  const call = (cmd, arg) => new Promise((resolve, reject) => {
    window.liveChat(cmd, arg, (err, res) => (err ? reject(new Error(JSON.stringify(err))) : resolve(res)));
  });
  await call('show');
  for (let i = 0; i < 20; i++) await call('send', { type: 'BASIC', message: `warm ${i}` });
  for (const k of Object.keys(window.__phases)) delete window.__phases[k];
  const start = performance.now();
  for (let i = 0; i < n; i++) await call('send', { type: 'BASIC', message: `visitor message ${i}` });
  return { total: performance.now() - start, phases: window.__phases };
}

const server = await startServer({ pages: { 'phases.html': page } });
const browser = await launchBrowser();
try {
  const p = await (await browser.newContext()).newPage();
  await p.goto(server.url + '/bench/phases.html');
  await p.waitForFunction(() => window.liveChat && window.liveChat.loaded === true, null, { timeout: 15000 });
  const { total, phases } = await p.evaluate(run, N);
  console.log(`\n${N} sends, send → ack total ${fmt(total)} ms (${fmt(total / N)} ms each)\n`);
  printTable(['browser API called by the widget', 'calls', 'total ms', 'ms per send'],
    Object.entries(phases).sort((a, b) => b[1].ms - a[1].ms)
      .map(([k, v]) => [k, String(v.calls), fmt(v.ms), fmt(v.ms / N)]));
} finally {
  await browser.close().catch(() => {});
  await server.stop();
}

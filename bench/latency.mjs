// Latency benchmark (issue 6, item 3): one page on loopback, the window open.
//   send: N sequential liveChat('send', {type: 'BASIC'}) → time to the acknowledged
//     callback (the server stored the message durably).
//   agent reply: N sequential replies through the agent API, posted with fetch from inside
//     the page, → time until the reply's <li> is in the widget's shadow DOM (MutationObserver
//     callback) and until the next animation frame (painted). Both ends use the page's
//     performance.now(), so there is one clock.
// Usage: node bench/latency.mjs [--messages 1000]
import { startServer, launchBrowser, numArg, pct, fmt, printTable, machineNote, SNIPPET, AGENT_TOKEN } from './lib.mjs';

const N = numArg('messages', 1000);

const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Latency bench</title>
<script>${SNIPPET}</script>
</head><body><h1>Latency bench</h1></body></html>`;

async function sends(n) {
  const call = (cmd, arg) => new Promise((resolve, reject) => {
    window.liveChat(cmd, arg, (err, res) => (err ? reject(new Error(JSON.stringify(err))) : resolve(res)));
  });
  await call('show');
  const out = [];
  let threadId = null;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await call('send', { type: 'BASIC', message: `visitor message ${i}` });
    out.push(performance.now() - t);
    threadId = r.threadId;
  }
  return { out, threadId };
}

async function replies({ n, threadId, token }) {
  const root = document.querySelector('#livechat-widget').shadowRoot;
  const out = [];
  const painted = [];
  const http = [];
  let waiting = null;
  const mo = new MutationObserver((records) => {
    if (!waiting) return;
    const now = performance.now();
    for (const rec of records) {
      for (const node of rec.addedNodes) {
        if (node.nodeType === 1 && node.textContent.includes(waiting.marker)) {
          const w = waiting;
          waiting = null;
          w.resolve(now);
          return;
        }
      }
    }
  });
  mo.observe(root, { childList: true, subtree: true });
  const url = `/v1/conversations/${encodeURIComponent(threadId)}/messages`;
  for (let i = 0; i < n; i++) {
    const marker = `agent-reply-${i}-end`;
    const rendered = new Promise((resolve) => { waiting = { marker, resolve }; });
    const t = performance.now();
    const res = fetch(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ text: `Agent says ${marker}` }),
    }).then((r) => { if (r.status !== 201) throw new Error(`reply status ${r.status}`); return performance.now(); });
    const timeout = new Promise((_, rej) => setTimeout(() => rej(new Error(`reply ${i} not rendered in 10 s`)), 10000));
    const at = await Promise.race([rendered, timeout]);
    out.push(at - t);
    await new Promise((r) => requestAnimationFrame(r));
    painted.push(performance.now() - t);
    http.push((await res) - t);
  }
  mo.disconnect();
  return { out, painted, http };
}

const server = await startServer({ pages: { 'latency.html': page } });
const browser = await launchBrowser();
let s; let r;
try {
  const ctx = await browser.newContext();
  const p = await ctx.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(String(e)));
  await p.goto(server.url + '/bench/latency.html');
  await p.waitForFunction(() => window.liveChat && window.liveChat.loaded === true, null, { timeout: 15000 });
  // Warm-up (first send creates the conversation), not counted.
  await p.evaluate(sends, 20);
  process.stderr.write(`sending ${N}…\n`);
  s = await p.evaluate(sends, N);
  process.stderr.write(`agent replies ${N}…\n`);
  await p.evaluate(replies, { n: 20, threadId: s.threadId, token: AGENT_TOKEN });
  r = await p.evaluate(replies, { n: N, threadId: s.threadId, token: AGENT_TOKEN });
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  await ctx.close();
} finally {
  await browser.close().catch(() => {});
  await server.stop();
}

const row = (name, v) => [name, fmt(pct(v, 50)), fmt(pct(v, 95)), fmt(pct(v, 99)), fmt(Math.max(...v))];
console.log(`\nLatency on loopback, ${N} messages each, ms\n`);
printTable(['metric', 'p50', 'p95', 'p99', 'max'], [
  row('send → acked callback', s.out),
  row('agent reply → in shadow DOM', r.out),
  row('agent reply → next frame', r.painted),
  row('agent reply → HTTP 201 (in page)', r.http),
]);
console.log(`\nfor docs/performance.md (${machineNote()}):`);
console.log(`| ${N} msgs | send→ack p50 ${fmt(pct(s.out, 50))} / p95 ${fmt(pct(s.out, 95))} / p99 ${fmt(pct(s.out, 99))} ms | reply→rendered p50 ${fmt(pct(r.out, 50))} / p95 ${fmt(pct(r.out, 95))} / p99 ${fmt(pct(r.out, 99))} ms |`);

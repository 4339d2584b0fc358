// Rendering benchmark (issue 6, item 4): one conversation with N (default 10,000) messages.
// Seeding, server side: a page sends one visitor message (creating the conversation), is
// closed, then node posts N−1 agent replies through the agent API (16 in flight). The
// server for this run has `sync_messages_per_thread = N`; the page is reopened in the same
// browser context with the stored `last_seq` set to 0, so the server answers the widget's
// `hello` with one `sync` carrying all N messages (the path of a returning visitor whose
// session cannot resume).
// The widget holds all N in memory but renders only the newest 200 (MAX_RENDERED in
// src/view/mod.rs), so the DOM and the scroll cover those 200.
// Measured in the page: page navigation → sync applied (stored last_seq back at the head,
// the log rendered); `show` → window
// interactive (callback + next frame with the window laid out); the shadow root's element
// count; then scrolling the log top → bottom, recording requestAnimationFrame deltas:
//   smooth: one element.scrollTo({top: bottom, behavior: 'smooth'}),
//   stepped: scrollTop += one viewport per frame until the bottom (touches every message).
// Usage: node bench/render.mjs [--messages 10000]
import { startServer, launchBrowser, numArg, pct, fmt, printTable, machineNote, SNIPPET, AGENT_TOKEN, WIDGET_ID } from './lib.mjs';

const N = numArg('messages', 10000);

const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Render bench</title>
<script>window.__t0 = performance.now();
${SNIPPET}</script>
</head><body><h1>Render bench</h1></body></html>`;

const server = await startServer({ pages: { 'render.html': html }, syncMessages: N + 10 });
const browser = await launchBrowser();
let out;
try {
  const ctx = await browser.newContext();
  // 1. Create the conversation.
  let threadId;
  {
    const p = await ctx.newPage();
    await p.goto(server.url + '/bench/render.html');
    await p.waitForFunction(() => window.liveChat && window.liveChat.loaded === true, null, { timeout: 15000 });
    const r = await p.evaluate(() => new Promise((res, rej) => window.liveChat('send', { type: 'BASIC', message: 'seed message 0' }, (e, v) => (e ? rej(new Error(JSON.stringify(e))) : res(v)))));
    threadId = r.threadId;
    await p.close();
  }
  // 2. N−1 agent replies while the visitor is away.
  const t0 = Date.now();
  let next = 1;
  const worker = async () => {
    while (next < N) {
      const i = next++;
      const res = await fetch(`${server.url}/v1/conversations/${encodeURIComponent(threadId)}/messages`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${AGENT_TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ text: `Agent message ${i}: a line of conversation of ordinary length, about an order.` }),
      });
      if (res.status !== 201) throw new Error(`reply ${i}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  const seedMs = Date.now() - t0;
  process.stderr.write(`seeded ${N} messages in ${seedMs} ms\n`);

  // 3. Reopen with last_seq = 0: the server sends one sync with every message.
  await ctx.addInitScript((id) => {
    const key = 'livechat:' + id;
    const raw = localStorage.getItem(key);
    if (raw) {
      const s = JSON.parse(raw);
      s.last_seq = 0;
      s.threads = [];
      localStorage.setItem(key, JSON.stringify(s));
    }
  }, WIDGET_ID);
  const p = await ctx.newPage();
  const errors = [];
  const warnings = [];
  p.on('pageerror', (e) => errors.push(String(e)));
  p.on('console', (m) => { if (m.type() === 'warning' || m.type() === 'error') warnings.push(m.text()); });
  await p.goto(server.url + '/bench/render.html');
  // The view keeps the newest 200 messages in the DOM (src/view/mod.rs MAX_RENDERED); the
  // sync has been applied once the stored last_seq (set to 0 above) is back to the head.
  const loadedAt = await p.waitForFunction(({ n, id }) => {
    const host = document.querySelector('#livechat-widget');
    const root = host && host.shadowRoot;
    let s = null; try { s = JSON.parse(localStorage.getItem('livechat:' + id)); } catch { /* mid-write */ }
    return root && s && s.last_seq >= n && root.querySelectorAll('.log li').length >= Math.min(n, 200) ? performance.now() - window.__t0 : false;
  }, { n: N, id: WIDGET_ID }, { timeout: Number(process.env.RENDER_WAIT_MS || 120000), polling: 50 }).then((h) => h.jsonValue()).catch(async (e) => {
    const st = await p.evaluate((id) => {
      const root = document.querySelector('#livechat-widget')?.shadowRoot;
      let s = null; try { s = JSON.parse(localStorage.getItem('livechat:' + id)); } catch {}
      return { lis: root ? root.querySelectorAll('.log li').length : null, last_seq: s && s.last_seq, threads: s && s.threads.map((t) => (t.messages || []).length), ui: s && s.ui };
    }, WIDGET_ID);
    throw new Error(`${e.message}; state: ${JSON.stringify(st)}; console: ${warnings.join(' | ')}`);
  });
  await p.waitForTimeout(1000);

  out = await p.evaluate(async () => {
    const root = document.querySelector('#livechat-widget').shadowRoot;
    const frame = () => new Promise((r) => requestAnimationFrame(r));
    const nodesClosed = root.querySelectorAll('*').length;
    // Open.
    const t = performance.now();
    const cbAt = await new Promise((res, rej) => window.liveChat('show', undefined, (e) => (e ? rej(new Error(JSON.stringify(e))) : res(performance.now()))));
    for (;;) {
      await frame();
      const w = root.querySelector('.window');
      if (w && !w.hidden && w.getBoundingClientRect().height > 0) break;
    }
    const open = performance.now() - t;
    const openCb = cbAt - t;
    const nodes = root.querySelectorAll('*').length;
    const lis = root.querySelectorAll('.log li').length;
    // The scrolling element of the log.
    const scroller = [...root.querySelectorAll('*')].find((el) => el.scrollHeight > el.clientHeight + 100 && /(auto|scroll)/.test(getComputedStyle(el).overflowY));
    if (!scroller) return { error: 'no scrolling log element' };
    const bottom = () => scroller.scrollHeight - scroller.clientHeight;
    const record = async (start, done, maxFrames) => {
      const deltas = [];
      let last = performance.now();
      start();
      for (let f = 0; f < maxFrames; f++) {
        const ts = await frame();
        const now = performance.now();
        deltas.push(now - last);
        last = now;
        if (done()) break;
      }
      return deltas;
    };
    // Idle frame rate for reference.
    const idle = await record(() => {}, () => false, 60);
    scroller.scrollTop = 0;
    await frame(); await frame();
    let stable = 0; let prev = -1;
    const smooth = await record(() => scroller.scrollTo({ top: bottom(), behavior: 'smooth' }), () => {
      if (scroller.scrollTop === prev) stable++; else stable = 0;
      prev = scroller.scrollTop;
      return scroller.scrollTop >= bottom() - 1 || stable > 30;
    }, 3000);
    const smoothReached = scroller.scrollTop >= bottom() - 1;
    scroller.scrollTop = 0;
    await frame(); await frame();
    const step = scroller.clientHeight;
    const stepped = await record(() => {}, () => {
      scroller.scrollTop += step;
      return scroller.scrollTop >= bottom() - 1;
    }, 100000);
    return {
      nodesClosed, nodes, lis, open, openCb, idle, smooth, smoothReached, stepped,
      scrollHeight: scroller.scrollHeight, clientHeight: scroller.clientHeight, scroller: scroller.className || scroller.tagName,
    };
  });
  if (out.error) throw new Error(out.error);
  out.seedMs = seedMs;
  out.loadedAt = loadedAt;
  out.warnings = warnings;
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  await ctx.close();
} finally {
  await browser.close().catch(() => {});
  await server.stop();
}

const over = (d, ms) => d.filter((x) => x > ms).length;
const frameRow = (name, d) => [name, d.length, fmt(pct(d, 50)), fmt(pct(d, 99)), fmt(Math.max(...d)), over(d, 17), over(d, 25)];
console.log(`\nRendering, one conversation of ${N} messages\n`);
printTable(['metric', 'value'], [
  ['seeding (agent API, 16 in flight)', `${out.seedMs} ms`],
  ['navigation → sync applied and log rendered', `${fmt(out.loadedAt, 0)} ms`],
  ['show → callback', `${fmt(out.openCb, 1)} ms`],
  ['show → window laid out (next frame)', `${fmt(out.open, 1)} ms`],
  ['<li> in the log', out.lis],
  ['elements in the shadow root (closed / open)', `${out.nodesClosed} / ${out.nodes}`],
  ['log scroll height', `${out.scrollHeight} px (viewport ${out.clientHeight} px, element .${out.scroller})`],
]);
console.log('\nrequestAnimationFrame deltas, ms\n');
printTable(['scroll', 'frames', 'p50', 'p99', 'max', '> 17 ms', '> 25 ms (dropped)'], [
  frameRow('idle (no scrolling)', out.idle),
  frameRow(`smooth scrollTo top→bottom${out.smoothReached ? '' : ' (did not reach bottom)'}`, out.smooth),
  frameRow('stepped, one viewport per frame', out.stepped),
]);
if (out.warnings.length) console.log(`\nconsole warnings: ${[...new Set(out.warnings)].slice(0, 3).join(' | ')}`);
console.log(`\nfor docs/performance.md (${machineNote()}):`);
console.log(`| ${N} msgs | open ${fmt(out.open, 1)} ms | ${out.nodes} elements | smooth scroll: ${over(out.smooth, 17)}/${out.smooth.length} frames > 17 ms (max ${fmt(Math.max(...out.smooth), 1)}) | stepped: ${over(out.stepped, 17)}/${out.stepped.length} frames > 17 ms (max ${fmt(Math.max(...out.stepped), 1)}) |`);

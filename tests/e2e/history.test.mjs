// Older history, on a site with the strict CSP the README gives: a conversation of 260
// messages (the visitor's first, 259 agent replies through the agent API), reloaded, so the
// widget has what it stores (the newest 100). Scrolling to the top loads the earlier ones
// page by page from the server (`history` frames over the socket): they arrive in order,
// none twice, the message the visitor looked at stays where it was, a polite status says
// that something loads, focus stays put, and once the first message is there no further
// request goes out. No CSP violation on the way.
import { test, before, after } from 'node:test';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assert, startServer, launchBrowser, track, waitLoaded, waitFor, ok, inShadow, waitForWidget, agentApi,
  assertNoPageErrors, REPO, WIDGET_ID,
} from './harness.mjs';

let server;
let browser;
let host;
const agent = agentApi(() => server.url);
const TOTAL = 260;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const snippet = readFileSync(join(REPO, 'www', 'snippet.html'), 'utf8').replace(/<!--[\s\S]*?-->\s*/, '').trim();
  host = http.createServer((req, res) => {
    const nonce = randomBytes(16).toString('base64');
    const ws = server.url.replace(/^http/, 'ws');
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Content-Security-Policy', [
      "default-src 'self'",
      `script-src 'self' ${server.url} 'wasm-unsafe-eval' 'nonce-${nonce}'`,
      "style-src 'self'",
      `connect-src 'self' ${server.url} ${ws}`,
      `img-src 'self' ${server.url} data: blob:`,
    ].join('; '));
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Long history</title>
<script nonce="${nonce}">window.__violations = []; addEventListener('securitypolicyviolation', (e) => window.__violations.push({ directive: e.violatedDirective, blocked: e.blockedURI }));</script>
</head><body><h1>A shop</h1>
${snippet.replace('<script>', `<script nonce="${nonce}">`).replace('https://chat.example.com', server.url)}
</body></html>`);
  });
  await new Promise((resolve) => host.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (host) host.close();
  if (server) await server.stop();
});

const rows = (page) => inShadow(page, (root) => [...root.querySelectorAll('.log li .bubble')].map((b) => b.textContent));

/** Scrolls the log to the top; remembers its first row and where that row is. */
const scrollToTop = (page) => inShadow(page, (root) => {
  const log = root.querySelector('.log');
  log.scrollTop = 0;
  const first = root.querySelector('.log li');
  window.__anchor = first;
  return { text: first.querySelector('.bubble').textContent, top: first.getBoundingClientRect().top - log.getBoundingClientRect().top };
});
const anchorTop = (page) => inShadow(page, (root) => {
  const log = root.querySelector('.log');
  return { top: window.__anchor.getBoundingClientRect().top - log.getBoundingClientRect().top, scrolled: log.scrollTop };
});

test('scrolling to the top loads earlier messages page by page, in order, keeping the scroll position', async () => {
  const ctx = await browser.newContext();
  const page = track(await ctx.newPage());
  const origin = `http://127.0.0.1:${host.address().port}/`;
  // Every history frame, by the page load whose socket carried it.
  let load = 0;
  const frames = [];
  page.on('websocket', (ws) => {
    const on = load;
    ws.on('framesent', (f) => { if (typeof f.payload === 'string' && f.payload.includes('"type":"history"')) frames.push({ load: on, sent: JSON.parse(f.payload) }); });
    ws.on('framereceived', (f) => { if (typeof f.payload === 'string' && f.payload.includes('"type":"history_page"')) frames.push({ load: on, got: JSON.parse(f.payload) }); });
  });
  await page.goto(origin);
  await waitLoaded(page);
  await ok(page, 'init', WIDGET_ID);
  const sent = await ok(page, 'send', { type: 'BASIC', message: 'm0' });
  for (let i = 1; i < TOTAL; i++) await agent.reply(sent.threadId, `m${i}`);
  const all = Array.from({ length: TOTAL }, (_, i) => `m${i}`);
  await ok(page, 'show', null);
  await waitForWidget(page, (w) => w.messages.some((m) => m.text === `m${TOTAL - 1}`), 'every reply live');

  // A reload: the widget has what it stored (the newest 100) and resumes, at the bottom.
  load = 1;
  await page.reload();
  await waitLoaded(page);
  await ok(page, 'init', WIDGET_ID);
  await waitForWidget(page, (w) => w.open && w.messages.some((m) => m.text === `m${TOTAL - 1}`), 'restored open');
  const restored = await rows(page);
  assert.deepEqual(restored, all.slice(-100), 'the newest 100, nothing asked yet');
  const reloaded = () => frames.filter((f) => f.load === 1);
  assert.equal(reloaded().length, 0, 'no history request while the visitor stays at the bottom');

  // The polite status is recorded whenever it changes; focus sits in the log (keyboard user).
  await inShadow(page, (root) => {
    const status = root.querySelector('.log [role=status]');
    window.__status = [];
    new MutationObserver(() => window.__status.push(status.textContent)).observe(status, { childList: true, characterData: true, subtree: true });
    root.querySelector('.log').focus();
  });

  let previous = restored.length;
  for (let pageNo = 1; previous < TOTAL; pageNo++) {
    assert.ok(pageNo <= 4, 'four pages of at most 50');
    const before = await scrollToTop(page);
    const now = await waitFor(async () => { const r = await rows(page); return r.length > previous && r; }, { timeout: 15000, message: `older page ${pageNo}` });
    assert.deepEqual(now, all.slice(-now.length), 'older messages on top, in order, none twice');
    // The row the visitor looked at did not move: the scroll position followed the growth.
    await new Promise((r) => setTimeout(r, 150));
    const after = await anchorTop(page);
    assert.ok(Math.abs(after.top - before.top) <= 2, `row ${before.text} stayed in place: ${before.top} → ${after.top} (scrollTop ${after.scrolled})`);
    assert.ok(after.scrolled > 0, 'scrolled down by what was added');
    previous = now.length;
  }
  assert.equal((await rows(page))[0], 'm0', 'back to the first message');

  // Once the server said nothing is older, reaching the top asks nothing more.
  await scrollToTop(page);
  await new Promise((r) => setTimeout(r, 1000));
  const asked = reloaded().filter((f) => f.sent).map((f) => f.sent);
  const answers = reloaded().filter((f) => f.got).map((f) => f.got);
  assert.equal(asked.length, 4, JSON.stringify(asked));
  assert.ok(asked.every((f) => f.thread_id === sent.threadId && f.limit === 50));
  assert.equal(new Set(asked.map((f) => f.before)).size, 4, 'never the same page twice');
  assert.deepEqual(answers.map((a) => [a.messages.length, a.more]), [[50, true], [50, true], [50, true], [10, false]]);

  const a11y = await inShadow(page, (root) => ({
    status: window.__status,
    now: root.querySelector('.log [role=status]').textContent,
    busy: root.querySelector('.log').getAttribute('aria-busy'),
    focus: root.activeElement && root.activeElement.className,
  }));
  assert.ok(a11y.status.includes('Loading earlier messages…'), `a polite status while loading: ${JSON.stringify(a11y.status)}`);
  assert.equal(a11y.now, '', 'and nothing once loaded');
  assert.equal(a11y.busy, 'false');
  assert.equal(a11y.focus, 'log', 'focus not moved');
  assert.deepEqual(await page.evaluate(() => window.__violations), [], 'no CSP violation reported');
  assertNoPageErrors(page);
  await ctx.close();
});

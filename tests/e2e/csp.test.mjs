// A site with a strict Content-Security-Policy (no 'unsafe-inline' anywhere, a nonce for its
// own inline script): the README's nonce'd snippet loads the widget from the chat server,
// which renders, themes and chats with no violation reported. A `securitypolicyviolation`
// listener, installed before anything else runs, collects every report; none may come.
// The agent console (its own CSP, meta tag) is checked the same way.
import { test, before, after } from 'node:test';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assert, startServer, launchBrowser, track, waitLoaded, waitFor, ok, inShadow, waitForWidget, agentApi, assertNoPageErrors,
  REPO, WIDGET_ID, AGENT_TOKEN,
} from './harness.mjs';

let server;
let browser;
let host;
const agent = agentApi(() => server.url);
// A 1×1 PNG, for an attachment thumbnail drawn from the chat server (img-src).
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

/** The CSP the README tells a site to send, for a chat server at `chat` (http://host:port). */
function policy(chat, nonce) {
  const ws = chat.replace(/^http/, 'ws');
  return [
    "default-src 'self'",
    `script-src 'self' ${chat} 'wasm-unsafe-eval' 'nonce-${nonce}'`,
    "style-src 'self'",
    `connect-src 'self' ${chat} ${ws}`,
    `img-src 'self' ${chat} data: blob:`,
  ].join('; ');
}

/** The README's nonce'd snippet with the chat server's URL. */
function snippet(nonce) {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const m = readme.match(/```html\n(<script nonce="[^"]*">[\s\S]*?<\/script>)\n```/);
  assert.ok(m, 'README shows a nonce\'d snippet');
  const plain = readFileSync(join(REPO, 'www', 'snippet.html'), 'utf8').replace(/<!--[\s\S]*?-->\s*/, '').trim();
  assert.equal(m[1].replace(/ nonce="[^"]*"/, ''), plain, 'the nonce\'d snippet is www/snippet.html with a nonce');
  return m[1].replace(/nonce="[^"]*"/, `nonce="${nonce}"`).replace('https://chat.example.com', server.url);
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  host = http.createServer((req, res) => {
    const nonce = randomBytes(16).toString('base64');
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Content-Security-Policy', policy(server.url, nonce));
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Strict shop</title>
<script nonce="${nonce}">window.__violations = []; addEventListener('securitypolicyviolation', (e) => window.__violations.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample }));</script>
</head><body><h1>A shop with a strict CSP</h1>
${snippet(nonce)}
</body></html>`);
  });
  await new Promise((resolve) => host.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (host) host.close();
  if (server) await server.stop();
});

test('strict CSP: the nonce\'d snippet loads the widget, which renders, themes and chats with no violation', async () => {
  const ctx = await browser.newContext();
  const page = track(await ctx.newPage());
  await page.goto(`http://127.0.0.1:${host.address().port}/`);
  await waitLoaded(page);
  const init = await ok(page, 'init', WIDGET_ID);
  assert.equal(init.widgetId, WIDGET_ID);
  await ok(page, 'show', null);
  await waitForWidget(page, (w) => w.open, 'window open');

  // The theme reaches the computed style (a blocked style attribute would leave the default).
  const colours = () => inShadow(page, (root) => ({
    theme: root.querySelector('.lc').getAttribute('data-theme'),
    left: root.querySelector('.lc').classList.contains('left'),
    window: getComputedStyle(root.querySelector('.window')).backgroundColor,
    text: getComputedStyle(root.querySelector('.lc')).color,
  }));
  await ok(page, 'set_theme', 'dark');
  const dark = await waitFor(async () => { const c = await colours(); return c.theme === 'dark' && c; }, { message: 'dark theme' });
  assert.equal(dark.window, 'rgb(30, 31, 34)', 'dark background (#1e1f22) applied');
  assert.equal(dark.text, 'rgb(232, 234, 237)', 'dark text (#e8eaed) applied');
  assert.equal(dark.left, true);
  await ok(page, 'set_theme', 'light');
  const light = await waitFor(async () => { const c = await colours(); return c.theme === 'light' && c; }, { message: 'light theme' });
  assert.equal(light.window, 'rgb(255, 255, 255)');
  assert.equal(light.text, 'rgb(31, 31, 31)');

  // Chat both ways, with an attachment thumbnail served by the chat server.
  const sent = await ok(page, 'send', { type: 'BASIC', message: 'hello under a strict CSP' });
  await agent.reply(sent.threadId, 'answer under a strict CSP');
  await waitForWidget(page, (w) => w.messages.some((m) => m.text.includes('answer under a strict CSP')), 'agent reply shown');
  await ok(page, 'send', { type: 'BASIC', attachment: PNG, fileName: 'dot.png' });
  const width = await waitFor(() => inShadow(page, (root) => {
    const img = root.querySelector('.log .msg.visitor:not(.pending) a.file img');
    return img && img.complete && img.naturalWidth;
  }), { message: 'thumbnail loaded' });
  assert.equal(width, 1);

  assert.deepEqual(await page.evaluate(() => window.__violations), [], 'no CSP violation reported');
  const refused = page.consoleMessages.filter((m) => /Content Security Policy|Refused to/i.test(m.text));
  assert.deepEqual(refused, [], 'nothing refused on the console');
  assertNoPageErrors(page);
  await ctx.close();
});

test('the agent console runs under its own strict CSP with no violation', async () => {
  const ctx = await browser.newContext();
  await ctx.addInitScript(() => {
    window.__violations = [];
    addEventListener('securitypolicyviolation', (e) => window.__violations.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample }));
  });
  const page = track(await ctx.newPage());
  const response = await page.goto(`${server.url}/agent/`);
  const html = await response.text();
  assert.match(html, /http-equiv="?Content-Security-Policy"? content="default-src 'self'; script-src 'self'; style-src 'self'/);
  assert.doesNotMatch(html, /<style|style=|<script>/, 'no inline style or script');
  await page.getByLabel('Agent API token').fill(AGENT_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForSelector('#conn[data-state="live"]');
  await page.waitForSelector('#conv-list .conv');
  await page.click('#conv-list .conv');
  await page.waitForSelector('#messages li.msg');
  await page.fill('#reply', 'typed under a CSP');
  // The console's own stylesheet applied (it is a file now, not an inline <style>).
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.notEqual(bg, 'rgba(0, 0, 0, 0)', 'agent.css applied');
  assert.deepEqual(await page.evaluate(() => window.__violations), [], 'no CSP violation reported');
  assertNoPageErrors(page);
  await ctx.close();
});

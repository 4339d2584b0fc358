// The widget embedded the way a customer does it: the README's snippet pasted into a page
// of *another* site (here a second HTTP server on another port = another origin), loading
// the widget from the chat server. Everything the widget fetches is then cross-origin:
// the module script, the glue, the wasm (CORS, served precompressed), the configuration
// (CORS by allowed origin) and the websocket (Origin checked).
import { test, before, after } from 'node:test';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assert, startServer, launchBrowser, track, waitLoaded, waitFor, call, waitForWidget, agentApi, assertNoPageErrors, REPO, WIDGET_ID,
} from './harness.mjs';

let server;
let browser;
const hosts = [];
const agent = agentApi(() => server.url);

/** The README snippet (www/snippet.html) with the chat server's widget URL. */
function snippet() {
  const html = readFileSync(join(REPO, 'www', 'snippet.html'), 'utf8').replace(/<!--[\s\S]*?-->\s*/, '');
  assert.match(html, /https:\/\/chat\.example\.com\/widget\/livechat\.js/);
  return html.replace('https://chat.example.com', server.url);
}

/** A host site on its own origin (`hostname` 127.0.0.1 or localhost) serving one shop page. */
async function hostSite(hostname) {
  const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Another shop</title></head>
<body><h1>Another shop</h1><p>Products.</p>
<script>window.__fatal = []; addEventListener('livechat:fatal', (e) => window.__fatal.push(e.detail));</script>
${snippet()}
</body></html>`;
  const srv = http.createServer((req, res) => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(page);
  });
  await new Promise((resolve) => srv.listen(0, hostname, resolve));
  hosts.push(srv);
  return `http://${hostname}:${srv.address().port}/`;
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  for (const h of hosts) h.close();
  if (server) await server.stop();
});

test('the README snippet on another site (cross-origin) loads the widget, compressed and cached, and chats both ways', async () => {
  const url = await hostSite('127.0.0.1'); // allowed: allowed_origins = ["http://127.0.0.1:*"]
  assert.notEqual(new URL(url).origin, new URL(server.url).origin, 'the host page is cross-origin');
  const ctx = await browser.newContext();
  const page = track(await ctx.newPage());
  const widgetFiles = [];
  page.on('response', (r) => {
    if (r.url().startsWith(`${server.url}/widget/`)) widgetFiles.push({ url: r.url(), status: r.status(), encoding: r.headers()['content-encoding'] });
  });
  await page.goto(url);
  await waitLoaded(page);
  const init = await call(page, 'init', WIDGET_ID);
  assert.equal(init.error, null, JSON.stringify(init.error));
  assert.equal(init.result.widgetId, WIDGET_ID);
  // The wasm and the glue came compressed (br or gzip, whichever Chromium accepts here).
  for (const name of ['livechat.js', 'livechat_widget.js', 'livechat_widget_bg.wasm']) {
    const f = widgetFiles.find((x) => new URL(x.url).pathname === `/widget/${name}`);
    assert.ok(f, `${name} fetched from the chat server`);
    assert.equal(f.status, 200, name);
    assert.ok(['br', 'gzip'].includes(f.encoding), `${name} compressed (content-encoding ${f.encoding})`);
  }

  const sent = await call(page, 'send', { type: 'BASIC', message: 'hello from another site' });
  assert.equal(sent.error, null, JSON.stringify(sent.error));
  const stored = await agent.messages(sent.result.threadId);
  assert.equal(stored.filter((m) => m.text === 'hello from another site').length, 1, 'stored once');
  await agent.reply(sent.result.threadId, 'answer to the other site');
  await call(page, 'show', null);
  await waitForWidget(page, (w) => w.messages.some((m) => m.text.includes('answer to the other site')), 'agent reply shown');
  assert.deepEqual(await page.evaluate(() => window.__fatal), []);
  const cors = page.consoleMessages.filter((m) => /CORS|blocked/i.test(m.text));
  assert.deepEqual(cors, [], 'no CORS error in the console');
  assertNoPageErrors(page);

  // A returning visitor: the loader runs from the browser's cache and is revalidated
  // (304, headers only) in the background (stale-while-revalidate); the glue and the
  // wasm, addressed by content hash, come from the cache without a request.
  // (Timing-Allow-Origin lets the host page see these sizes; without it they read 0.)
  await page.reload();
  await waitLoaded(page);
  const sizes = await page.evaluate(() => Object.fromEntries(performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/widget/'))
    .map((e) => [new URL(e.name).pathname.split('/').pop(), { transfer: e.transferSize, decoded: e.decodedBodySize }])));
  const loader = sizes['livechat.js'];
  assert.ok(loader && loader.transfer > 0 && loader.transfer < 1000, `loader revalidated with a 304: ${JSON.stringify(sizes)}`);
  for (const name of ['livechat_widget.js', 'livechat_widget_bg.wasm']) {
    assert.ok(sizes[name] && sizes[name].transfer === 0 && sizes[name].decoded > 10000, `${name} from the cache, no request: ${JSON.stringify(sizes)}`);
  }
  await ctx.close();
});

test('a site not in allowed_origins gets a clear origin_not_allowed error, nothing thrown', async () => {
  const url = await hostSite('localhost'); // http://localhost:* is not allowed
  const ctx = await browser.newContext();
  const page = track(await ctx.newPage());
  await page.goto(url);
  await waitLoaded(page);
  const init = await call(page, 'init', WIDGET_ID);
  assert.equal(init.error && init.error.code, 'rejected', JSON.stringify(init));
  assert.equal(init.error.reason, 'origin_not_allowed');
  assert.match(init.error.message, /origin/);
  // The failed init leaves the widget uninitialized: later calls say so.
  const sent = await call(page, 'send', { type: 'BASIC', message: 'should not go anywhere' });
  assert.equal(sent.error && sent.error.code, 'not_initialized', JSON.stringify(sent));
  assertNoPageErrors(page);
  await ctx.close();
});

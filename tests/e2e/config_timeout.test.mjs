// The configuration request is bounded (issue 12 §4): behind a proxy that forwards
// everything but never answers `GET /v1/widgets/{id}/config` (a hung upstream), a first
// visit's `init` (queued by the snippet, so the loader's early request is the first attempt)
// is answered with `config_unavailable` after three attempts of 10 s each, 1 s and 3 s
// apart, each on a URL of its own; once the route answers again, a new `init` works.
import { test, before, after } from 'node:test';
import http from 'node:http';
import {
  assert, startServer, launchBrowser, track, call, ok, assertNoPageErrors, WIDGET_ID,
} from './harness.mjs';

let server;
let browser;
let proxy;
let hang = true;
const configRequests = []; // [time, url]
const held = [];

// The snippet as documented, with an init whose answer the test reads.
const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>hung config</title>
<script>
(function(w,d,u){w.liveChat=w.liveChat||function(){(w.liveChat.q=w.liveChat.q||[]).push(arguments)};
var s=d.createElement('script');s.type='module';s.async=true;s.src=u;d.head.appendChild(s)})
(window,document,'/widget/livechat.js');
window.__t0 = Date.now();
liveChat('init', '${WIDGET_ID}', function (error, result) {
  (window.__init = window.__init || []).push({ error: error, result: result, at: Date.now() - window.__t0 });
});
</script></head><body><h1>hung config</h1></body></html>`;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const upstream = new URL(server.url);
  proxy = http.createServer((req, res) => {
    if (req.url === '/hung-config.html') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(PAGE);
    }
    if (/^\/v1\/widgets\/[^/]+\/config/.test(req.url)) {
      configRequests.push([Date.now(), req.url]);
      if (hang) { held.push(res); return; } // never answered
    }
    const out = http.request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  proxy.on('upgrade', (req, socket) => socket.destroy()); // no chat needed here
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  for (const res of held) res.destroy();
  if (browser) await browser.close().catch(() => {});
  if (proxy) proxy.close();
  if (server) await server.stop();
});

test('a config request that never answers: init gets config_unavailable after three bounded attempts, then a new init works', async () => {
  const ctx = await browser.newContext();
  const page = track(await ctx.newPage());
  await page.goto(`http://127.0.0.1:${proxy.address().port}/hung-config.html`);
  await page.waitForFunction(() => window.__init, null, { timeout: 90_000, polling: 200 });
  await page.waitForTimeout(300); // a second answer would come now
  const answers = await page.evaluate(() => window.__init);
  assert.equal(answers.length, 1, `init answered once: ${JSON.stringify(answers)}`);
  const [{ error, at }] = answers;
  assert.equal(error && error.code, 'config_unavailable', JSON.stringify(answers));
  assert.match(error.message, /3 attempts/);
  assert.match(error.message, /no answer within 10 s/);
  const urls = configRequests.map(([, u]) => u);
  assert.equal(urls.length, 3, `three attempts: ${urls}`);
  assert.equal(new Set(urls).size, 3, `each attempt its own URL (none waits behind the hung one): ${urls}`);
  // 10 s + 1 s + 10 s + 3 s + 10 s of the widget's own deadlines (plus the wait before the
  // loader stops waiting and loads the widget), not the browser's.
  assert.ok(at >= 34_000 && at < 75_000, `answered after ${at} ms`);
  assert.ok(configRequests[1][0] - configRequests[0][0] >= 10_500, 'the second attempt waited for the first one\'s deadline and the pause');
  assert.ok(configRequests[2][0] - configRequests[1][0] >= 12_500, 'the third one waited 10 s + 3 s');
  // The widget is not initialized; once the route answers, a new init works.
  assert.equal((await call(page, 'show', null)).error.code, 'not_initialized');
  hang = false;
  const init = await ok(page, 'init', WIDGET_ID);
  assert.equal(init.widgetId, WIDGET_ID);
  assert.equal(new Set(configRequests.map(([, u]) => u)).size, 4, 'the new init used a URL of its own');
  assertNoPageErrors(page);
  await ctx.close();
});

// The snippet's stub queue, double loading, the strict-CSP failure path and a widget script
// that cannot be fetched.
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assert, useEnv, waitLoaded, waitFor, call, ok, widgetState, waitForWidget, assertNoPageErrors, assertErrorShape, WIDGET_ID, REPO,
} from './harness.mjs';

const env = useEnv();

test('calls queued before the script loads are replayed in order, each answered once', async () => {
  const page = await env.open('/e2e/queue.html', { waitLoaded: false });
  // The stub queued the calls before the module script could run.
  assert.equal(await page.evaluate(() => window.__queuedBeforeLoad), 6);
  assert.equal(await page.evaluate(() => window.__loadedBefore), false);
  await waitLoaded(page);
  const log = await waitFor(() => page.evaluate(() => (window.__log.length >= 6 ? window.__log : null)), { message: '6 callbacks' });
  // Wait a little more to catch duplicates.
  await page.waitForTimeout(300);
  const final = await page.evaluate(() => window.__log);
  assert.equal(final.length, 6, `each queued call answered exactly once: ${JSON.stringify(final)}`);
  assert.deepEqual(log.map((e) => e.name), ['init', 'show', 'draft', 'set_language', 'hide_launcher', 'show_launcher']);
  for (const e of final) assert.equal(e.error, null, `${e.name}: ${JSON.stringify(e.error)}`);
  assert.equal(final[0].result.widgetId, WIDGET_ID);
  assert.deepEqual(final[2].result, { draft: 'queued draft' });
  assert.equal(final[3].result.language, 'de-DE');
  // Replayed in order: hide_launcher collapsed the window, show_launcher brought the launcher back.
  assert.deepEqual(final[4].result, { open: false, launcher: false });
  assert.deepEqual(final[5].result, { open: false, launcher: true });
  assert.equal(await page.evaluate(() => window.liveChat.loaded), true, 'liveChat.loaded afterwards');
  const s = await waitForWidget(page, (w) => w.lang === 'de-DE' && w.draft === 'queued draft', 'queued effects rendered');
  assert.equal(s.open, false);
  assert.equal(s.launcher, true);
  // The real function answers later calls directly.
  assert.deepEqual(await ok(page, 'show', null), { open: true, launcher: true });
  assertNoPageErrors(page);
});

test('the snippet pasted twice and the script loaded again do no harm', async () => {
  const page = await env.open('/e2e/twice.html');
  await waitFor(() => page.evaluate(() => window.__log.length >= 2), { message: 'both init callbacks' });
  await waitForWidget(page, (w) => w.launcher === true, 'widget rendered');
  const log = await page.evaluate(() => window.__log);
  assert.deepEqual(log.map((e) => e.name).sort(), ['init-1', 'init-2']);
  assert.ok(log.every((e) => e.error === null), JSON.stringify(log));
  assert.equal(await page.evaluate(() => document.querySelectorAll('#livechat-widget').length), 1, 'one widget host');

  // Load the script a third time, after the widget booted.
  await page.evaluate(() => new Promise((resolve) => {
    const s = document.createElement('script');
    s.type = 'module';
    s.src = '/widget/livechat.js?late=3';
    s.onload = resolve;
    s.onerror = resolve;
    document.head.appendChild(s);
  }));
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => document.querySelectorAll('#livechat-widget').length), 1, 'still one widget host');
  // Calls are still answered exactly once (call() asserts the count) and act on the one widget.
  assert.deepEqual(await ok(page, 'show', null), { open: true, launcher: true });
  const r = await ok(page, 'send', { type: 'BASIC', message: 'hello after double load' });
  assert.ok(r.messageId && r.threadId);
  await waitForWidget(page, (w) => w.open && w.messages.some((m) => m.text === 'hello after double load'), 'message shown once');
  const s = await widgetState(page);
  assert.equal(s.messages.filter((m) => m.text === 'hello after double load').length, 1);
  assertNoPageErrors(page);
});

test("a CSP without 'wasm-unsafe-eval' names the fix and queued callbacks get an error object", async () => {
  const page = await env.open('/e2e/csp.html', { waitLoaded: false });
  const log = await waitFor(() => page.evaluate(() => (window.__log.length >= 2 ? window.__log : null)), { message: 'queued callbacks answered' });
  await page.waitForTimeout(200);
  const final = await page.evaluate(() => window.__log);
  assert.equal(final.length, 2, 'each queued callback exactly once');
  assert.deepEqual(log.map((e) => e.name), ['init', 'show']);
  for (const e of final) {
    assert.ok(e.error, `${e.name} got an error`);
    assertErrorShape(e.error);
    assert.equal(e.error.code, 'load_failed');
    assert.match(e.error.message, /wasm-unsafe-eval/);
    assert.equal(e.result, null);
  }
  const errors = page.consoleMessages.filter((m) => m.type === 'error' && m.text.includes('wasm-unsafe-eval'));
  assert.ok(errors.length >= 1, `console error names 'wasm-unsafe-eval': ${JSON.stringify(page.consoleMessages)}`);
  // Later calls are answered with the same error, once, without throwing.
  const later = await call(page, 'init', WIDGET_ID);
  assert.equal(later.error.code, 'load_failed');
  assert.equal(await page.evaluate(() => document.querySelectorAll('#livechat-widget').length), 0);
  assertNoPageErrors(page);
});

test('the widget script cannot be fetched (404, blocked, offline): the snippet answers queued and later calls with load_failed', async () => {
  // The documented snippet, pointing at a URL that fails, with a throwing callback among
  // the queued ones (it must not stop the others or reach the page).
  const snippet = readFileSync(join(REPO, 'www', 'snippet.html'), 'utf8').replace(/<!--[\s\S]*?-->\s*/, '')
    .replace('https://chat.example.com/widget/livechat.js', '/widget/missing-livechat.js')
    .replace(/liveChat\('init','[^']*'\);/, `window.__log = [];
liveChat('init', '${WIDGET_ID}', function (e, r) { window.__log.push({ name: 'init', error: e, result: r }); });
liveChat('show', null, function () { throw new Error('host callback throws'); });
liveChat('set_language', 'de-DE', function (e, r) { window.__log.push({ name: 'set_language', error: e, result: r }); });`);
  assert.match(snippet, /missing-livechat\.js/);
  const ctx = await env.browser.newContext();
  env.contexts.push(ctx);
  const url = env.url('/e2e/snippet-unreachable.html');
  await ctx.route(url, (route) => route.fulfill({ contentType: 'text/html', body: `<!doctype html><html><head><title>x</title></head><body>${snippet}</body></html>` }));
  const page = await env.open(null, { context: ctx });
  await page.goto(url);
  const log = await waitFor(() => page.evaluate(() => (window.__log.length >= 2 ? window.__log : null)), { message: 'queued callbacks answered' });
  await page.waitForTimeout(200);
  assert.deepEqual(log.map((e) => e.name), ['init', 'set_language']);
  for (const e of log) {
    assertErrorShape(e.error);
    assert.equal(e.error.code, 'load_failed');
    assert.match(e.error.message, /missing-livechat\.js/);
    assert.equal(e.result, undefined);
  }
  assert.ok(page.consoleMessages.some((m) => m.type === 'error' && m.text.includes('host callback throws')), 'the throwing callback is reported on the console');
  const later = await call(page, 'send', { type: 'BASIC', message: 'x' });
  assert.equal(later.error.code, 'load_failed');
  assertNoPageErrors(page);
});

test('a glue and a wasm of two builds (a cached loader after a deploy): the loader asks for both again and the widget starts', async () => {
  // The first wasm request gets this build's wasm with another build's import module tag,
  // as an older loader's cached glue would meet a newer wasm: they refuse to instantiate
  // together. The loader then asks for both under new URLs and gets a matching pair.
  const ctx = await env.browser.newContext();
  env.contexts.push(ctx);
  const wasm = readFileSync(join(REPO, 'dist', 'widget', 'livechat_widget_bg.wasm'));
  // The build's tag: the import module name every import of the wasm carries (8 hex digits).
  const counts = {};
  for (const m of wasm.toString('latin1').matchAll(/\x08([0-9a-f]{8})/g)) counts[m[1]] = (counts[m[1]] || 0) + 1;
  const [tag, times] = Object.entries(counts).sort((a, b) => b[1] - a[1])[0];
  assert.ok(times > 100, `the tag names every import: ${tag} ${times}`);
  const other = Buffer.from(wasm.toString('latin1').split(tag).join('0badc0de'), 'latin1');
  assert.notDeepEqual(other, wasm);
  const asked = [];
  await ctx.route('**/widget/livechat_widget_bg.wasm*', async (route) => {
    asked.push(new URL(route.request().url()).search);
    if (asked.length === 1) await route.fulfill({ status: 200, contentType: 'application/wasm', body: other });
    else await route.continue();
  });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(env.url('/e2e/plain.html'));
  await waitLoaded(page);
  const init = await call(page, 'init', WIDGET_ID);
  assert.equal(init.error, null, JSON.stringify(init.error));
  assert.equal(asked.length, 2, `the wasm asked for twice: ${JSON.stringify(asked)}`);
  assert.match(asked[1], /again=1/);
  assert.deepEqual(errors, []);
});

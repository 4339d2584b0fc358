// The critical path (issue 12 §5): the loader draws the launcher before the wasm is loaded
// (from the configuration on a first visit, from `livechat:<id>:launcher` for a returning
// visitor), and the wasm view adopts that same button. Each test holds the wasm's response
// with a route until the launcher is painted, so a launcher that waited for the wasm fails.
import { test } from 'node:test';
import { assert, useEnv, ok, track, inShadow, waitFor, waitForWidget, waitLoaded, assertNoPageErrors } from './harness.mjs';

const env = useEnv();

/** A fresh context whose wasm request waits until `release()` (the loader and glue do not). */
async function heldWasm(context) {
  const ctx = context || (await env.browser.newContext());
  if (!context) env.contexts.push(ctx);
  let release;
  const held = new Promise((r) => { release = r; });
  let answered = 0;
  await ctx.route('**/widget/livechat_widget_bg.wasm*', async (route) => {
    await held;
    answered += 1;
    await route.continue();
  });
  return { ctx, release: () => release(), answered: () => answered };
}

/** The launcher as a visitor meets it: painted box, look, accessible name and state. */
const launcherLook = (root) => {
  if (!root) return null;
  const l = root.querySelector('.launcher');
  const lc = root.querySelector('.lc');
  if (!l || l.hidden) return null;
  const r = l.getBoundingClientRect();
  if (!(r.width > 0 && r.height > 0)) return null;
  const cs = getComputedStyle(l);
  const badge = root.querySelector('.badge');
  return {
    rect: [r.x, r.y, r.width, r.height].map(Math.round),
    background: cs.backgroundColor,
    color: cs.color,
    radius: cs.borderRadius,
    shadow: cs.boxShadow,
    label: l.getAttribute('aria-label'),
    expanded: l.getAttribute('aria-expanded'),
    controls: l.getAttribute('aria-controls'),
    type: l.getAttribute('type'),
    tag: l.tagName,
    lang: lc.getAttribute('lang'),
    dir: lc.getAttribute('dir'),
    theme: lc.getAttribute('data-theme'),
    left: lc.classList.contains('left'),
    badge: badge && !badge.hidden ? badge.textContent : null,
    sameButton: l.__marked === true,
    loaded: !!(window.liveChat && window.liveChat.loaded),
  };
};

const mark = (root) => { root.querySelector('.launcher').__marked = true; return true; };

test('first visit: the launcher is painted before the wasm arrives, the wasm adopts it, calls made meanwhile are answered in order', async () => {
  const { ctx, release, answered } = await heldWasm();
  const page = track(await ctx.newPage());
  await page.goto(env.url('/e2e/auto.html'));
  const before = await waitFor(() => inShadow(page, launcherLook), { message: 'launcher painted by the loader' });
  assert.equal(answered(), 0, 'the wasm is not needed to paint the launcher');
  assert.equal(before.loaded, false);
  assert.equal(before.label, 'Open chat');
  assert.equal(before.expanded, 'false');
  assert.equal(before.theme, 'default');
  assert.equal(before.lang, 'en-US');
  assert.equal(before.badge, null);
  await inShadow(page, mark);
  // Calls made before the widget runs: queued, answered in order once it boots.
  await page.evaluate(() => {
    window.__order = [];
    for (const c of ['show', 'hide', 'show_launcher']) {
      window.liveChat(c, null, (e, r) => window.__order.push([c, e ? e.code : r]));
    }
  });
  release();
  await waitLoaded(page);
  const order = await waitFor(() => page.evaluate(() => window.__order.length === 3 && window.__order), { message: 'the three callbacks' });
  assert.deepEqual(order, [
    ['show', { open: true, launcher: true }],
    ['hide', { open: false, launcher: true }],
    ['show_launcher', { open: false, launcher: true }],
  ]);
  const after = await inShadow(page, launcherLook);
  assert.deepEqual({ ...after, loaded: false }, { ...before, sameButton: true }, 'the same button, looking the same, in the same place');
  assert.equal(await page.evaluate(() => document.querySelectorAll('#livechat-widget').length), 1);
  // Once loaded, `show` opens within a frame.
  const shown = await page.evaluate(() => new Promise((resolve) => {
    window.liveChat('show', null, () => requestAnimationFrame(() => {
      const w = document.querySelector('#livechat-widget').shadowRoot.querySelector('.window');
      resolve(!w.hidden && w.getBoundingClientRect().height > 0);
    }));
  }));
  assert.ok(shown, 'the window is laid out in the frame after the show callback');
  assertNoPageErrors(page);
});

test('first visit with the widget id in the script URL: the launcher is painted before the configuration arrives, from the preset the server put in the loader', async () => {
  const { ctx, release } = await heldWasm();
  let releaseConfig;
  const configHeld = new Promise((r) => { releaseConfig = r; });
  let configAsked = 0;
  await ctx.route('**/v1/widgets/*/config*', async (route) => {
    configAsked += 1;
    await configHeld;
    await route.continue();
  });
  const page = track(await ctx.newPage());
  await page.goto(env.url('/e2e/auto-id.html'));
  const before = await waitFor(() => inShadow(page, launcherLook), { message: 'launcher painted with the configuration held' });
  assert.ok(configAsked >= 1, 'the configuration was asked for (and is still held)');
  assert.equal(before.loaded, false);
  assert.equal(before.label, 'Open chat');
  assert.equal(before.lang, 'en-US');
  assert.equal(before.background, 'rgb(11, 87, 208)', 'the brand colour #0b57d0 from the preset');
  await inShadow(page, mark);
  releaseConfig();
  release();
  await waitLoaded(page);
  const state = await page.evaluate(() => new Promise((resolve) => window.liveChat('show_launcher', null, (e, r) => resolve(e ? e.code : r))));
  assert.deepEqual(state, { open: false, launcher: true });
  const after = await inShadow(page, launcherLook);
  assert.deepEqual({ ...after, loaded: false }, { ...before, sameButton: true }, 'the wasm adopted the same button, looking the same');
  assert.equal(await page.evaluate(() => document.querySelectorAll('#livechat-widget').length), 1);
  assertNoPageErrors(page);
});

for (const [why, answer, code] of [
  ['is refused (403)', (route) => route.fulfill({ status: 403, contentType: 'application/json', body: '{"error":{"code":"origin_not_allowed","message":"origin not allowed for this widget"}}' }), 'rejected'],
  ['never comes (network errors, three attempts)', (route) => route.abort('connectionrefused'), 'config_unavailable'],
]) {
  test(`first visit with ?id=: when the configuration ${why}, the launcher drawn from the preset goes and init says why`, async () => {
    const ctx = await env.browser.newContext();
    env.contexts.push(ctx);
    await ctx.route('**/v1/widgets/*/config*', answer);
    const page = track(await ctx.newPage());
    await page.addInitScript(() => {
      window.__init = null;
      // The page's own init callback, queued with the snippet's call (the same widget id).
      const stub = function () { (stub.q = stub.q || []).push(arguments); };
      window.liveChat = stub;
      stub('init', '85ea1938-f457-496d-8532-8fa489beea63', (e, r) => { window.__init = e ? e.code : 'ok'; });
    });
    await page.goto(env.url('/e2e/auto-id.html'));
    const result = await waitFor(() => page.evaluate(() => window.__init), { message: 'init answered', timeout: 20000 });
    assert.equal(result, code);
    const gone = await waitFor(() => page.evaluate(() => {
      const host = document.querySelector('#livechat-widget');
      return !host || !host.shadowRoot.querySelector('.launcher') || host.shadowRoot.querySelector('.launcher').getBoundingClientRect().width === 0 ? 'gone' : null;
    }), { message: 'no launcher left once init failed' });
    assert.equal(gone, 'gone');
    assertNoPageErrors(page);
  });
}

test('a click on the loader\'s launcher before the wasm arrives opens the window with the focus in the composer', async () => {
  const { ctx, release } = await heldWasm();
  const page = track(await ctx.newPage());
  await page.goto(env.url('/e2e/auto.html'));
  await waitFor(() => inShadow(page, launcherLook), { message: 'launcher painted by the loader' });
  await page.locator('#livechat-widget .launcher').click();
  release();
  await waitForWidget(page, (w) => w.open, 'window open');
  const focus = await waitFor(() => inShadow(page, (root) => root.activeElement && root.activeElement.tagName === 'TEXTAREA' && 'composer'), { message: 'focus in the composer' });
  assert.equal(focus, 'composer');
  const label = await inShadow(page, (root) => root.querySelector('.launcher').getAttribute('aria-expanded'));
  assert.equal(label, 'true');
  assertNoPageErrors(page);
});

test('returning visitor: the launcher is drawn from storage (theme, position, unread badge) before the wasm, and stays the same', async () => {
  const ctx = await env.browser.newContext();
  env.contexts.push(ctx);
  const page = track(await ctx.newPage());
  await page.goto(env.url('/e2e/auto.html'));
  await waitLoaded(page);
  const sent = await ok(page, 'send', { type: 'BASIC', message: 'a question before leaving' });
  await ok(page, 'set_theme', 'dark');
  await ok(page, 'hide', null);
  await env.agent.reply(sent.threadId, 'an answer while the window is closed');
  await waitFor(() => inShadow(page, (root) => root.querySelector('.badge').textContent === '1' && !root.querySelector('.badge').hidden), { message: 'unread badge' });
  const live = await inShadow(page, launcherLook);
  await waitFor(() => page.evaluate(() => {
    const s = JSON.parse(localStorage.getItem('livechat:85ea1938-f457-496d-8532-8fa489beea63:launcher') || 'null');
    return s && s.badge === '1' && s.theme === 'dark';
  }), { message: 'launcher snapshot stored' });
  await page.close();

  const { release, answered } = await heldWasm(ctx);
  const next = track(await ctx.newPage());
  await next.goto(env.url('/e2e/auto.html'));
  const before = await waitFor(() => inShadow(next, launcherLook), { message: 'launcher painted from storage' });
  assert.equal(answered(), 0, 'the wasm is not needed to paint the launcher');
  assert.deepEqual({ ...before, loaded: true }, live, 'as the widget left it');
  assert.equal(before.left, true);
  assert.equal(before.theme, 'dark');
  assert.equal(before.badge, '1');
  assert.match(before.label, /1/);
  await inShadow(next, mark);
  release();
  await waitLoaded(next);
  await waitFor(() => next.evaluate(() => document.querySelector('#livechat-widget').shadowRoot.querySelector('.window') !== null), { message: 'wasm view mounted' });
  const after = await inShadow(next, launcherLook);
  assert.deepEqual({ ...after, loaded: false }, { ...before, sameButton: true });
  assertNoPageErrors(next);
});

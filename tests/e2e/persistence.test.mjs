// What survives a reload (localStorage `livechat:<id>`), corrupt or throwing storage,
// logout/clear wiping the old data, and a second tab following show/hide.
import { test } from 'node:test';
import {
  assert, useEnv, ok, call, waitLoaded, widgetState, waitForWidget, waitFor, storedEntry, assertNoPageErrors, signJwt,
  uniqueEmail, WIDGET_ID,
} from './harness.mjs';

const env = useEnv();

async function reload(page) {
  await page.reload();
  await waitLoaded(page);
}

const delivered = (text) => (w) => w.messages.some((m) => m.text === text && !m.cls.includes('pending'));

test('open window, draft, language, theme and history survive a reload', async () => {
  const page = await env.open('/e2e/auto.html');
  await ok(page, 'init', WIDGET_ID);
  await ok(page, 'show', null);
  const sent = await ok(page, 'send', { type: 'BASIC', message: 'remember me' });
  await ok(page, 'send', { type: 'DRAFT', message: 'half-written question' });
  await ok(page, 'set_language', 'it-IT');
  await ok(page, 'set_theme', 'dark');
  await waitForWidget(page, (w) => w.open && w.draft === 'half-written question' && w.lang === 'it-IT' && w.theme === 'dark' && delivered('remember me')(w), 'state before reload');
  await waitFor(async () => {
    const s = await storedEntry(page);
    return s && s.ui && s.ui.draft === 'half-written question' && s.language === 'it-IT' && s.theme === 'dark';
  }, { message: 'state persisted' });

  await reload(page);
  const s = await waitForWidget(page, (w) => w.open !== null, 'widget rendered after reload');
  assert.equal(s.open, true, 'window still open');
  assert.equal(s.draft, 'half-written question', 'draft in the textarea');
  assert.equal(s.lang, 'it-IT', 'language applied (lang attribute)');
  assert.equal(s.theme, 'dark', 'theme kept');
  assert.equal(s.left, true, 'the dark theme puts the launcher on the left');
  assert.ok(delivered('remember me')(s), `history shown after reload: ${JSON.stringify(s.messages)}`);
  const init = await ok(page, 'init', WIDGET_ID);
  assert.equal(init.language, 'it-IT');
  // Still the same conversation on the server after the reload (the session resumed).
  const next = await ok(page, 'send', { type: 'BASIC', message: 'after reload' });
  assert.equal(next.threadId, sent.threadId);
  await waitForWidget(page, (w) => delivered('after reload')(w) && delivered('remember me')(w), 'both messages shown');
  assertNoPageErrors(page);
});

test('a corrupt stored entry is ignored: the widget starts clean, without errors', async () => {
  const page = await env.open('/e2e/auto.html');
  await ok(page, 'show', null);
  const garbage = [
    'garbage{{{',
    'null',
    '42',
    '[]',
    '{}',
    JSON.stringify({ version: 1 }),
    JSON.stringify({ version: 999, widget_id: WIDGET_ID, ui: { open: true, launcher: true, draft: 'from the future' } }),
    JSON.stringify({ version: 1, widget_id: 'another-widget', ui: { open: true, launcher: true, draft: 'not mine' } }),
    JSON.stringify({ version: 1, widget_id: WIDGET_ID, ui: 'open', threads: 'many' }),
  ];
  for (const text of garbage) {
    await page.evaluate(([k, v]) => localStorage.setItem(k, v), ['livechat:' + WIDGET_ID, text]);
    await reload(page);
    const init = await ok(page, 'init', WIDGET_ID);
    assert.equal(init.widgetId, WIDGET_ID, text);
    const s = await waitForWidget(page, (w) => w.launcher !== null, 'widget rendered');
    assert.equal(s.open, false, `starts clean (window closed) with ${text}`);
    assert.equal(s.draft, '', `no draft with ${text}`);
    assert.equal(s.launcher, true);
    assert.equal(s.lang, 'en-US');
    // It works and overwrites the garbage with a valid entry.
    await ok(page, 'show', null);
    await waitFor(async () => {
      const e = await storedEntry(page);
      return e && e.widget_id === WIDGET_ID && e.ui && e.ui.open === true;
    }, { message: `entry rewritten after ${text}` });
    assertNoPageErrors(page);
  }
  const sent = await ok(page, 'send', { type: 'BASIC', message: 'after corruption' });
  assert.ok(sent.messageId);
  assert.ok(!page.consoleMessages.some((m) => m.type === 'error'), `no console error: ${JSON.stringify(page.consoleMessages.filter((m) => m.type === 'error'))}`);
});

for (const mode of ['methods', 'getter']) {
  test(`localStorage that throws (${mode}) does not stop the chat`, async () => {
    const page = await env.open(`/e2e/throwing-storage.html?mode=${mode}`);
    const init = await ok(page, 'init', WIDGET_ID);
    assert.equal(init.widgetId, WIDGET_ID);
    await ok(page, 'show', null);
    await ok(page, 'set_language', 'fr-FR');
    const sent = await ok(page, 'send', { type: 'BASIC', message: `no storage (${mode})` });
    assert.ok(sent.messageId && sent.threadId, 'send acked');
    await waitForWidget(page, (w) => w.open && w.lang === 'fr-FR' && delivered(`no storage (${mode})`)(w), 'message shown');
    const stored = await env.agent.messages(sent.threadId);
    assert.ok(stored.some((m) => m.text === `no storage (${mode})`), 'the server has it');
    assert.ok(page.consoleMessages.some((m) => m.type === 'warning' && /localStorage/.test(m.text)),
      `the storage failure is reported once on the console: ${JSON.stringify(page.consoleMessages)}`);
    await ok(page, 'clear', null);
    assertNoPageErrors(page);
  });
}

test('logout removes the old session and history from storage', async () => {
  const page = await env.open('/e2e/auto.html');
  const email = uniqueEmail('logout');
  await ok(page, 'auth', signJwt({ sub: email }));
  await ok(page, 'send', { type: 'BASIC', message: 'secret history before logout' });
  const before = await waitFor(async () => {
    const e = await storedEntry(page);
    return e && e.session && e.customer && JSON.stringify(e.threads).includes('secret history before logout') ? e : null;
  }, { message: 'customer session and history stored' });

  assert.deepEqual(await ok(page, 'logout', null), { cleared: WIDGET_ID, loggedOut: true });
  await waitForWidget(page, (w) => !w.messages.some((m) => m.text === 'secret history before logout'), 'history gone from the view');
  // The entry may come back for the new anonymous session, but without the old data.
  await page.waitForTimeout(300);
  const after = await storedEntry(page);
  if (after) {
    assert.notEqual(after.session, before.session, 'the old session is gone');
    assert.equal(after.customer, null);
    assert.ok(!JSON.stringify(after).includes('secret history before logout'), 'the old history is gone');
  }
  // The old session is really ended: a reload does not bring the customer back.
  await reload(page);
  const init = await ok(page, 'init', WIDGET_ID);
  assert.equal(init.customer, null);
  const s = await widgetState(page);
  assert.ok(!s.messages.some((m) => m.text === 'secret history before logout'));
  // The server ended the session: a copy of the old entry does not sign anyone in.
  const thief = await env.open('/e2e/plain.html');
  await thief.evaluate(([k, v]) => localStorage.setItem(k, v), ['livechat:' + WIDGET_ID, JSON.stringify(before)]);
  await reload(thief);
  await ok(thief, 'init', WIDGET_ID);
  await waitFor(async () => (await ok(thief, 'init', WIDGET_ID, { settle: 0 })).customer === null, { message: 'the old session is refused' });
  await waitForWidget(thief, (w) => !w.messages.some((m) => m.text === 'secret history before logout'), 'cached history replaced');
  assertNoPageErrors(page);
  assertNoPageErrors(thief);
});

test('clear removes the old session and history from storage', async () => {
  const page = await env.open('/e2e/auto.html');
  await ok(page, 'show', null);
  await ok(page, 'send', { type: 'BASIC', message: 'anonymous history before clear' });
  await ok(page, 'send', { type: 'DRAFT', message: 'draft before clear' });
  const before = await waitFor(async () => {
    const e = await storedEntry(page);
    return e && e.session && JSON.stringify(e.threads).includes('anonymous history before clear') ? e : null;
  }, { message: 'session and history stored' });

  assert.deepEqual(await ok(page, 'clear', null), { cleared: WIDGET_ID, loggedOut: false });
  const s = await waitForWidget(page, (w) => !w.messages.some((m) => m.text === 'anonymous history before clear'), 'history gone from the view');
  assert.equal(s.draft, '');
  assert.equal(s.open, false, 'back to the default state');
  await page.waitForTimeout(300);
  const after = await storedEntry(page);
  if (after) {
    assert.notEqual(after.session, before.session, 'the old session is gone');
    const text = JSON.stringify(after);
    assert.ok(!text.includes('anonymous history before clear') && !text.includes('draft before clear'), 'the old data is gone');
  }
  await reload(page);
  await ok(page, 'init', WIDGET_ID);
  const reloaded = await widgetState(page);
  assert.ok(!reloaded.messages.some((m) => m.text === 'anonymous history before clear'));
  assertNoPageErrors(page);
});

test('another tab follows show/hide through the storage event', async () => {
  const a = await env.open('/e2e/auto.html');
  const b = await env.open('/e2e/auto.html', { context: a.context() });
  await ok(a, 'init', WIDGET_ID);
  await ok(b, 'init', WIDGET_ID);
  await waitForWidget(b, (w) => w.open === false, 'tab B rendered closed');
  await ok(a, 'show', null);
  await waitForWidget(b, (w) => w.open === true, 'tab B opened');
  await ok(a, 'hide', null);
  await waitForWidget(b, (w) => w.open === false, 'tab B closed');
  await ok(b, 'hide_launcher', null);
  await waitForWidget(a, (w) => w.launcher === false, 'tab A launcher hidden');
  await ok(b, 'show_launcher', null);
  await waitForWidget(a, (w) => w.launcher === true, 'tab A launcher back');
  // A message sent in one tab shows in the other (same session, same socket events).
  await ok(a, 'send', { type: 'BASIC', message: 'from tab A' });
  await ok(b, 'show', null);
  await waitForWidget(b, delivered('from tab A'), 'tab B shows tab A message');
  assertNoPageErrors(a);
  assertNoPageErrors(b);
});

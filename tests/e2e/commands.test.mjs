// Every command of spec 001 through the page's real global `liveChat`: valid arguments
// (the spec's examples verbatim) and invalid ones, each answered by exactly one callback
// with the shape of livechat.d.ts, nothing thrown into the page.
import { test } from 'node:test';
import {
  assert, useEnv, call, ok, fails, widgetState, waitForWidget, waitFor, assertNoPageErrors, signJwt, uniqueEmail,
  WIDGET_ID, OTHER_WIDGET_ID,
} from './harness.mjs';

const env = useEnv();

async function freshWidget() {
  const page = await env.open('/e2e/plain.html');
  const init = await ok(page, 'init', WIDGET_ID);
  return { page, init };
}

test('commands before init, and init argument errors', async () => {
  const page = await env.open('/e2e/plain.html');
  for (const [command, arg] of [['show', null], ['hide', null], ['send', { type: 'BASIC', message: 'hi' }], ['set_theme', 'dark'],
    ['logout', null], ['set_language', 'it-IT'], ['send_contextual_data', { metadata: { a: 1 } }]]) {
    await fails(page, command, arg, 'not_initialized');
  }
  await fails(page, 'init', undefined, 'invalid_argument'); // the id is required on the first call
  await fails(page, 'init', null, 'invalid_argument');
  await fails(page, 'init', 123, 'invalid_argument');
  await fails(page, 'init', { id: WIDGET_ID }, 'invalid_argument');
  await fails(page, 'init', 'bad id with spaces/and/slashes', 'invalid_argument');
  await fails(page, 'init', '', 'invalid_argument');
  await fails(page, 'bogus', 1, 'unknown_command');
  await fails(page, '', null, 'unknown_command');
  // A widget the server does not know.
  await fails(page, 'init', 'no-such-widget', 'unknown_widget');
  // The widget still initializes after all that.
  const init = await ok(page, 'init', WIDGET_ID);
  assert.equal(init.widgetId, WIDGET_ID);
  assertNoPageErrors(page);
});

test('every command with a valid argument (spec 001 examples)', async () => {
  const { page, init } = await freshWidget();
  // init
  assert.equal(init.widgetId, WIDGET_ID);
  assert.equal(init.language, 'en-US');
  assert.equal(typeof init.online, 'boolean');
  assert.equal(init.customer, null);
  assert.deepEqual(await ok(page, 'init', WIDGET_ID), init, 'init again with the same id re-confirms');

  // show / hide / show_launcher / hide_launcher
  assert.deepEqual(await ok(page, 'show', null), { open: true, launcher: true });
  await waitForWidget(page, (w) => w.open && w.launcher, 'window open');
  assert.deepEqual(await ok(page, 'hide', null), { open: false, launcher: true });
  await waitForWidget(page, (w) => !w.open && w.launcher, 'window closed');
  assert.deepEqual(await ok(page, 'show', undefined), { open: true, launcher: true });
  assert.deepEqual(await ok(page, 'hide_launcher', null), { open: false, launcher: false });
  await waitForWidget(page, (w) => !w.open && !w.launcher, 'launcher hidden');
  assert.deepEqual(await ok(page, 'show_launcher', null), { open: false, launcher: true });
  await waitForWidget(page, (w) => !w.open && w.launcher, 'launcher back, window still collapsed');

  // set_theme with a configured theme
  assert.deepEqual(await ok(page, 'set_theme', 'dark'), { theme: 'dark' });
  await waitForWidget(page, (w) => w.theme === 'dark' && w.left === true, 'dark theme applied');
  assert.deepEqual(await ok(page, 'set_theme', 'light'), { theme: 'light' });
  await waitForWidget(page, (w) => w.theme === 'light' && w.left === false, 'light theme applied');

  // set_language
  assert.deepEqual(await ok(page, 'set_language', 'it-IT'), { language: 'it-IT', fallback: false, requested: 'it-IT' });
  await waitForWidget(page, (w) => w.lang === 'it-IT', 'lang=it-IT');
  const noTag = await ok(page, 'set_language', null);
  assert.equal(noTag.language, 'en-US');
  assert.equal(noTag.fallback, true);
  await waitForWidget(page, (w) => w.lang === 'en-US', 'lang back to en-US');

  // send: the three examples of spec 001, verbatim
  const basic = await ok(page, 'send', { type: 'BASIC', message: 'Hello! I need help with my order.' });
  for (const k of ['messageId', 'threadId', 'clientId']) assert.equal(typeof basic[k], 'string', k);
  assert.equal(typeof basic.createdAt, 'number');
  const draft = await ok(page, 'send', { type: 'DRAFT', message: 'Hi, I need help with my recent order number:' });
  assert.deepEqual(draft, { draft: 'Hi, I need help with my recent order number:' });
  await waitForWidget(page, (w) => w.draft === 'Hi, I need help with my recent order number:', 'draft in the textarea');
  const custom = await ok(page, 'send', { type: 'CUSTOM_DATA', customData: { 'orderId': 'ORD-6789', 'action': 'track_order' }, agentMessage: 'User requested tracking info for order ORD-6789.', userMessage: 'Track my order.' });
  assert.equal(custom.threadId, basic.threadId, 'single-thread widget: same conversation');
  const stored = await env.agent.messages(basic.threadId);
  const cd = stored.find((m) => m.id === custom.messageId);
  assert.ok(cd, 'CUSTOM_DATA message stored');
  assert.deepEqual(cd.custom_data, { orderId: 'ORD-6789', action: 'track_order' });
  assert.equal(cd.agent_message, 'User requested tracking info for order ORD-6789.');
  assert.equal(cd.text, 'Track my order.');
  assert.equal(stored.find((m) => m.id === basic.messageId).text, 'Hello! I need help with my order.');
  // The visitor sees the userMessage, never the agentMessage.
  await waitForWidget(page, (w) => w.messages.some((m) => m.text === 'Track my order.'), 'userMessage shown');
  assert.ok(!(await widgetState(page)).messages.some((m) => m.text.includes('User requested tracking')), 'agentMessage hidden from the visitor');

  // send_contextual_data (spec 001 example): the conversation exists, so it is not queued
  const ctx = await ok(page, 'send_contextual_data', { metadata: { 'color': 'green', 'size': 'M' }, multiThreadStrategy: 'ALL' });
  assert.equal(typeof ctx.requestId, 'string');
  assert.deepEqual(ctx.threadIds, [basic.threadId]);
  assert.equal(ctx.queued, false);
  const meta = await env.agent.metadata(basic.threadId);
  assert.equal(meta.color.value, 'green');
  assert.equal(meta.size.value, 'M');

  // auth + logout
  const email = uniqueEmail('cmd');
  const auth = await ok(page, 'auth', signJwt({ sub: email }));
  assert.equal(auth.customer.subject, email);
  const again = await ok(page, 'init', WIDGET_ID);
  assert.equal(again.customer && again.customer.subject, email, 'init reports the customer');
  assert.deepEqual(await ok(page, 'logout', null), { cleared: WIDGET_ID, loggedOut: true });
  assert.equal((await ok(page, 'init', WIDGET_ID)).customer, null);

  // clear (spec example, with the widget id) then init with another widget id is allowed
  assert.deepEqual(await ok(page, 'clear', WIDGET_ID), { cleared: WIDGET_ID, loggedOut: false });
  const other = await ok(page, 'init', OTHER_WIDGET_ID);
  assert.equal(other.widgetId, OTHER_WIDGET_ID);
  assert.deepEqual(await ok(page, 'clear', null), { cleared: OTHER_WIDGET_ID, loggedOut: false });
  assertNoPageErrors(page);
});

test('auth and init report the customer as livechat.d.ts declares it ({subject, subjectType})', async () => {
  const { page } = await freshWidget();
  const email = uniqueEmail('shape');
  const auth = await ok(page, 'auth', signJwt({ sub: email, stp: 'email' }));
  assert.deepEqual(auth, { customer: { subject: email, subjectType: 'email' } });
  const init = await ok(page, 'init', WIDGET_ID);
  assert.deepEqual(init.customer, { subject: email, subjectType: 'email' });
  assertNoPageErrors(page);
});

test('every command with an invalid argument gets one documented error', async () => {
  const { page } = await freshWidget();
  await fails(page, 'init', OTHER_WIDGET_ID, 'already_initialized');
  await fails(page, 'logout', null, 'not_authenticated');
  await fails(page, 'logout', 'yes', 'invalid_argument');
  await fails(page, 'set_theme', 'neon', 'unknown_theme');
  await fails(page, 'set_theme', undefined, 'invalid_argument');
  await fails(page, 'set_theme', 42, 'invalid_argument');
  await fails(page, 'set_theme', '   ', 'invalid_argument');
  for (const cmd of ['show', 'hide', 'show_launcher', 'hide_launcher']) {
    await fails(page, cmd, 'now', 'invalid_argument');
    await fails(page, cmd, { open: true }, 'invalid_argument');
  }
  // unsupported language → en-US with fallback, not an error
  assert.deepEqual(await ok(page, 'set_language', 'xx-XX'), { language: 'en-US', fallback: true, requested: 'xx-XX' });
  await fails(page, 'set_language', 5, 'invalid_argument');
  await fails(page, 'set_language', ['it-IT'], 'invalid_argument');
  // send
  await fails(page, 'send', undefined, 'invalid_argument');
  await fails(page, 'send', 'Hello', 'invalid_argument');
  await fails(page, 'send', [], 'invalid_argument');
  await fails(page, 'send', {}, 'invalid_argument');
  await fails(page, 'send', { message: 'no type' }, 'invalid_argument');
  await fails(page, 'send', { type: 'basic', message: 'lower case type' }, 'invalid_argument');
  await fails(page, 'send', { type: 'VIDEO', message: 'x' }, 'invalid_argument');
  await fails(page, 'send', { type: 'BASIC' }, 'invalid_argument');
  await fails(page, 'send', { type: 'BASIC', message: '   ' }, 'invalid_argument');
  await fails(page, 'send', { type: 'BASIC', message: 5 }, 'invalid_argument');
  await fails(page, 'send', { type: 'BASIC', message: 'x', threadId: 7 }, 'invalid_argument');
  await fails(page, 'send', { type: 'BASIC', attachment: 'aGVsbG8=' }, 'invalid_argument'); // fileName required
  await fails(page, 'send', { type: 'DRAFT' }, 'invalid_argument');
  await fails(page, 'send', { type: 'DRAFT', message: { text: 'x' } }, 'invalid_argument');
  await fails(page, 'send', { type: 'CUSTOM_DATA' }, 'invalid_argument');
  await fails(page, 'send', { type: 'CUSTOM_DATA', customData: null }, 'invalid_argument');
  await fails(page, 'send', { type: 'CUSTOM_DATA', customData: {}, agentMessage: 1 }, 'invalid_argument');
  // send_contextual_data
  await fails(page, 'send_contextual_data', undefined, 'invalid_argument');
  await fails(page, 'send_contextual_data', { color: 'red' }, 'invalid_argument');
  await fails(page, 'send_contextual_data', { metadata: 'red' }, 'invalid_argument');
  await fails(page, 'send_contextual_data', { metadata: ['red'] }, 'invalid_argument');
  await fails(page, 'send_contextual_data', { metadata: {} }, 'invalid_argument');
  await fails(page, 'send_contextual_data', { metadata: { a: 1 }, multiThreadStrategy: 'SOME' }, 'invalid_argument');
  // auth / clear
  await fails(page, 'auth', undefined, 'invalid_argument');
  await fails(page, 'auth', 42, 'invalid_argument');
  await fails(page, 'auth', 'not-a-jwt', 'invalid_argument');
  await fails(page, 'auth', 'a.b', 'invalid_argument');
  await fails(page, 'clear', 42, 'invalid_argument');
  // unknown commands
  await fails(page, 'bogus', null, 'unknown_command');
  await fails(page, 'SHOW', null, 'unknown_command');
  await fails(page, 'sendContextualData', { metadata: { a: 1 } }, 'unknown_command');
  const nonString = await call(page, null, null, { argJs: 'null' });
  assert.equal(nonString.error.code, 'unknown_command');
  const numberCommand = await page.evaluate(() => new Promise((resolve) => {
    let n = 0; let first;
    window.liveChat(42, null, (e) => { n += 1; first = e; setTimeout(() => resolve({ n, first }), 150); });
  }));
  assert.equal(numberCommand.n, 1);
  assert.equal(numberCommand.first.code, 'unknown_command');
  // No callback or a non-function callback: nothing thrown, the command still acts.
  await page.evaluate(() => { window.liveChat('show'); window.liveChat('bogus'); window.liveChat('hide', null, 'not a function'); });
  await waitForWidget(page, (w) => w.open === false, 'hide without a callback still applied');
  await page.evaluate(() => window.liveChat('show', null, undefined));
  await waitForWidget(page, (w) => w.open === true, 'show without a callback still applied');
  // The widget is still fine.
  assert.ok((await ok(page, 'send', { type: 'BASIC', message: 'still works' })).messageId);
  assertNoPageErrors(page);
});

test('a callback that throws does not break later calls', async () => {
  const { page } = await freshWidget();
  const first = await call(page, 'show', null, { throwInCallback: true });
  assert.equal(first.count, 1);
  const second = await call(page, 'bogus', null, { throwInCallback: true });
  assert.equal(second.error.code, 'unknown_command');
  assert.deepEqual(await ok(page, 'hide', null), { open: false, launcher: true });
  const sent = await ok(page, 'send', { type: 'BASIC', message: 'after a throwing callback' });
  assert.ok(sent.messageId);
  await waitForWidget(page, (w) => w.open === false, 'hide applied');
  assert.ok(page.consoleMessages.some((m) => m.type === 'error' && /callback/i.test(m.text)), 'the throw is reported on the console');
  assertNoPageErrors(page);
});

test('weird arguments get clean errors and the widget keeps working', async () => {
  const { page } = await freshWidget();
  const weird = [
    ['function', 'send', '() => 1'],
    ['Symbol', 'send', "Symbol('x')"],
    ['BigInt', 'send', '10n'],
    ['BigInt inside an object', 'send', "({ type: 'BASIC', message: 'x', n: 10n })"],
    ['cyclic object', 'send', "(() => { const o = { type: 'BASIC', message: 'x' }; o.self = o; return o; })()"],
    ['cyclic metadata', 'send_contextual_data', "(() => { const m = { a: 1 }; m.m = m; return { metadata: m }; })()"],
    ['a getter that throws', 'send', "({ type: 'BASIC', get message() { throw new Error('getter') } })"],
    ['toJSON that throws', 'send', "({ toJSON() { throw new Error('toJSON') } })"],
    ['1000-deep nesting', 'send', "(() => { let d = { leaf: true }; for (let i = 0; i < 1000; i++) d = { d }; return { type: 'CUSTOM_DATA', customData: d }; })()"],
    ['1000-deep array', 'send_contextual_data', "(() => { let d = []; for (let i = 0; i < 1000; i++) d = [d]; return { metadata: { d } }; })()"],
    ['a 1 MB message', 'send', "({ type: 'BASIC', message: 'x'.repeat(1024 * 1024) })"],
    ['a 1 MB theme name', 'set_theme', "'t'.repeat(1024 * 1024)"],
    ['a 1 MB widget id', 'clear', "'w'.repeat(1024 * 1024)"],
    ['a 1 MB JWT', 'auth', "'a'.repeat(512 * 1024) + '.' + 'b'.repeat(512 * 1024) + '.c'"],
    ['undefined for a required argument', 'send', 'undefined'],
    ['a DOM node', 'send', 'document.body'],
    ['a Map', 'send', 'new Map([[1, 2]])'],
    ['NaN', 'set_theme', 'NaN'],
    ['a Proxy that throws', 'send', "new Proxy({}, { get() { throw new Error('proxy') }, ownKeys() { throw new Error('proxy') } })"],
  ];
  for (const [label, command, argJs] of weird) {
    const out = await call(page, command, undefined, { argJs });
    assert.ok(out.error, `${label}: expected an error, got ${JSON.stringify(out.result)}`);
    assert.ok(['invalid_argument', 'unknown_theme'].includes(out.error.code), `${label}: ${JSON.stringify(out.error)}`);
    assert.ok(out.error.message.length < 2000, `${label}: the error message does not echo the whole argument`);
  }
  // A 1 MB command name.
  const bigName = await page.evaluate(() => new Promise((resolve) => {
    let n = 0; let first;
    window.liveChat('c'.repeat(1024 * 1024), null, (e) => { n += 1; first = e; setTimeout(() => resolve({ n, code: first.code, len: first.message.length }), 150); });
  }));
  assert.deepEqual([bigName.n, bigName.code], [1, 'unknown_command']);
  assert.ok(bigName.len < 2000, 'the error message does not echo a 1 MB command name');
  // undefined where no argument is expected is fine.
  assert.deepEqual(await ok(page, 'show', undefined), { open: true, launcher: true });
  // The widget still chats.
  const sent = await ok(page, 'send', { type: 'BASIC', message: 'alive after weird args' });
  assert.ok(sent.messageId);
  await waitForWidget(page, (w) => w.messages.some((m) => m.text === 'alive after weird args' && !m.cls.includes('pending')), 'message delivered');
  const ctx = await ok(page, 'send_contextual_data', { metadata: { ok: true } });
  assert.equal(ctx.queued, false);
  assertNoPageErrors(page);
});

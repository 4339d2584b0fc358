// End to end with the real server: spec 000's car configurator (contextual data queued
// before the conversation, read back through the agent API), agent replies, HTML shown as
// text, JWT auth and history across browsers, invalid tokens, and the visitor's own UI.
import { test } from 'node:test';
import {
  assert, useEnv, ok, fails, call, widgetState, waitForWidget, waitFor, inShadow, assertNoPageErrors, signJwt, uniqueEmail,
  storedEntry, WIDGET_ID, WRONG_SECRET, AGENT_NAME, OTHER_WIDGET_ID,
} from './harness.mjs';

const env = useEnv();

const delivered = (text, cls = 'visitor') => (w) => w.messages.some((m) => m.text === text && m.cls.includes(cls) && !m.cls.includes('pending'));

test('spec 000 car configurator: contextual data queued before the conversation reaches the agent API', async () => {
  // The demo page (Roadster Motors) with its configurator form.
  const page = await env.open('/index.html');
  await page.selectOption('#configurator select[name=model]', 'Tourer');
  await page.selectOption('#configurator select[name=color]', 'midnight blue');
  await page.selectOption('#configurator select[name=wheels]', '20"');
  await page.click('#configurator button[type=submit]');
  // The demo logs the callback: no conversation yet, so the data is queued.
  const line = await waitFor(() => page.evaluate(() => [...document.querySelectorAll('#log div')].map((d) => d.textContent).find((t) => t.includes('send_contextual_data'))), { message: 'send_contextual_data callback logged' });
  const result = JSON.parse(line.slice(line.indexOf('ok ') + 3));
  assert.equal(result.queued, true, line);
  assert.deepEqual(result.threadIds, []);
  assert.equal(typeof result.requestId, 'string');

  // The same through the API directly (spec 000's example), still before any conversation.
  const direct = await ok(page, 'send_contextual_data', { metadata: { color: 'red', trim: 'GT' }, multiThreadStrategy: 'ACTIVE' });
  assert.equal(direct.queued, true);
  assert.deepEqual(direct.threadIds, []);

  // The visitor starts the conversation ("Contact us").
  const sent = await ok(page, 'send', { type: 'BASIC', message: 'I would like a test drive of my configuration.' });
  const metadata = await waitFor(async () => {
    const m = await env.agent.metadata(sent.threadId);
    return m && m.model && m.trim ? m : null;
  }, { message: 'queued metadata on the new conversation' });
  assert.equal(metadata.model.value, 'Tourer');
  assert.equal(metadata.wheels.value, '20"');
  assert.equal(metadata.trim.value, 'GT');
  assert.equal(metadata.color.value, 'red', 'the latest value of a key wins');
  for (const v of Object.values(metadata)) assert.equal(typeof v.updated_at, 'number');

  // After the conversation exists, data goes straight to it.
  const later = await ok(page, 'send_contextual_data', { metadata: { seconds_since_last_cart_visit: 178 } });
  assert.equal(later.queued, false);
  assert.deepEqual(later.threadIds, [sent.threadId]);
  const updated = await env.agent.metadata(sent.threadId);
  assert.equal(updated.seconds_since_last_cart_visit.value, 178);
  const conv = await env.agent.get(`/v1/conversations/${sent.threadId}`);
  assert.equal(conv.status, 200);
  assert.equal(conv.body.conversation.widget_id, WIDGET_ID);
  assert.equal(conv.body.conversation.status, 'OPEN');
  assertNoPageErrors(page);
});

test('an agent reply through the agent API appears in the widget', async () => {
  const page = await env.open('/e2e/auto.html');
  await ok(page, 'show', null);
  const sent = await ok(page, 'send', { type: 'BASIC', message: 'Is anyone there?' });
  const reply = await env.agent.reply(sent.threadId, 'Yes, happy to help!');
  assert.equal(reply.author, 'agent');
  await waitForWidget(page, delivered('Yes, happy to help!', 'agent'), 'agent reply shown');
  const who = await inShadow(page, (root) => [...root.querySelectorAll('.msg.agent')].map((li) => li.textContent).join('|'));
  assert.ok(who.includes(AGENT_NAME), `the agent's name is announced: ${who}`);
  // Ordering: visitor message first, then the reply.
  const s = await widgetState(page);
  const texts = s.messages.map((m) => m.text);
  assert.ok(texts.indexOf('Is anyone there?') < texts.indexOf('Yes, happy to help!'));
  // The agent API without a token is refused.
  const anon = await env.agent.get(`/v1/conversations/${sent.threadId}/messages`, 'wrong-token-123');
  assert.equal(anon.status, 401);
  assertNoPageErrors(page);
});

test('HTML in visitor and agent messages is shown as text, never as elements', async () => {
  const page = await env.open('/e2e/auto.html');
  await ok(page, 'show', null);
  const evil = '<img src=x onerror="window.__pwned=1"><b>bold</b><script>window.__pwned=2</script>';
  const agentEvil = '<a href="javascript:alert(1)">click</a><svg onload="window.__pwned=3"></svg><img src=y onerror="window.__pwned=4">';
  const sent = await ok(page, 'send', { type: 'BASIC', message: evil });
  await env.agent.reply(sent.threadId, agentEvil);
  await ok(page, 'send', { type: 'DRAFT', message: '<i>draft</i>' });
  await ok(page, 'send', { type: 'CUSTOM_DATA', customData: { html: '<b>x</b>' }, userMessage: '<u>custom</u>' });
  await waitForWidget(page, (w) => delivered(evil)(w) && delivered(agentEvil, 'agent')(w) && delivered('<u>custom</u>')(w), 'messages shown as text');
  const dom = await inShadow(page, (root) => ({
    bubbleChildren: [...root.querySelectorAll('.bubble')].reduce((n, b) => n + b.children.length, 0),
    injected: root.querySelectorAll('.log img, .log b, .log script, .log a, .log svg, .log i, .log u').length,
    draft: root.querySelector('textarea').value,
    pageInjected: document.querySelectorAll('body img, body script:not([src]), body svg').length,
  }));
  assert.equal(dom.bubbleChildren, 0, 'bubbles hold text only');
  assert.equal(dom.injected, 0, 'no element injected into the log');
  assert.equal(dom.draft, '<i>draft</i>');
  assert.equal(dom.pageInjected, 0);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no injected handler ran');
  // The server stores the text verbatim.
  const stored = await env.agent.messages(sent.threadId);
  assert.ok(stored.some((m) => m.text === evil));
  assertNoPageErrors(page);
});

test('auth with a JWT signed by the test: customer result and history in a second browser context', async () => {
  const email = uniqueEmail('ana');
  const a = await env.open('/e2e/auto.html');
  await ok(a, 'show', null);
  // An anonymous message before signing in moves to the customer.
  const before = await ok(a, 'send', { type: 'BASIC', message: 'before sign-in' });
  const auth = await ok(a, 'auth', signJwt({ sub: email, stp: 'email' }));
  assert.equal(auth.customer.subject, email);
  assert.equal(auth.customer.subjectType ?? auth.customer.subject_type, 'email');
  const sent = await ok(a, 'send', { type: 'BASIC', message: 'history of the customer' });
  assert.equal(sent.threadId, before.threadId, 'the anonymous conversation moved to the customer');
  await env.agent.reply(sent.threadId, 'Agent answer in the customer history');
  await waitForWidget(a, delivered('Agent answer in the customer history', 'agent'), 'reply in the first context');
  const conv = await env.agent.get(`/v1/conversations/${sent.threadId}`);
  assert.equal(conv.body.conversation.principal.kind, 'customer');
  assert.equal(conv.body.conversation.principal.customer.subject, email);

  // Another browser (fresh context, fresh storage) signs in as the same customer.
  const b = await env.open('/e2e/auto.html');
  const initB = await ok(b, 'init', WIDGET_ID);
  assert.equal(initB.customer, null);
  const authB = await ok(b, 'auth', signJwt({ sub: email, stp: 'email' }));
  assert.equal(authB.customer.subject, email);
  await ok(b, 'show', null);
  await waitForWidget(b, (w) => delivered('before sign-in')(w) && delivered('history of the customer')(w)
    && delivered('Agent answer in the customer history', 'agent')(w), 'the second context sees the history');
  // Live: a message from B reaches A.
  await ok(b, 'send', { type: 'BASIC', message: 'sent from the second browser' });
  await waitForWidget(a, delivered('sent from the second browser'), 'first context receives it live');
  assertNoPageErrors(a);
  assertNoPageErrors(b);
});

test('JWT expiry: the widget reports livechat:reauth_required, a message sent meanwhile waits, a fresh auth delivers it once', async () => {
  const email = uniqueEmail('expiring');
  const page = await env.open('/e2e/auto.html');
  await ok(page, 'show', null);
  await page.evaluate(() => {
    window.__reauth = 0;
    window.addEventListener('livechat:reauth_required', () => { window.__reauth += 1; });
  });
  await ok(page, 'auth', signJwt({ sub: email, lifetime: 2 }));
  const first = await ok(page, 'send', { type: 'BASIC', message: 'before the token expired' });
  await waitFor(() => page.evaluate(() => window.__reauth === 1), { timeout: 8000, message: 'livechat:reauth_required' });

  // Sent while the session needs a fresh token: shown as sending, not failed, no callback yet.
  await page.evaluate(() => {
    window.__late = { count: 0, error: null, result: null };
    window.liveChat('send', { type: 'BASIC', message: 'typed after expiry' }, (e, r) => {
      window.__late.count += 1; window.__late.error = e; window.__late.result = r;
    });
  });
  await waitForWidget(page, (w) => w.messages.some((m) => m.text === 'typed after expiry' && m.cls.includes('pending')), 'shown as sending');
  await page.waitForTimeout(500);
  const waiting = await page.evaluate(() => window.__late);
  assert.equal(waiting.count, 0, `no callback while waiting: ${JSON.stringify(waiting)}`);
  const w1 = await widgetState(page);
  assert.ok(w1.messages.some((m) => m.text === 'before the token expired'), 'history kept');

  // The page signs in again: the waiting message goes out, once, into the same conversation.
  await ok(page, 'auth', signJwt({ sub: email }));
  await waitFor(() => page.evaluate(() => window.__late.count === 1), { message: 'late send answered' });
  const late = await page.evaluate(() => window.__late);
  assert.equal(late.error, null, JSON.stringify(late.error));
  assert.equal(late.result.threadId, first.threadId);
  await waitForWidget(page, delivered('typed after expiry'), 'delivered in the widget');
  const stored = (await env.agent.messages(first.threadId)).filter((m) => m.text === 'typed after expiry');
  assert.equal(stored.length, 1, 'stored once');
  assert.equal(await page.evaluate(() => window.__reauth), 1, 'reported once');
  assertNoPageErrors(page);
});

test('invalid JWTs are rejected with reason invalid_token and the widget carries on', async () => {
  const page = await env.open('/e2e/auto.html');
  await ok(page, 'init', WIDGET_ID);
  const email = uniqueEmail('bad');
  const now = Math.floor(Date.now() / 1000);
  const cases = [
    ['wrong key', signJwt({ sub: email, key: WRONG_SECRET })],
    ['expired', signJwt({ sub: email, extra: { iat: now - 600, exp: now - 300 } })],
    ['another widget as iss', signJwt({ sub: email, iss: OTHER_WIDGET_ID + '-nope' })],
    ['unknown subject type', signJwt({ sub: email, stp: 'nickname' })],
    ['unknown key id', signJwt({ sub: email, ski: 'no-such-key' })],
    ['alg none', (() => {
      const b = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
      return `${b({ alg: 'none', typ: 'JWT' })}.${b({ jti: 'x1', sub: email, stp: 'email', iss: WIDGET_ID, iat: now, exp: now + 300, ski: 'e2e-key-1' })}.c2ln`;
    })()],
  ];
  for (const [label, jwt] of cases) {
    const err = await fails(page, 'auth', jwt, null);
    assert.equal(err.code, 'rejected', `${label}: ${JSON.stringify(err)}`);
    assert.equal(err.reason, 'invalid_token', `${label}: ${JSON.stringify(err)}`);
    assert.ok(!err.message.includes('e2e-test-secret'), 'no secret in the message');
  }
  // A token used twice: the second use is refused (jti is single-use).
  const once = signJwt({ sub: email });
  await ok(page, 'auth', once);
  const reused = await fails(page, 'auth', once, 'rejected');
  assert.equal(reused.reason, 'invalid_token');
  // Still signed in as before, still chatting.
  assert.equal((await ok(page, 'init', WIDGET_ID)).customer.subject, email);
  assert.ok((await ok(page, 'send', { type: 'BASIC', message: 'still here' })).messageId);
  assertNoPageErrors(page);
});

test("the visitor types in the widget's textarea and Enter sends (UI path)", async () => {
  const page = await env.open('/e2e/auto.html');
  await ok(page, 'init', WIDGET_ID);
  // Open with the launcher, like a visitor.
  await page.locator('#livechat-widget .launcher').click();
  await waitForWidget(page, (w) => w.open, 'window opened by the launcher');
  const box = page.locator('#livechat-widget textarea');
  await box.click();
  await page.keyboard.type('Typed by the visitor');
  await page.keyboard.down('Shift');
  await page.keyboard.press('Enter');
  await page.keyboard.up('Shift');
  await page.keyboard.type('second line');
  // The draft is persisted while typing.
  await waitFor(async () => (await storedEntry(page))?.ui?.draft === 'Typed by the visitor\nsecond line', { message: 'draft stored while typing' });
  await page.keyboard.press('Enter');
  const text = 'Typed by the visitor\nsecond line';
  await waitForWidget(page, (w) => w.draft === '' && delivered(text)(w), 'message sent and shown, textarea cleared');
  const threadId = await waitFor(async () => {
    const e = await storedEntry(page);
    return e && e.threads && e.threads[0] && e.threads[0].id;
  }, { message: 'thread stored' });
  const stored = await env.agent.messages(threadId);
  assert.ok(stored.some((m) => m.text === text && m.author === 'visitor'), JSON.stringify(stored));
  // Enter on an empty textarea sends nothing.
  await page.keyboard.press('Enter');
  await page.waitForTimeout(300);
  assert.equal((await env.agent.messages(threadId)).length, stored.length);
  // The send button works too.
  await box.fill('Sent with the button');
  await page.locator('#livechat-widget button.send').click();
  await waitForWidget(page, delivered('Sent with the button'), 'button send');
  assertNoPageErrors(page);
});

test('clear with the widget id logs the customer out as well (spec 001)', async () => {
  const page = await env.open('/e2e/auto.html');
  const email = uniqueEmail('clear');
  await ok(page, 'auth', signJwt({ sub: email }));
  const sent = await ok(page, 'send', { type: 'BASIC', message: 'customer message before clear' });
  const old = await waitFor(async () => {
    const e = await storedEntry(page);
    return e && e.customer && JSON.stringify(e.threads).includes('customer message before clear') ? e : null;
  }, { message: 'customer state stored' });
  assert.deepEqual(await ok(page, 'clear', WIDGET_ID), { cleared: WIDGET_ID, loggedOut: true });
  assert.equal((await ok(page, 'init', WIDGET_ID)).customer, null);
  await page.reload();
  await waitFor(() => page.evaluate(() => window.liveChat && window.liveChat.loaded));
  assert.equal((await ok(page, 'init', WIDGET_ID)).customer, null, 'still anonymous after a reload');
  await ok(page, 'show', null);
  const s = await widgetState(page);
  assert.ok(!s.messages.some((m) => m.text === 'customer message before clear'), 'no customer history for the anonymous visitor');
  // The customer's conversation is untouched on the server.
  const stored = await env.agent.messages(sent.threadId);
  assert.ok(stored.some((m) => m.text === 'customer message before clear'));

  // The server ended the old session: a copy of the old stored entry no longer resumes it.
  const thief = await env.open('/e2e/plain.html');
  await thief.evaluate(([k, v]) => localStorage.setItem(k, v), ['livechat:' + WIDGET_ID, JSON.stringify(old)]);
  await thief.reload();
  await waitFor(() => thief.evaluate(() => window.liveChat && window.liveChat.loaded));
  await ok(thief, 'init', WIDGET_ID);
  await waitFor(async () => (await ok(thief, 'init', WIDGET_ID, { settle: 0 })).customer === null, { message: 'the old session is refused' });
  await waitForWidget(thief, (w) => !w.messages.some((m) => m.text === 'customer message before clear'), 'cached history replaced');
  assertNoPageErrors(page);
  assertNoPageErrors(thief);
});

test('attachments: an allowed file is stored and downloadable, a forbidden type is rejected', async () => {
  const page = await env.open('/e2e/auto.html');
  await ok(page, 'show', null);
  // A 1×1 transparent PNG.
  const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
  const sent = await ok(page, 'send', { type: 'BASIC', message: 'my photo', attachment: `data:image/png;base64,${png}`, fileName: 'photo.png' });
  const stored = (await env.agent.messages(sent.threadId)).find((m) => m.id === sent.messageId);
  assert.ok(stored && stored.attachment, JSON.stringify(stored));
  assert.equal(stored.attachment.file_name, 'photo.png');
  assert.equal(stored.attachment.content_type, 'image/png');
  assert.equal(stored.attachment.size, Buffer.from(png, 'base64').length);
  const res = await fetch(env.url(stored.attachment.url));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-disposition') || '', /attachment/);
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), Buffer.from(png, 'base64'));
  const err = await fails(page, 'send', { type: 'BASIC', attachment: 'data:application/x-msdownload;base64,TVqQAAMAAAAEAAAA', fileName: 'setup.exe' }, 'rejected');
  assert.equal(err.reason, 'attachment_rejected');
  assertNoPageErrors(page);
});

test('a conversation solved by the agent shows as solved; the next message opens a new one', async () => {
  const page = await env.open('/e2e/auto.html');
  await ok(page, 'show', null);
  const first = await ok(page, 'send', { type: 'BASIC', message: 'please solve me' });
  const solved = await env.agent.post(`/v1/conversations/${first.threadId}/status`, { status: 'SOLVED' });
  assert.equal(solved.status, 200, solved.text);
  await waitForWidget(page, (w) => w.messages.some((m) => m.cls.includes('system') && /solved/i.test(m.text)), 'solved notice shown');
  const refused = await env.agent.post(`/v1/conversations/${first.threadId}/messages`, { text: 'too late' });
  assert.equal(refused.status, 409);
  const second = await ok(page, 'send', { type: 'BASIC', message: 'a new question' });
  assert.notEqual(second.threadId, first.threadId, 'a new conversation');
  await waitForWidget(page, delivered('a new question'), 'new conversation shown');
  assertNoPageErrors(page);
});

// Last in the file: it restarts the server.
test('a message sent while the server is down is delivered once after it restarts; nothing acked is lost', async () => {
  const page = await env.open('/e2e/auto.html');
  await ok(page, 'show', null);
  const first = await ok(page, 'send', { type: 'BASIC', message: 'before the restart' });
  let pending;
  await env.server.restart(async () => {
    // The widget notices the socket closed; the send waits in the outbox.
    pending = call(page, 'send', { type: 'BASIC', message: 'while the server is down' }, { timeout: 30000, settle: 300 });
    await waitForWidget(page, (w) => w.messages.some((m) => m.text === 'while the server is down' && m.cls.includes('pending')), 'shown as pending');
  });
  const out = await pending;
  assert.ok(!out.error, JSON.stringify(out.error));
  assert.equal(out.result.threadId, first.threadId, 'same conversation after the restart (session resumed from SQLite)');
  await waitForWidget(page, (w) => delivered('while the server is down')(w) && delivered('before the restart')(w), 'both delivered');
  const stored = await env.agent.messages(first.threadId);
  assert.equal(stored.filter((m) => m.text === 'while the server is down').length, 1, 'stored exactly once');
  assert.equal(stored.filter((m) => m.text === 'before the restart').length, 1);
  // An agent reply after the restart still reaches the widget.
  await env.agent.reply(first.threadId, 'back online');
  await waitForWidget(page, delivered('back online', 'agent'), 'reply after restart');
  assertNoPageErrors(page);
});

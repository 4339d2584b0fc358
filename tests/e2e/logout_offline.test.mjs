// `logout` while the server is unreachable (issue 12 §4): the call answers
// `{cleared, loggedOut: true}` at once, the old session's token waits in storage, and the
// first hello of the next connection ends it on the server before anything else — the old
// token (e.g. a copy of the stored entry) is refused afterwards.
import { test } from 'node:test';
import {
  assert, useEnv, ok, waitFor, storedEntry, assertNoPageErrors, signJwt, uniqueEmail, WIDGET_ID,
} from './harness.mjs';

const env = useEnv();

/** Which websockets of the page are open (the widget is offline when none is). */
const TRACK_SOCKETS = () => {
  const Real = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends Real {
    constructor(url, protocols) {
      super(url, protocols);
      window.__sockets.push(this);
    }
  };
};

/** A hello with `session` on a new socket of the page; resolves with the welcome. */
function helloWith([session, widgetId]) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(location.origin.replace('http', 'ws') + '/v1/ws');
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', protocol: 1, widget_id: widgetId, session, last_seq: 0 }));
    ws.onmessage = (e) => { resolve(JSON.parse(e.data)); ws.close(); };
    ws.onerror = () => reject(new Error('socket failed'));
  });
}

test('logout while offline answers loggedOut: true and the next connection ends the session on the server', async () => {
  const page = await env.open(null);
  await page.addInitScript(TRACK_SOCKETS);
  await page.goto(env.url('/e2e/auto.html'));
  await page.waitForFunction(() => window.liveChat && window.liveChat.loaded === true);
  const email = uniqueEmail('offline-logout');
  await ok(page, 'auth', signJwt({ sub: email }));
  await ok(page, 'send', { type: 'BASIC', message: 'private before the offline logout' });
  const before = await waitFor(async () => {
    const e = await storedEntry(page);
    return e && e.session && e.customer ? e : null;
  }, { message: 'customer session stored' });
  // The customer's token works now (the check below is not vacuous).
  const live = await page.evaluate(helloWith, [before.session, WIDGET_ID]);
  assert.deepEqual(live.customer, { subject: email, subject_type: 'email' }, JSON.stringify(live));

  let answer;
  await env.server.restart(async () => {
    await page.waitForFunction(() => window.__sockets.length > 0 && window.__sockets.every((s) => s.readyState !== 1),
      null, { timeout: 15000 });
    answer = await ok(page, 'logout', null);
    const stored = await storedEntry(page);
    assert.deepEqual(stored.ended_sessions, [before.session], 'the token to end is kept in storage');
    assert.equal(stored.session, null);
    assert.equal(stored.customer, null);
  });
  assert.deepEqual(answer, { cleared: WIDGET_ID, loggedOut: true });

  // Back online: the widget connects as a new visitor and its hello ended the old session.
  const after = await waitFor(async () => {
    const e = await storedEntry(page);
    return e && e.session && !e.ended_sessions ? e : null;
  }, { timeout: 30000, message: 'welcomed again, nothing left to end' });
  assert.notEqual(after.session, before.session);
  assert.equal(after.customer, null);
  const refused = await page.evaluate(helloWith, [before.session, WIDGET_ID]);
  assert.equal(refused.type, 'welcome', JSON.stringify(refused));
  assert.equal(refused.customer, undefined, `the old token signs nobody in: ${JSON.stringify(refused)}`);
  assert.notEqual(refused.session, before.session, 'a new visitor, not the old session');
  const init = await ok(page, 'init', WIDGET_ID);
  assert.equal(init.customer, null);
  assertNoPageErrors(page);
});

test('a follower tab logs out while the server is unreachable: loggedOut at once, the leader ends the session when it is back', async () => {
  // Two tabs of one site: the first holds the socket lock (leader), the second follows.
  const leader = await env.open(null);
  const context = leader.context();
  await context.addInitScript(TRACK_SOCKETS);
  await leader.goto(env.url('/e2e/auto.html'));
  await leader.waitForFunction(() => window.liveChat && window.liveChat.loaded === true);
  const email = uniqueEmail('follower-offline-logout');
  await ok(leader, 'auth', signJwt({ sub: email }));
  const before = await waitFor(async () => {
    const e = await storedEntry(leader);
    return e && e.session && e.customer ? e : null;
  }, { message: 'customer session stored' });
  const follower = await env.open('/e2e/auto.html', { context });
  const init = await ok(follower, 'init', WIDGET_ID);
  assert.deepEqual(init.customer, { subject: email, subjectType: 'email' }, 'the follower took the session from storage');
  assert.equal(await follower.evaluate(() => window.__sockets.length), 0, 'a follower holds no socket');

  let answer;
  let took;
  await env.server.restart(async () => {
    await leader.waitForFunction(() => window.__sockets.length > 0 && window.__sockets.every((s) => s.readyState !== 1),
      null, { timeout: 15000 });
    const start = Date.now();
    answer = await ok(follower, 'logout', null);
    took = Date.now() - start;
    const stored = await storedEntry(follower);
    assert.deepEqual(stored.ended_sessions, [before.session], 'the token to end is kept in storage');
    assert.equal(stored.customer, null);
  });
  assert.deepEqual(answer, { cleared: WIDGET_ID, loggedOut: true });
  assert.ok(took < 3000, `answered without waiting for the server (${took} ms)`);
  // The follower tried one socket at most (the browser says it is online), none since.
  const sockets = await follower.evaluate(() => window.__sockets.map((s) => s.readyState));
  assert.ok(sockets.length <= 1 && sockets.every((s) => s === 3), JSON.stringify(sockets));

  // The leader took the follower's write and names the token in its hello once the server is back.
  const after = await waitFor(async () => {
    const e = await storedEntry(leader);
    return e && e.session && !e.ended_sessions ? e : null;
  }, { timeout: 30000, message: 'the leader welcomed again, nothing left to end' });
  assert.notEqual(after.session, before.session);
  assert.equal(after.customer, null);
  const refused = await leader.evaluate(helloWith, [before.session, WIDGET_ID]);
  assert.equal(refused.customer, undefined, `the old token signs nobody in: ${JSON.stringify(refused)}`);
  assert.equal((await ok(leader, 'init', WIDGET_ID)).customer, null);
  assertNoPageErrors(leader);
  assertNoPageErrors(follower);
});

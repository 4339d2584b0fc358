// The agent console (www/agent/, served at /agent/) against the real server and the real
// widget: a visitor sends contextual data and messages through `liveChat`, the console shows
// the conversation live with its context card, the agent's reply lands in the widget's
// shadow DOM, and Solve changes the status.
import { test } from 'node:test';
import {
  assert, useEnv, ok, waitFor, waitForWidget, widgetState, assertNoPageErrors, AGENT_TOKEN, AGENT_NAME, WIDGET_ID,
} from './harness.mjs';

const env = useEnv();

async function signIn(page, token = AGENT_TOKEN) {
  await page.getByLabel('Agent API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The console's conversation entries: {id, name, preview, status, unread}. */
function listEntries(page) {
  return page.$$eval('#conv-list .conv', (buttons) => buttons.map((b) => ({
    id: b.dataset.id,
    name: b.querySelector('.name').textContent,
    preview: b.querySelector('.preview').textContent,
    status: b.querySelector('.status').textContent,
    unread: b.classList.contains('unread'),
    widget: b.querySelector('.widget').textContent,
  })));
}

/** The context card as {key: shown value}. */
function contextCard(page) {
  return page.$$eval('#ctx-list > div', (rows) => Object.fromEntries(rows.map((r) => [r.dataset.key, r.querySelector('dd').textContent])));
}

test('sign-in: a wrong token is refused, the token is remembered for the session', async () => {
  const page = await env.open('/agent/', { waitLoaded: false });
  assert.match(await page.textContent('#token-hint'), /demo token: see server\/demo\.toml/);
  await signIn(page, 'not-a-real-token');
  await page.waitForSelector('#signin-error:not([hidden])');
  assert.match(await page.textContent('#signin-error'), /not accepted/);
  assert.equal(await page.isVisible('#app'), false);

  await signIn(page);
  await page.waitForSelector('#conn[data-state="live"]');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('livechat-agent:token')), AGENT_TOKEN);
  assert.match(await page.textContent('#who'), new RegExp(AGENT_NAME));

  // A reload keeps the agent signed in (sessionStorage), Sign out forgets the token.
  await page.reload();
  await page.waitForSelector('#conn[data-state="live"]');
  assert.equal(await page.isVisible('#signin'), false);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForSelector('#signin:not([hidden])');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('livechat-agent:token')), null);
  assertNoPageErrors(page);
});

test('a visitor conversation appears live with its context card; the reply reaches the widget; Solve', async () => {
  // The agent signs in first and stays on the page: everything below must arrive live.
  const agent = await env.open('/agent/', { waitLoaded: false });
  await signIn(agent);
  await agent.waitForSelector('#conn[data-state="live"]');
  await agent.evaluate(() => { window.__sameDocument = true; });

  // The visitor: contextual data before the conversation exists (it waits for it), then a message.
  const visitor = await env.open('/e2e/plain.html');
  await ok(visitor, 'init', WIDGET_ID);
  await ok(visitor, 'send_contextual_data', { metadata: { model: 'Roadster', color: 'red' }, multiThreadStrategy: 'ACTIVE' });
  const hostile = 'Hello <img src=x onerror="window.__xss=1"> I configured a car';
  const sent = await ok(visitor, 'send', { type: 'BASIC', message: hostile });
  const threadId = sent.threadId;

  // The conversation shows up in the list without a reload, unread, with its preview and widget.
  const entry = await waitFor(async () => (await listEntries(agent)).find((e) => e.id === threadId), { message: 'conversation in the list' });
  await waitFor(async () => {
    const e = (await listEntries(agent)).find((x) => x.id === threadId);
    return e && e.preview === hostile && e.unread;
  }, { message: 'preview + unread mark' });
  assert.equal(entry.status, 'OPEN');
  assert.match(entry.widget, new RegExp(WIDGET_ID));
  assert.equal(await agent.evaluate(() => window.__sameDocument), true, 'no reload happened');

  // Open it: messages as text, the context card with the metadata sent before the conversation.
  await agent.click(`#conv-list .conv[data-id="${threadId}"]`);
  await agent.waitForSelector('#conversation:not([hidden])');
  await waitFor(async () => {
    const card = await contextCard(agent);
    return card.model === 'Roadster' && card.color === 'red';
  }, { message: 'context card with the pending metadata' });
  const visitorText = await agent.waitForSelector('#messages li.msg.visitor .text');
  assert.equal(await visitorText.textContent(), hostile);
  assert.equal(await agent.$$eval('#messages img', (imgs) => imgs.length), 0, 'visitor text is not parsed as HTML');
  assert.equal(await agent.evaluate(() => window.__xss), undefined);
  assert.equal(await agent.textContent('#conv-status'), 'OPEN');
  // Opening it clears the unread mark.
  await waitFor(async () => {
    const e = (await listEntries(agent)).find((x) => x.id === threadId);
    return e && !e.unread;
  }, { message: 'unread mark cleared' });

  // Contextual data sent after the conversation started updates the card live.
  await ok(visitor, 'send_contextual_data', { metadata: { color: 'green', cart: ['floor mats', 'roof box'] } });
  await waitFor(async () => {
    const card = await contextCard(agent);
    return card.color === 'green' && card.model === 'Roadster' && card.cart && card.cart.includes('roof box');
  }, { message: 'context card updated live' });

  // A CUSTOM_DATA message shows the agent-only message and the data.
  await ok(visitor, 'send', {
    type: 'CUSTOM_DATA', customData: { orderId: 'ORD-6789' }, agentMessage: 'User requested tracking for ORD-6789.', userMessage: 'Track my order.',
  });
  const custom = await waitFor(() => agent.$$eval('#messages li.msg.visitor', (lis) => {
    const li = lis.find((l) => l.querySelector('.agent-message'));
    return li && { text: li.querySelector('.text').textContent, agent: li.querySelector('.agent-message').textContent, data: li.querySelector('.custom-data').textContent };
  }), { message: 'CUSTOM_DATA message in the console' });
  assert.equal(custom.text, 'Track my order.');
  assert.equal(custom.agent, 'User requested tracking for ORD-6789.');
  assert.deepEqual(JSON.parse(custom.data), { orderId: 'ORD-6789' });
  // The polite live region announced the visitor's messages.
  assert.match(await agent.textContent('#announcer'), /Track my order\./);
  assert.equal(await agent.getAttribute('#announcer', 'aria-live'), 'polite');

  // The agent replies with the keyboard: Shift+Enter is a new line, Enter sends.
  await ok(visitor, 'show', null);
  await agent.focus('#reply');
  await agent.keyboard.type('Hi! Green it is.');
  await agent.keyboard.press('Shift+Enter');
  await agent.keyboard.type('<b>Anything else?</b>');
  await agent.keyboard.press('Enter');
  const replyText = 'Hi! Green it is.\n<b>Anything else?</b>';
  await waitFor(async () => (await agent.$$eval('#messages li.msg.agent .text', (els) => els.map((e) => e.textContent))).includes(replyText),
    { message: 'reply shown in the console' });
  await agent.waitForTimeout(300); // let the live echo of the reply arrive too
  assert.equal(await agent.inputValue('#reply'), '', 'the reply box is emptied');
  assert.equal(await agent.$$eval('#messages li.msg.agent', (els) => els.length), 1, 'own reply shown once (POST response + live event)');
  const stored = (await env.agent.messages(threadId)).filter((m) => m.author === 'agent');
  assert.equal(stored.length, 1);
  assert.equal(stored[0].text, replyText);
  assert.equal(stored[0].agent_name, AGENT_NAME);

  // The reply reaches the visitor's widget (shadow DOM).
  await waitForWidget(visitor, (w) => w.messages.some((m) => m.text.includes('Green it is.') && m.text.includes('<b>Anything else?</b>')), 'agent reply in the widget');
  assert.equal(await visitor.evaluate(() => window.__xss), undefined);

  // Solve: the status changes in the console, on the server, and the reply box closes.
  await agent.getByRole('button', { name: 'Solve' }).click();
  await waitFor(async () => (await agent.textContent('#conv-status')) === 'SOLVED', { message: 'status SOLVED in the header' });
  const conv = await env.agent.get(`/v1/conversations/${threadId}`);
  assert.equal(conv.body.conversation.status, 'SOLVED');
  assert.equal(await agent.isDisabled('#reply'), true);
  assert.equal(await agent.isDisabled('#solve'), true);
  assert.equal(await agent.isDisabled('#close'), false);
  // The "Open" filter no longer lists it; "Solved" does.
  await waitFor(async () => !(await listEntries(agent)).some((e) => e.id === threadId), { message: 'gone from the Open filter' });
  await agent.getByRole('radio', { name: 'Solved' }).check();
  await waitFor(async () => {
    const e = (await listEntries(agent)).find((x) => x.id === threadId);
    return e && e.status === 'SOLVED';
  }, { message: 'listed under Solved' });

  assertNoPageErrors(agent);
  assertNoPageErrors(visitor);
  const s = await widgetState(visitor);
  assert.ok(s.messages.length >= 3, JSON.stringify(s.messages));
});

test('the event stream reconnects with backoff and re-reads what it missed', async () => {
  const agent = await env.open();
  // Wraps WebSocket to count connections and to refuse them while __blockWs is set.
  await agent.addInitScript(() => {
    const Real = window.WebSocket;
    window.__sockets = [];
    window.__blockWs = false;
    window.WebSocket = class extends Real {
      constructor(url, protocols) {
        const blocked = window.__blockWs;
        // Refused by the server (no such route), not by the console's CSP (connect-src 'self').
        super(blocked ? url.replace('/v1/agent/events', '/v1/refused') : url, protocols);
        window.__sockets.push({ blocked, socket: this });
      }
    };
  });
  await agent.goto(env.url('/agent/'));
  await signIn(agent);
  await agent.waitForSelector('#conn[data-state="live"]');

  const visitor = await env.open('/e2e/plain.html');
  await ok(visitor, 'init', WIDGET_ID);
  const { threadId } = await ok(visitor, 'send', { type: 'BASIC', message: 'Are you there?' });
  await waitFor(async () => (await listEntries(agent)).some((e) => e.id === threadId && e.preview === 'Are you there?'), { message: 'listed live' });

  // Drop the stream and refuse reconnects for a while.
  await agent.evaluate(() => { window.__blockWs = true; window.__sockets.at(-1).socket.close(); });
  await waitFor(async () => (await agent.getAttribute('#conn', 'data-state')) !== 'live', { message: 'connection shown as down' });
  assert.match(await agent.textContent('#conn'), /Reconnecting/);
  // Missed while offline: an agent reply from elsewhere.
  await env.agent.reply(threadId, 'Answered from another console');
  await waitFor(() => agent.evaluate(() => window.__sockets.filter((s) => s.blocked).length >= 2), { message: 'retries while refused', timeout: 15000 });
  await agent.evaluate(() => { window.__blockWs = false; });
  await agent.waitForSelector('#conn[data-state="live"]', { timeout: 20000 });

  // After the reconnect the list was re-read: the missed reply is the preview.
  await waitFor(async () => (await listEntries(agent)).some((e) => e.id === threadId && /Answered from another console/.test(e.preview)),
    { message: 'missed message picked up after reconnect' });
  // And the stream is live again.
  await ok(visitor, 'send', { type: 'BASIC', message: 'Back again' });
  await waitFor(async () => (await listEntries(agent)).some((e) => e.id === threadId && e.preview === 'Back again'), { message: 'live after reconnect' });
  const delays = await agent.evaluate(() => window.__sockets.length);
  assert.ok(delays >= 4, `connected, dropped, retried, reconnected: ${delays} sockets`);
  assertNoPageErrors(agent);
});

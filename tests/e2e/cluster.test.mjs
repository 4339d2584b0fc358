// Three server nodes on one PostgreSQL behind nginx (issue 11 §4), in real Chromium. The
// cluster (a throwaway PostgreSQL, three `livechat-server --store postgres://…` nodes, nginx
// from deploy/nginx-cluster.conf.in with no sticky sessions) is started by cluster_harness.mjs.
//
// 1. widget on node A, agent console on node C: messages, contextual data, replies, status
//    changes and presence flow both ways;
// 2. `kill -9` of the node holding the widget's socket mid-conversation: the widget
//    reconnects through the balancer, resumes, its outbox is flushed;
// 3. PostgreSQL restarted mid-conversation: nothing acked is lost, every node recovers,
//    sends made meanwhile arrive once;
// 4. two tabs of one visitor with their sockets on two different nodes send at once;
// 5. a JWT's `jti` replayed against another node is refused.
//
// Each scenario prints `[cluster N] sent X, stored Y, shown Z, lost=L duplicated=D` and then
// asserts L = D = 0.
import { test, before, after } from 'node:test';
import {
  assert, launchBrowser, track, waitLoaded, waitFor, waitForWidget, widgetState, storedEntry, agentApi, assertNoPageErrors,
  ok, fails, inShadow, signJwt, uniqueEmail, AGENT_TOKEN, WIDGET_ID,
} from './harness.mjs';
import { startCluster } from './cluster_harness.mjs';

let cluster;
let browser;
const contexts = [];

before(async () => {
  cluster = await startCluster({ nodes: 3 });
  await cluster.waitHealthy();
  browser = await launchBrowser();
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  if (browser) await browser.close().catch(() => {});
  if (cluster) await cluster.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tagOf = (n) => `C${n}-${Math.random().toString(36).slice(2, 8)}`;
const node = (name) => cluster.nodes.find((n) => n.name === name);

async function newContext() {
  const ctx = await browser.newContext();
  contexts.push(ctx);
  return ctx;
}

/** A page of a fresh (or given) context at `base + path`, widget loaded. */
async function openPage(base, path = '/e2e/auto.html', { ctx, wait = true } = {}) {
  const context = ctx || await newContext();
  const page = track(await context.newPage());
  await page.goto(base + path);
  if (wait) await waitLoaded(page);
  return page;
}

/** Visitor sockets per node, from each node's own /healthz. */
async function socketsPerNode() {
  const out = {};
  for (const n of cluster.nodes) {
    const h = await n.health();
    out[n.name] = h.body && typeof h.body.sockets === 'number' ? h.body.sockets : null;
  }
  return out;
}

/** Waits until the widget in `page` is connected (welcomed). */
async function connected(page) {
  await waitFor(async () => (await storedEntry(page))?.session, { timeout: 20000, message: 'a session from the server' });
}

// ----- liveChat calls whose answers may come much later (as in reliability.test.mjs) ------------

function startCall(page, command, arg) {
  return page.evaluate(([c, a]) => {
    const rel = (window.__rel = window.__rel || { n: 0, calls: {} });
    const id = ++rel.n;
    const rec = { count: 0, error: null, result: null, threw: null };
    rel.calls[id] = rec;
    try {
      window.liveChat(c, a, (error, result) => {
        rec.count += 1;
        rec.error = error ? JSON.parse(JSON.stringify(error)) : null;
        rec.result = result ? JSON.parse(JSON.stringify(result)) : null;
      });
    } catch (e) {
      rec.threw = String(e);
    }
    return id;
  }, [command, arg]);
}

async function answered(page, id, timeout = 30000) {
  const rec = await waitFor(async () => {
    const r = await page.evaluate((i) => window.__rel.calls[i], id);
    return r.count > 0 || r.threw ? r : null;
  }, { timeout, message: `callback of call ${id}` });
  await sleep(50);
  const again = await page.evaluate((i) => window.__rel.calls[i], id);
  assert.equal(again.threw, null, `liveChat threw: ${again.threw}`);
  assert.equal(again.count, 1, `callback fired exactly once (got ${again.count})`);
  assert.equal(again.error, null, `call succeeded: ${JSON.stringify(again.error)}`);
  return rec.result;
}

const sendText = async (page, text) => answered(page, await startCall(page, 'send', { type: 'BASIC', message: text }));

// ----- what is stored, what is shown ------------------------------------------------------------

const api = () => agentApi(() => cluster.url);

async function storedWithTag(tag) {
  const a = api();
  const list = await a.get(`/v1/conversations?widget_id=${encodeURIComponent(WIDGET_ID)}&limit=1000`);
  assert.equal(list.status, 200, list.text);
  const out = [];
  for (const conv of list.body.conversations) out.push(...(await a.messages(conv.id)));
  return out.filter((m) => typeof m.text === 'string' && m.text.startsWith(tag));
}

const shown = (w, tag) => w.messages.filter((m) => m.text.startsWith(tag));

/** Waits until `page` shows exactly `texts` (with the tag), in order, none pending. */
async function assertShownOnce(page, tag, texts, message) {
  const good = (w) => {
    const mine = shown(w, tag);
    return mine.length === texts.length && mine.every((m, i) => m.text === texts[i] && !m.cls.includes('pending'));
  };
  let last = null;
  try {
    await waitFor(async () => { last = await widgetState(page); return last && good(last); }, { timeout: 20000, message });
  } catch {
    assert.fail(`${message}: expected ${JSON.stringify(texts)}, shown ${JSON.stringify(last && shown(last, tag))}`);
  }
  await sleep(300);
  const again = await widgetState(page);
  assert.ok(good(again), `${message} (after 300 ms): ${JSON.stringify(shown(again, tag))}`);
}

/** Prints the counts, then asserts nothing was lost or stored twice. */
function report(n, texts, stored, shownCount, extra = '') {
  const lost = texts.filter((t) => !stored.some((m) => m.text === t)).length;
  const duplicated = stored.length - new Set(stored.map((m) => m.text)).size;
  console.log(`[cluster ${n}] sent ${texts.length}, stored ${stored.length}, shown ${shownCount}, lost=${lost} duplicated=${duplicated}${extra ? `, ${extra}` : ''}`);
  assert.equal(lost, 0, 'nothing lost');
  assert.equal(duplicated, 0, 'nothing stored twice');
  assert.equal(stored.length, texts.length, `nothing else stored: ${JSON.stringify(stored.map((m) => m.text))}`);
}

// ----- the agent console -----------------------------------------------------------------------

async function consoleOn(base) {
  const page = await openPage(base, '/agent/', { wait: false });
  await page.getByLabel('Agent API token').fill(AGENT_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForSelector('#conn[data-state="live"]');
  return page;
}

const consoleTexts = (page) => page.$$eval('#messages li.msg .text', (els) => els.map((e) => e.textContent));
const contextCard = (page) => page.$$eval('#ctx-list > div', (rows) => Object.fromEntries(rows.map((r) => [r.dataset.key, r.querySelector('dd').textContent])));
const presence = (page) => inShadow(page, (root) => root.querySelector('.status').textContent);

// =================================================================================================

test('1. widget on node A, agent console on node C: messages, contextual data, replies, status and presence both ways', { timeout: 60_000 }, async () => {
  const tag = tagOf(1);
  const A = node('A');
  const C = node('C');
  const visitor = await openPage(A.url);
  await ok(visitor, 'show', null);
  await connected(visitor);
  assert.match(await presence(visitor), /away/i, 'no agent anywhere yet');
  assert.equal((await socketsPerNode()).A, 1, 'the widget\'s socket is on node A');

  // Presence: an agent signs in on node C; the widget on node A goes online.
  const agent = await consoleOn(C.url);
  await waitFor(async () => /online/i.test(await presence(visitor)), { message: 'widget on A sees the agent on C online' });

  // Visitor → agent: contextual data before the conversation, then messages.
  await ok(visitor, 'send_contextual_data', { metadata: { model: 'Roadster', color: 'red' }, multiThreadStrategy: 'ACTIVE' });
  const texts = [`${tag} hello from A`, `${tag} second`];
  const first = await sendText(visitor, texts[0]);
  await sendText(visitor, texts[1]);
  const threadId = first.threadId;
  await waitFor(async () => agent.$(`#conv-list .conv[data-id="${threadId}"]`), { message: 'conversation listed live on C' });
  await agent.click(`#conv-list .conv[data-id="${threadId}"]`);
  await waitFor(async () => {
    const t = await consoleTexts(agent);
    return texts.every((x) => t.includes(x));
  }, { message: 'visitor messages on C' });
  await waitFor(async () => (await contextCard(agent)).model === 'Roadster', { message: 'context card on C' });
  await ok(visitor, 'send_contextual_data', { metadata: { color: 'green' } });
  await waitFor(async () => (await contextCard(agent)).color === 'green', { message: 'context update reaches C live' });

  // Agent → visitor: a reply typed on C appears in the widget on A.
  const reply = `${tag} reply from C`;
  await agent.fill('#reply', reply);
  await agent.keyboard.press('Enter');
  await assertShownOnce(visitor, tag, [...texts, reply], 'the reply from C is shown on A');
  const more = `${tag} after the reply`;
  await sendText(visitor, more);
  await waitFor(async () => (await consoleTexts(agent)).includes(more), { message: 'live message on C after the reply' });

  // Status: Solve on C reaches the widget on A.
  await agent.getByRole('button', { name: /solve/i }).click();
  await waitFor(async () => (await storedEntry(visitor))?.threads?.some((t) => t.id === threadId && t.status === 'SOLVED'),
    { message: 'SOLVED reaches the widget on A' });

  // Presence the other way: the agent leaves C; the widget on A goes away.
  await agent.close();
  await waitFor(async () => /away/i.test(await presence(visitor)), { timeout: 15000, message: 'widget on A sees the agent leave' });

  const all = [...texts, reply, more];
  const stored = await storedWithTag(tag);
  report(1, all, stored, all.length, 'widget on A, console on C');
  assertNoPageErrors(visitor);
  await visitor.context().close();
});

test('2. kill -9 of the node holding the widget\'s socket: reconnect through the balancer, resume, outbox flushed', { timeout: 60_000 }, async () => {
  const tag = tagOf(2);
  const page = await openPage(cluster.url);
  await connected(page);
  const acked = [];
  for (let i = 1; i <= 3; i++) acked.push(await sendText(page, `${tag} acked ${i}`));
  const before = await socketsPerNode();
  const holder = cluster.nodes.find((n) => before[n.name] === 1);
  assert.ok(holder, `one node holds the widget's socket: ${JSON.stringify(before)}`);

  // One send in flight as the node dies, two more while the widget reconnects.
  const inflight = `${tag} in flight`;
  const ids = [await startCall(page, 'send', { type: 'BASIC', message: inflight })];
  await holder.kill();
  const downTexts = [`${tag} meanwhile 1`, `${tag} meanwhile 2`];
  for (const t of downTexts) ids.push(await startCall(page, 'send', { type: 'BASIC', message: t }));
  for (const id of ids) await answered(page, id);
  const after = await socketsPerNode();
  const now = cluster.nodes.find((n) => n !== holder && after[n.name] === 1);
  assert.ok(now, `the widget reconnected to another node: ${JSON.stringify(after)}`);
  const hello = await storedEntry(page);
  assert.ok(hello.last_seq > 0, 'it resumed from its stored sequence');

  const texts = [...acked.map((_, i) => `${tag} acked ${i + 1}`), inflight, ...downTexts];
  const stored = await storedWithTag(tag);
  for (const [i, a] of acked.entries()) {
    assert.equal(stored.find((m) => m.text === texts[i])?.id, a.messageId, 'acked message intact');
  }
  assert.deepEqual(stored.map((m) => m.text), texts, 'the outbox went out in order');
  await assertShownOnce(page, tag, texts, 'everything shown once after the failover');
  report(2, texts, stored, texts.length, `node ${holder.name} killed, resumed on node ${now.name}`);
  assertNoPageErrors(page);
  await page.context().close();
  await holder.start();
  await cluster.waitHealthy();
});

test('3. PostgreSQL restarted mid-conversation: nothing acked lost, every node recovers, sends made meanwhile arrive once', { timeout: 90_000 }, async () => {
  const tag = tagOf(3);
  const page = await openPage(cluster.url);
  await connected(page);
  const acked = [];
  for (let i = 1; i <= 3; i++) acked.push(await sendText(page, `${tag} acked ${i}`));
  const ids = [];
  const downTexts = [`${tag} meanwhile 1`, `${tag} meanwhile 2`, `${tag} meanwhile 3`];
  const unhealthy = [];
  await cluster.pg.restart(async () => {
    for (const t of downTexts) ids.push(await startCall(page, 'send', { type: 'BASIC', message: t }));
    // Every node notices and tells the balancer.
    await waitFor(async () => {
      const hs = await Promise.all(cluster.nodes.map((n) => n.health()));
      return hs.every((h) => h.status === 503) && hs;
    }, { timeout: 15000, message: 'every node reports the database down (503)' });
    unhealthy.push(...cluster.nodes.map((n) => n.name));
  });
  for (const id of ids) await answered(page, id, 40_000);
  await cluster.waitHealthy();

  // Every node delivers again: a reply through each node's agent API reaches the widget.
  const thread = acked[0].threadId;
  const replies = [];
  for (const n of cluster.nodes) {
    const text = `${tag} reply via ${n.name}`;
    await agentApi(() => n.url).reply(thread, text);
    replies.push(text);
  }
  const texts = [...acked.map((_, i) => `${tag} acked ${i + 1}`), ...downTexts, ...replies];
  const stored = await storedWithTag(tag);
  for (const [i, a] of acked.entries()) {
    assert.equal(stored.find((m) => m.text === texts[i])?.id, a.messageId, 'acked message intact');
  }
  await assertShownOnce(page, tag, stored.map((m) => m.text), 'everything shown once, in the stored order');
  report(3, texts, stored, texts.length, `database restarts 1, nodes that reported 503: ${unhealthy.join('')}`);
  assertNoPageErrors(page);
  await page.context().close();
});

test('4. two tabs of one visitor, sockets on two nodes, sending at once: every message once, same order in both', { timeout: 60_000 }, async () => {
  const tag = tagOf(4);
  const A = node('A');
  const B = node('B');
  // Tab 1 is served by node A, tab 2 by node B: two origins, so two storages and two sockets.
  // Tab 2 starts with tab 1's stored state (session token included): the same visitor.
  const tab1 = await openPage(A.url);
  await connected(tab1);
  const first = await sendText(tab1, `${tag} 0`);
  const entry = await storedEntry(tab1);
  const ctx2 = await newContext();
  await ctx2.addInitScript(([key, value]) => {
    if (!sessionStorage.getItem('seeded')) {
      localStorage.setItem(key, value);
      sessionStorage.setItem('seeded', '1');
    }
  }, [`livechat:${WIDGET_ID}`, JSON.stringify(entry)]);
  const tab2 = await openPage(B.url, '/e2e/auto.html', { ctx: ctx2 });
  await waitForWidget(tab2, (w) => w.messages.some((m) => m.text === `${tag} 0`), 'tab 2 resumes the same visitor');
  assert.equal((await storedEntry(tab2)).session, entry.session, 'one session, two tabs');
  // (It shows the stored history at once; its own socket to node B follows.)
  let sockets = null;
  await waitFor(async () => { sockets = await socketsPerNode(); return sockets.A === 1 && sockets.B === 1; },
    { timeout: 20000, message: 'one socket on node A, one on node B' }).catch(() => {
    assert.fail(`one socket on node A, one on node B: ${JSON.stringify(sockets)}`);
  });

  const N = 10;
  const burst = (page, who) => page.evaluate(([w, n, t]) => {
    const rel = (window.__rel = window.__rel || { n: 0, calls: {} });
    const ids = [];
    for (let i = 1; i <= n; i++) {
      const id = ++rel.n;
      const rec = { count: 0, error: null, result: null, threw: null };
      rel.calls[id] = rec;
      window.liveChat('send', { type: 'BASIC', message: `${t} ${w}${i}` }, (e, r) => {
        rec.count += 1; rec.error = e ? JSON.parse(JSON.stringify(e)) : null; rec.result = r ? JSON.parse(JSON.stringify(r)) : null;
      });
      ids.push(id);
    }
    return ids;
  }, [who, N, tag]);
  const [ids1, ids2] = await Promise.all([burst(tab1, 'a'), burst(tab2, 'b')]);
  for (const id of ids1) await answered(tab1, id);
  for (const id of ids2) await answered(tab2, id);

  const texts = [`${tag} 0`];
  for (let i = 1; i <= N; i++) texts.push(`${tag} a${i}`);
  for (let i = 1; i <= N; i++) texts.push(`${tag} b${i}`);
  const stored = await storedWithTag(tag);
  assert.ok(stored.every((m) => m.thread_id === first.threadId), 'one conversation for both tabs');
  const order = stored.map((m) => m.text);
  assert.deepEqual(order.filter((t) => / a\d+$/.test(t)), texts.filter((t) => / a\d+$/.test(t)), 'tab 1\'s messages in its order');
  assert.deepEqual(order.filter((t) => / b\d+$/.test(t)), texts.filter((t) => / b\d+$/.test(t)), 'tab 2\'s messages in its order');
  await assertShownOnce(tab1, tag, order, 'tab 1 (node A) shows the stored order');
  await assertShownOnce(tab2, tag, order, 'tab 2 (node B) shows the same order');
  const s1 = (await storedEntry(tab1)).last_seq;
  const s2 = (await storedEntry(tab2)).last_seq;
  assert.equal(s1, s2, 'both tabs saw the same event sequence');
  report(4, texts, stored, `${texts.length} in each tab`, `sockets A=${sockets.A} B=${sockets.B}, last_seq ${s1}`);
  assertNoPageErrors(tab1);
  assertNoPageErrors(tab2);
  await tab1.context().close();
  await ctx2.close();
});

test('5. a JWT jti used on node A is refused when replayed against node B and node C', { timeout: 30_000 }, async () => {
  const email = uniqueEmail('cluster');
  const jwt = signJwt({ sub: email });
  const onA = await openPage(node('A').url);
  await connected(onA);
  const auth = await ok(onA, 'auth', jwt);
  assert.equal(auth.customer.subject, email);
  let refused = 0;
  for (const name of ['B', 'C']) {
    const page = await openPage(node(name).url);
    await connected(page);
    const err = await fails(page, 'auth', jwt, 'rejected');
    assert.equal(err.reason, 'invalid_token', `replay on node ${name}: ${JSON.stringify(err)}`);
    refused += 1;
    assertNoPageErrors(page);
    await page.context().close();
  }
  console.log(`[cluster 5] jti used on A, replayed on B and C: refused ${refused} of 2`);
  assert.ok((await ok(onA, 'send', { type: 'BASIC', message: 'still signed in on A' })).messageId);
  assertNoPageErrors(onA);
  await onA.context().close();
});

// A large attachment survives a reload before its ack (issue 12 §4): a 9 MB file (12 MB as
// base64, over localStorage's quota) is sent while the server is unreachable; the outbox
// entry in localStorage refers to the bytes kept in IndexedDB; the page is reloaded; once
// the server is reachable the message is stored exactly once with the same bytes (SHA-256),
// and the blob is gone from IndexedDB after the ack. The page is served through a TCP proxy
// (fault_proxy.mjs) that refuses websockets meanwhile, so the page itself still loads.
import { test, before, after } from 'node:test';
import { createHash } from 'node:crypto';
import {
  assert, launchBrowser, track, waitLoaded, waitFor, storedEntry, agentApi, assertNoPageErrors, WIDGET_ID,
} from './harness.mjs';
import { startProxy, restartableServer } from './fault_proxy.mjs';

const SIZE = 9 * 1024 * 1024;
let server;
let proxy;
let browser;

before(async () => {
  server = await restartableServer();
  proxy = await startProxy(server.port);
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (proxy) await proxy.close().catch(() => {});
  if (server) await server.stop();
});

/** Builds `size` random bytes in the page; returns their SHA-256 (hex); window.__file holds the base64. */
function makeFile(size) {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65536)));
  let b64 = '';
  for (let i = 0; i < size; i += 3 * 8192) b64 += btoa(String.fromCharCode(...bytes.subarray(i, i + 3 * 8192)));
  window.__file = b64;
  return crypto.subtle.digest('SHA-256', bytes).then((d) => [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join(''));
}

/** The blob IndexedDB holds under `key` (its length), or null. */
function blobLength(key) {
  return new Promise((resolve) => {
    const open = indexedDB.open('livechat', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('attachments');
    open.onerror = () => resolve(null);
    open.onsuccess = () => {
      const get = open.result.transaction('attachments').objectStore('attachments').get(key);
      get.onsuccess = () => { resolve(get.result ? get.result.length : null); open.result.close(); };
      get.onerror = () => resolve(null);
    };
  });
}

/** Every stored message of the widget with this text. */
async function storedWithText(agent, text) {
  const list = await agent.get(`/v1/conversations?widget_id=${encodeURIComponent(WIDGET_ID)}&limit=1000`);
  assert.equal(list.status, 200, list.text);
  const out = [];
  for (const conv of list.body.conversations) out.push(...(await agent.messages(conv.id)));
  return out.filter((m) => m.text === text);
}

const attachmentOf = (item) => item && item.request && item.request.message
  && item.request.message.body.basic && item.request.message.body.basic.attachment;

test('a 9 MB attachment sent while the server is unreachable survives a reload and arrives once, byte for byte', async () => {
  const agent = agentApi(() => server.url);
  const ctx = await browser.newContext();
  const page = track(await ctx.newPage());
  await page.goto(proxy.url('/e2e/auto.html'));
  await waitLoaded(page);
  await waitFor(() => proxy.framesOf('down', 'welcome').length > 0, { message: 'welcome', timeout: 15000 });

  proxy.refuse({ only: 'ws' });
  proxy.dropAll();
  const hash = await page.evaluate(makeFile, SIZE);
  await page.evaluate(() => {
    window.liveChat('send', { type: 'BASIC', message: 'the big one', attachment: window.__file, fileName: 'big.zip' }, () => {});
  });
  // Durable before the reload: the entry refers to the bytes in IndexedDB, and they are there.
  const entry = await waitFor(async () => {
    const e = await storedEntry(page);
    const a = e && e.outbox && attachmentOf(e.outbox[0]);
    return a && a.content.startsWith('idb:') ? e : null;
  }, { timeout: 30000, message: 'the outbox entry refers to IndexedDB' });
  assert.equal(entry.outbox.length, 1);
  const key = attachmentOf(entry.outbox[0]).content.slice(4);
  assert.equal(await page.evaluate(blobLength, key), Math.ceil(SIZE / 3) * 4, 'the whole base64 is in IndexedDB');
  const localBytes = await page.evaluate(() => Object.keys(localStorage).reduce((n, k) => n + localStorage.getItem(k).length, 0));
  assert.ok(localBytes < 100_000, `localStorage holds the reference, not the bytes (${localBytes} chars)`);

  await page.reload();
  await waitLoaded(page);
  // Still unreachable: the item waits, its bytes still in IndexedDB.
  await page.waitForTimeout(1000);
  const reloaded = await storedEntry(page);
  assert.equal(reloaded.outbox.length, 1, 'the item survived the reload');
  assert.equal(reloaded.outbox[0].id, entry.outbox[0].id, 'with the same id (the server stores it once)');
  assert.equal(await page.evaluate(blobLength, key), Math.ceil(SIZE / 3) * 4);

  proxy.pass();
  await waitFor(async () => (await storedWithText(agent, 'the big one')).length > 0,
    { timeout: 60000, interval: 500, message: 'the message stored' });
  await waitFor(async () => ((await storedEntry(page)) || {}).outbox?.length === 0, { timeout: 30000, message: 'outbox emptied by the ack' });
  const again = await storedWithText(agent, 'the big one');
  assert.equal(again.length, 1, 'stored exactly once');
  const a = again[0].attachment;
  assert.equal(a.size, SIZE);
  const res = await fetch(server.url + a.url);
  assert.equal(res.status, 200);
  const body = Buffer.from(await res.arrayBuffer());
  assert.equal(createHash('sha256').update(body).digest('hex'), hash, 'the same bytes');
  await waitFor(async () => (await page.evaluate(blobLength, key)) === null, { message: 'the blob is deleted after the ack' });
  assertNoPageErrors(page);
  await ctx.close();
});

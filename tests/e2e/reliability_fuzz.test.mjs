// Browser fuzz of the dispatcher (issue 5): thousands of random `liveChat(cmd, arg, cb)`
// calls through the real global in Chromium against the real server — functions, symbols,
// BigInt, cyclic objects, getters and toJSON that throw, Proxy objects (throwing traps,
// revoked), huge strings, deep nesting, DOM nodes, odd command names and callbacks that
// throw or re-enter. Properties: no pageerror, liveChat never throws, every callback fires
// exactly once (sends and contextual data when the server answers — waited for, never
// twice), and the widget still chats afterwards.
import { test } from 'node:test';
import { assert, useEnv, ok, call, waitFor, waitForWidget, assertNoPageErrors, WIDGET_ID } from './harness.mjs';

const env = useEnv();

const SEED = Number(process.env.RELIABILITY_FUZZ_SEED || 20261122);
const BATCHES = Number(process.env.RELIABILITY_FUZZ_BATCHES || 10);
const PER_BATCH = 400;
// Arguments whose JSON.stringify is undefined (toJSON returning undefined or a function) used
// to make liveChat throw and leave the widget dead (regression test at the end); set
// RELIABILITY_FUZZ_UNDEFINED_JSON=0 to leave them out while bisecting something else.
const UNDEFINED_JSON = process.env.RELIABILITY_FUZZ_UNDEFINED_JSON !== '0';

/** Runs `count` random calls in the page (seeded), recording each in window.__fz. */
function fuzzBatch([seed, count, batch, withUndefinedJson]) {
  const fz = (window.__fz = window.__fz || { calls: [], nestedCalls: [], bigOnes: 0 });
  let s = (seed ^ (batch * 0x9e3779b9)) >>> 0 || 1;
  const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
  const below = (n) => Math.floor(rnd() * n);
  const pick = (a) => a[below(a.length)];

  const NAMES = ['init', 'auth', 'logout', 'clear', 'show', 'hide', 'show_launcher', 'hide_launcher', 'set_theme', 'send',
    'send_contextual_data', 'set_language'];
  const weirdName = () => pick([
    '', ' ', 'Init', 'SEND', 'send ', 'sendd', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'send\u0000',
    '🙂', 12, 0, null, undefined, true, {}, [], ['send'], Symbol('send'), () => 'send', new String('send'),
    { toString() { return 'send'; } }, new Proxy({}, { get() { throw new Error('trap'); } }), 10n,
  ]);
  const str = () => pick(['', ' ', 'x', 'fz', '\u0000', '<img src=x onerror=alert(1)>', '🙂'.repeat(3), 'a'.repeat(10001),
    'é'.repeat(below(12000)), '\ud800', 'it-IT', 'dark', 'BASIC', 'a.b.c', 'eyJh.eyJz.c2ln']);
  const nest = (d, leaf) => { let v = leaf; for (let i = 0; i < d; i++) v = rnd() < 0.5 ? [v] : { k: v }; return v; };
  const randomJson = (depth) => {
    if (depth <= 0 || rnd() < 0.35) return pick([null, true, false, 0, -0, 1.5, -1, 1e308, NaN, Infinity, str()]);
    if (rnd() < 0.5) return Array.from({ length: below(5) }, () => randomJson(depth - 1));
    const o = {};
    for (let i = 0; i < below(5); i++) o[pick(['type', 'message', 'metadata', 'customData', 'threadId', 'fileName', 'attachment', '__proto__', 'constructor', 'x'])] = randomJson(depth - 1);
    return o;
  };
  const hostile = () => {
    const cyclic = { type: 'BASIC', message: 'cycle' }; cyclic.self = cyclic;
    const revocable = Proxy.revocable({ type: 'BASIC', message: 'revoked' }, {}); revocable.revoke();
    const throwingGetter = { type: 'BASIC' }; Object.defineProperty(throwingGetter, 'message', { enumerable: true, get() { throw new Error('getter boom'); } });
    const deep = nest(pick([10, 31, 32, 33, 100, 5000]), 'bottom');
    const options = [
      () => undefined, () => null, () => () => {}, () => class {}, () => async () => {}, () => function* g() {},
      () => Symbol('x'), () => Symbol.iterator, () => 10n, () => ({ a: 1n }), () => ({ type: 'BASIC', message: 5n }),
      () => cyclic, () => [cyclic], () => revocable.proxy, () => throwingGetter,
      () => ({ toJSON() { throw new Error('toJSON boom'); } }),
      // toJSON returning undefined or a function (see the regression test below).
      ...(withUndefinedJson ? [() => ({ toJSON() { return undefined; } }), () => ({ toJSON: () => () => 1 })] : []),
      () => new Proxy({}, { ownKeys() { throw new Error('ownKeys trap'); } }),
      () => new Proxy({ type: 'BASIC', message: 'via proxy' }, {}),
      () => new Proxy({}, { get() { throw new Error('get trap'); }, getOwnPropertyDescriptor() { throw new Error('gopd trap'); } }),
      () => deep, () => ({ type: 'CUSTOM_DATA', customData: deep }), () => ({ metadata: deep }),
      () => document.body, () => window, () => new Date(), () => new Map([[1, 2]]), () => new Set([1]), () => /re/g,
      () => new Uint8Array(8), () => new Error('e'), () => Promise.resolve(1), () => Object.create(null),
      () => JSON.parse('{"__proto__": {"polluted": true}, "metadata": {"__proto__": {"x": 1}, "constructor": {"prototype": 1}}}'),
      () => JSON.parse('{"type": "BASIC", "message": "proto", "__proto__": {"type": "DRAFT"}}'),
      () => str(), () => 42, () => NaN, () => [], () => [1, 2, 3], () => true,
    ];
    return pick(options)();
  };
  const nearMiss = (name) => {
    switch (name) {
      case 'send': return pick([
        { type: pick(['BASIC', 'DRAFT', 'CUSTOM_DATA', 'basic', '', 7, null]), message: randomJson(1) },
        { type: 'BASIC', message: str() }, { type: 'BASIC' }, { message: 'no type' },
        { type: 'BASIC', attachment: 'aGVsbG8=', fileName: pick(['a.png', '', null, 3, 'x.exe']) },
        { type: 'BASIC', attachment: 'data:image/png;base64,' + 'A'.repeat(below(3) * 1000000), fileName: 'big.png' },
        { type: 'CUSTOM_DATA', customData: randomJson(3), userMessage: pick([undefined, 'fz custom', 3]) },
        { type: 'DRAFT', message: pick(['fz draft', 4, null]) }, { type: 'BASIC', message: 'fz', threadId: pick(['', 'nope', 5]) },
        randomJson(3),
      ]);
      case 'send_contextual_data': return pick([
        { metadata: randomJson(3), multiThreadStrategy: pick(['ACTIVE', 'ALL', 'ALL_PLUS_NEW', 'all', '', 3, undefined]) },
        { metadata: {} }, { metadata: [] }, {}, { metadata: { k: 'fz' } }, { metadata: { k: 'x'.repeat(20000) } }, randomJson(2),
      ]);
      case 'init': case 'clear': return pick([undefined, null, WIDGET, WIDGET, 'e2e-second', 'unknown-widget', '', 'x'.repeat(65), 'a b', 5, {}]);
      case 'auth': return pick(['a.b.c', 'eyJhbGciOiJIUzI1NiJ9.e30.c2ln', '', 'a.b', 'x'.repeat(9000), 5, null]);
      case 'set_theme': return pick(['dark', 'light', 'default', 'neon', '', ' dark ', 'x'.repeat(70), 3, null]);
      case 'set_language': return pick(['it-IT', 'fr', 'xx', 'zh-Hant-TW', '', undefined, 5, ['it']]);
      default: return pick([undefined, undefined, null, 0, '', {}, 'extra']);
    }
  };
  const WIDGET = '85ea1938-f457-496d-8532-8fa489beea63';

  for (let i = 0; i < count; i++) {
    const roll = rnd();
    let name;
    let arg;
    if (roll < 0.12) { name = weirdName(); arg = rnd() < 0.5 ? hostile() : nearMiss(pick(NAMES)); }
    else if (roll < 0.45) { name = pick(NAMES); arg = hostile(); }
    else if (roll < 0.97) { name = pick(NAMES); if (name === 'logout' || name === 'clear' || name === 'init') name = rnd() < 0.3 ? name : 'show'; arg = nearMiss(name); }
    else { name = 'send'; arg = { type: 'BASIC', message: `fz valid ${batch}-${i}` }; }
    // Rarely: an argument over the 16 MB limit.
    if (fz.bigOnes < 2 && rnd() < 0.001) { fz.bigOnes += 1; arg = { type: 'BASIC', message: 'z'.repeat(17 * 1024 * 1024) }; }

    let label;
    try { label = typeof name === 'string' ? name : `<${typeof name}>`; } catch { label = '<?>'; }
    const rec = { label, count: 0, threw: null, cbKind: 'fn' };
    const cbRoll = rnd();
    let cb;
    if (cbRoll < 0.06) { rec.cbKind = 'none'; cb = pick([undefined, null, 5, 'cb', {}, Symbol('cb')]); }
    else if (cbRoll < 0.12) { cb = () => { rec.count += 1; throw new Error('callback throws on purpose'); }; }
    else if (cbRoll < 0.16) {
      cb = () => {
        rec.count += 1;
        const nested = { label: 'nested show', count: 0, threw: null, cbKind: 'fn' };
        fz.nestedCalls.push(nested);
        window.liveChat('show', null, () => { nested.count += 1; });
      };
    } else { cb = () => { rec.count += 1; }; }
    fz.calls.push(rec);
    try { window.liveChat(name, arg, cb); } catch (e) { rec.threw = String(e && e.message || e); }
  }
  return fz.calls.length;
}

function summary() {
  const fz = window.__fz;
  const all = [...fz.calls, ...fz.nestedCalls];
  const withCb = all.filter((c) => c.cbKind === 'fn');
  const by = (pred) => withCb.filter(pred).map((c) => c.label);
  return {
    total: all.length,
    withCallback: withCb.length,
    answeredOnce: withCb.filter((c) => c.count === 1).length,
    pending: by((c) => c.count === 0),
    twice: by((c) => c.count > 1),
    threw: all.filter((c) => c.threw).map((c) => `${c.label}: ${c.threw}`),
    noCallbackAnswered: all.filter((c) => c.cbKind === 'none' && c.count > 0).length,
  };
}

test(`${BATCHES * PER_BATCH} random liveChat calls: no throw, no page error, every callback exactly once, still chats`, { timeout: 150_000 }, async () => {
  const page = await env.open('/e2e/auto.html');
  await ok(page, 'init', WIDGET_ID);
  const started = Date.now();
  for (let b = 0; b < BATCHES; b++) {
    await page.evaluate(`(${fuzzBatch.toString()})(${JSON.stringify([SEED, PER_BATCH, b, UNDEFINED_JSON])})`);
    const s = await page.evaluate(`(${summary.toString()})()`);
    assert.deepEqual(s.twice, [], `batch ${b}: callbacks fired twice`);
    assert.deepEqual(s.threw, [], `batch ${b}: liveChat threw`);
    assertNoPageErrors(page);
  }
  // Pending ones are sends / contextual data / auth waiting for the server (rate limited
  // floods resend after retry_after_ms), and calls queued while a re-init loads.
  let s;
  try {
    s = await waitFor(async () => {
      const x = await page.evaluate(`(${summary.toString()})()`);
      return x.pending.length === 0 ? x : null;
    }, { timeout: 60_000, interval: 250, message: 'every callback answered' });
  } catch (e) {
    s = await page.evaluate(`(${summary.toString()})()`);
    assert.fail(`callbacks never answered after 60 s: ${s.pending.length} (${JSON.stringify(s.pending.slice(0, 20))})`);
  }
  await new Promise((r) => setTimeout(r, 500));
  s = await page.evaluate(`(${summary.toString()})()`);
  assert.deepEqual(s.twice, [], 'no callback fired twice');
  assert.deepEqual(s.threw, [], 'liveChat never threw');
  assert.equal(s.noCallbackAnswered, 0);
  assert.equal(s.answeredOnce, s.withCallback, 'every callback exactly once');
  assertNoPageErrors(page);
  console.log(`[fuzz] seed ${SEED}: ${s.total} calls (${s.withCallback} with a callback) in ${Date.now() - started} ms, all answered exactly once`);

  // Still works: back to the known widget, chat, and the message is shown once.
  // `clear` answers not_initialized when the fuzzing left no widget active (a failed init).
  const cleared = await call(page, 'clear', null);
  assert.ok(!cleared.error || cleared.error.code === 'not_initialized', JSON.stringify(cleared.error));
  await ok(page, 'init', WIDGET_ID);
  await ok(page, 'show', null);
  const text = `after fuzzing ${SEED}`;
  const sent = await ok(page, 'send', { type: 'BASIC', message: text });
  assert.ok(sent.messageId);
  await waitForWidget(page, (w) => w.open && w.messages.filter((m) => m.text === text && !m.cls.includes('pending')).length === 1, 'message shown once');
  const stored = await env.agent.messages(sent.threadId);
  assert.equal(stored.filter((m) => m.text === text).length, 1, 'stored once');
  assertNoPageErrors(page);
});

// Regression: JSON.stringify(arg) === undefined made liveChat throw a TypeError and left the
// dispatcher busy forever (every later call dropped).
test('an argument whose JSON.stringify is undefined (toJSON returning undefined) is answered, not thrown', async () => {
  const page = await env.open('/e2e/auto.html');
  await ok(page, 'init', WIDGET_ID);
  for (const argJs of ['({ toJSON() { return undefined; } })', '({ toJSON: () => () => 1 })']) {
    const out = await call(page, 'set_language', undefined, { argJs, check: false, timeout: 2000 });
    assert.ok(!out.threw, `liveChat threw for ${argJs}: ${out.threw}`);
    assert.equal(out.count, 1, `answered once for ${argJs}`);
    // The widget must still answer afterwards.
    await ok(page, 'show', null, { timeout: 2000 });
  }
  assertNoPageErrors(page);
});

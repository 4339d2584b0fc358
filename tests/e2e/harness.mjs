// Shared harness of the end-to-end suite: the real server binary with a fresh SQLite data
// dir, one Chromium per test file, test pages, a `call` helper that checks the callback
// contract, agent API helpers and JWT signing. Everything started here is stopped in
// `after` (and, as a last resort, when the node process exits).
import { spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(here, '..', '..');

/** The spec 001 example widget id (single thread). */
export const WIDGET_ID = '85ea1938-f457-496d-8532-8fa489beea63';
/** A second widget, for `init` with another id. */
export const OTHER_WIDGET_ID = 'e2e-second';
export const AGENT_TOKEN = 'e2e-agent-token-0123456789';
export const AGENT_NAME = 'E2E Agent';
export const SKI = 'e2e-key-1';
/** Raw HS256 key bytes; the config holds their base64. */
export const SECRET = Buffer.from('e2e-test-secret-key-0123456789-abcdefghijklmnop');
export const WRONG_SECRET = Buffer.from('not-the-right-key-0123456789-abcdefghijklmnop');
export const TITLE = 'E2E Shop support';

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export function configToml() {
  const theme = (primary, bg, text, pos) => `primary = "${primary}"
on_primary = "#ffffff"
background = "${bg}"
text = "${text}"
launcher_position = "${pos}"`;
  return `demo_jwt_mint = false

[limits]
sweep_interval_ms = 5000

[[agents]]
name = "${AGENT_NAME}"
token = "${AGENT_TOKEN}"

[[widgets]]
id = "${WIDGET_ID}"
title = "${TITLE}"
color = "#0b57d0"
allowed_origins = ["http://127.0.0.1:*"]
default_language = "en-US"
multi_thread = false
offline_message = "Our agents are offline."
secret_keys = [ { ski = "${SKI}", secret = "${SECRET.toString('base64')}" } ]

[widgets.themes.light]
${theme('#0b57d0', '#ffffff', '#1f1f1f', 'right')}

[widgets.themes.dark]
${theme('#0b57d0', '#1e1f22', '#e8eaed', 'left')}

[[widgets]]
id = "${OTHER_WIDGET_ID}"
title = "Second widget"
allowed_origins = ["http://127.0.0.1:*"]
secret_keys = [ { ski = "${SKI}", secret = "${SECRET.toString('base64')}" } ]
`;
}

// ----- processes ----------------------------------------------------------------------

const children = new Set();
process.on('exit', () => {
  for (const child of children) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

/**
 * Starts the server on 127.0.0.1:0 with a fresh data dir and a static dir holding a copy of
 * dist/ plus tests/e2e/pages/ under /e2e/. Resolves once it printed its address.
 */
export async function startServer() {
  const bin = process.env.LIVECHAT_SERVER_BIN || join(REPO, 'target', 'release', 'livechat-server');
  assert.ok(existsSync(bin), `server binary not found at ${bin}: run cargo build --release -p livechat-server`);
  const dist = join(REPO, 'dist');
  assert.ok(existsSync(join(dist, 'widget', 'livechat_widget_bg.wasm')), 'dist/ is not built: run bash scripts/build-widget.sh');

  const root = mkdtempSync(join(tmpdir(), 'livechat-e2e-'));
  const staticDir = join(root, 'static');
  const dataDir = join(root, 'data');
  // A snapshot of dist/: others may rebuild it while the suite runs.
  cpSync(dist, staticDir, { recursive: true });
  cpSync(join(here, 'pages'), join(staticDir, 'e2e'), { recursive: true });
  const configPath = join(root, 'config.toml');
  writeFileSync(configPath, configToml());

  const spawnServer = async (addr) => {
    const child = spawn(bin, ['--config', configPath, '--data-dir', dataDir, '--addr', addr, '--static-dir', staticDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; if (stderr.length > 20000) stderr = stderr.slice(-20000); });
    const url = await new Promise((resolvePromise, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`server did not start in 15 s; stderr:\n${stderr}`)), 15000);
      child.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
        if (m) { clearTimeout(timer); resolvePromise(m[1]); }
      });
      child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}) before listening; stderr:\n${stderr}`)); });
    });
    child.removeAllListeners('exit');
    return { child, url, stderr: () => stderr };
  };
  const kill = async (child) => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    children.delete(child);
  };

  let proc = await spawnServer('127.0.0.1:0');
  const url = proc.url;
  return {
    url,
    root,
    dataDir,
    get stderr() { return proc.stderr(); },
    /** Stops the server (SIGTERM), runs `whileDown`, starts it again on the same port and data dir. */
    async restart(whileDown = async () => {}) {
      await kill(proc.child);
      await whileDown();
      const addr = url.replace('http://', '');
      for (let attempt = 0; ; attempt++) {
        try {
          proc = await spawnServer(addr);
          break;
        } catch (e) {
          if (attempt >= 20) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    async stop() {
      await kill(proc.child);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/**
 * Per-file setup: server + browser, torn down after the file's tests (even on failure).
 * Returns an object whose fields are filled in `before`.
 */
export function useEnv() {
  const env = { server: null, browser: null, contexts: [] };
  before(async () => {
    env.server = await startServer();
    env.browser = await launchBrowser();
  });
  after(async () => {
    for (const c of env.contexts) await c.close().catch(() => {});
    if (env.browser) await env.browser.close().catch(() => {});
    if (env.server) await env.server.stop();
  });
  env.url = (path) => env.server.url + path;
  env.agent = agentApi(() => env.server.url);
  /** A fresh context (fresh localStorage) with one page that records page errors and console. */
  env.open = async (path, { context, waitLoaded = true } = {}) => {
    let ctx = context;
    if (!ctx) {
      ctx = await env.browser.newContext();
      env.contexts.push(ctx);
    }
    const page = await ctx.newPage();
    const tracked = track(page);
    if (path) {
      await page.goto(env.url(path));
      if (waitLoaded) await waitLoadedFn(page);
    }
    return tracked;
  };
  return env;
}

/** Records `pageerror`s and console messages on the page object. */
export function track(page) {
  page.pageErrors = [];
  page.consoleMessages = [];
  page.on('pageerror', (e) => page.pageErrors.push(e));
  page.on('console', (m) => page.consoleMessages.push({ type: m.type(), text: m.text() }));
  return page;
}

async function waitLoadedFn(page) {
  await page.waitForFunction(() => window.liveChat && window.liveChat.loaded === true, null, { timeout: 15000 });
}
export { waitLoadedFn as waitLoaded };

export function assertNoPageErrors(page) {
  assert.deepEqual(page.pageErrors.map((e) => String(e && e.message || e)), [], 'no error thrown into the page');
}

// ----- liveChat calls -----------------------------------------------------------------

function pageCall(params, arg) {
  return new Promise((resolveCall) => {
    let count = 0;
    let first = null;
    const clone = (v) => {
      if (v === undefined) return undefined;
      try { return JSON.parse(JSON.stringify(v)); } catch { return String(v); }
    };
    const timer = setTimeout(() => resolveCall({ timedOut: true, count }), params.timeout);
    try {
      window.liveChat(params.command, arg, function (error, result) {
        count += 1;
        if (count === 1) {
          first = {
            error: clone(error),
            result: clone(result),
            argCount: arguments.length,
            errorIsNullish: error === null || error === undefined,
            resultIsUndefined: result === undefined,
          };
          setTimeout(() => { clearTimeout(timer); resolveCall({ ...first, count }); }, params.settle);
        }
        if (params.throwInCallback) throw new Error('callback throws on purpose');
      });
    } catch (e) {
      clearTimeout(timer);
      resolveCall({ threw: String(e && e.message || e), count });
    }
  });
}

/**
 * Calls the page's real `liveChat(command, arg, cb)`. Resolves with
 * {error, result, count, ...}; asserts the callback fired exactly once (it waits `settle`
 * ms after the first call to catch a second) and that exactly one of error/result is set.
 * `argJs`: a JS expression evaluated in the page to build an argument that cannot be
 * serialized from node (functions, cycles, BigInt…); it never uses eval (works under CSP).
 */
export async function call(page, command, arg, { argJs, settle = 150, timeout = 10000, throwInCallback = false, check = true } = {}) {
  const params = { command, settle, timeout, throwInCallback };
  const argSource = argJs !== undefined ? `(${argJs})` : (arg === undefined ? 'undefined' : JSON.stringify(arg));
  const out = await page.evaluate(`(${pageCall.toString()})(${JSON.stringify(params)}, ${argSource})`);
  if (check) {
    assert.ok(!out.threw, `liveChat('${command}') threw synchronously: ${out.threw}`);
    assert.ok(!out.timedOut, `liveChat('${command}') never called back within ${timeout} ms`);
    assert.equal(out.count, 1, `liveChat('${command}') callback must fire exactly once, fired ${out.count} times`);
    if (out.error !== null && out.error !== undefined) {
      assert.ok(out.resultIsUndefined, `liveChat('${command}') error and result both defined`);
    } else {
      assert.ok(out.errorIsNullish);
      assert.ok(!out.resultIsUndefined, `liveChat('${command}') neither error nor result defined`);
    }
  }
  return out;
}

/** Asserts a successful call and returns its result. */
export async function ok(page, command, arg, opts) {
  const out = await call(page, command, arg, opts);
  assert.ok(out.error === null || out.error === undefined, `liveChat('${command}', ${JSON.stringify(arg)}) failed: ${JSON.stringify(out.error)}`);
  return out.result;
}

/** Asserts a failed call with the documented error shape and returns the error. */
export async function fails(page, command, arg, code, opts) {
  const out = await call(page, command, arg, opts);
  assert.ok(out.error, `liveChat('${command}') should fail with ${code}, got result ${JSON.stringify(out.result)}`);
  assertErrorShape(out.error);
  if (code) assert.equal(out.error.code, code, `liveChat('${command}') error: ${JSON.stringify(out.error)}`);
  return out.error;
}

export const ERROR_CODES = [
  'unknown_command', 'invalid_argument', 'not_initialized', 'already_initialized', 'not_authenticated',
  'unknown_theme', 'unknown_widget', 'config_unavailable', 'cancelled', 'rejected', 'reauth_required', 'load_failed',
];

export function assertErrorShape(error) {
  assert.equal(typeof error, 'object');
  assert.ok(ERROR_CODES.includes(error.code), `error code ${error.code} is one of livechat.d.ts's codes`);
  assert.equal(typeof error.message, 'string');
  assert.ok(error.message.length > 0, 'error message is not empty');
}

// ----- widget DOM -----------------------------------------------------------------------

/** Evaluates `fn(shadowRoot, arg)` in the page; null shadow root when the widget is absent. */
export function inShadow(page, fn, arg) {
  return page.evaluate(`(() => { const host = document.querySelector('#livechat-widget'); const root = host && host.shadowRoot; return (${fn.toString()})(root, ${JSON.stringify(arg)}); })()`);
}

export async function widgetState(page) {
  return inShadow(page, (root) => {
    if (!root) return null;
    const q = (s) => root.querySelector(s);
    const lc = q('.lc');
    return {
      hosts: document.querySelectorAll('#livechat-widget').length,
      lang: lc && lc.getAttribute('lang'),
      dir: lc && lc.getAttribute('dir'),
      theme: lc && lc.getAttribute('data-theme'),
      left: lc ? lc.classList.contains('left') : null,
      open: q('.window') ? !q('.window').hasAttribute('hidden') : null,
      launcher: q('.launcher') ? !q('.launcher').hasAttribute('hidden') : null,
      draft: q('textarea') ? q('textarea').value : null,
      messages: [...root.querySelectorAll('.log li')].map((li) => ({
        cls: li.className,
        text: (li.querySelector('.bubble') || li).textContent,
      })),
    };
  });
}

/** Polls `fn` (async allowed) until it returns a truthy value; returns it. */
export async function waitFor(fn, { timeout = 10000, interval = 50, message = 'condition' } = {}) {
  const start = Date.now();
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() - start > timeout) {
      throw new Error(`timed out after ${timeout} ms waiting for ${message}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

export async function waitForWidget(page, pred, message) {
  return waitFor(async () => {
    const s = await widgetState(page);
    return s && pred(s) ? s : false;
  }, { message: message || 'widget state' });
}

export async function storedEntry(page, widgetId = WIDGET_ID) {
  return page.evaluate((id) => {
    const raw = window.localStorage.getItem('livechat:' + id);
    if (raw === null) return null;
    try { return JSON.parse(raw); } catch { return { unparsable: raw }; }
  }, widgetId);
}

// ----- agent API ------------------------------------------------------------------------

export function agentApi(base) {
  const req = async (method, path, body, token = AGENT_TOKEN) => {
    const res = await fetch(base() + path, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, body: json, text };
  };
  return {
    get: (path, token) => req('GET', path, undefined, token),
    post: (path, body, token) => req('POST', path, body, token),
    messages: async (threadId) => {
      const r = await req('GET', `/v1/conversations/${encodeURIComponent(threadId)}/messages`);
      assert.equal(r.status, 200, r.text);
      return r.body.messages;
    },
    metadata: async (threadId) => {
      const r = await req('GET', `/v1/conversations/${encodeURIComponent(threadId)}/metadata`);
      assert.equal(r.status, 200, r.text);
      return r.body.metadata;
    },
    reply: async (threadId, text) => {
      const r = await req('POST', `/v1/conversations/${encodeURIComponent(threadId)}/messages`, { text });
      assert.equal(r.status, 201, r.text);
      return r.body.message;
    },
  };
}

// ----- JWT --------------------------------------------------------------------------------

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** Signs an HS256 personalization JWT (spec README claims). */
export function signJwt({ sub, stp = 'email', iss = WIDGET_ID, key = SECRET, ski = SKI, lifetime = 300, extra = {} } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'HS256', typ: 'JWT' };
  const claims = { jti: randomUUID(), sub, stp, iss, iat: now, exp: now + lifetime, ski, ...extra };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = createHmac('sha256', key).update(input).digest();
  return `${input}.${b64url(sig)}`;
}

export function uniqueEmail(tag = 'user') {
  return `${tag}-${randomUUID().slice(0, 8)}@example.com`;
}

export { assert };
export const listPages = () => readdirSync(join(here, 'pages'));

// Fault injection for the reliability suite: a TCP proxy (node `net`) between Chromium and
// the real server, and a server process that can be SIGKILLed and restarted on the same
// data dir and port.
//
// The page is served *through* the proxy (it forwards plain HTTP too), so the widget's base
// URL — the origin its script came from — is the proxy's origin and every websocket the
// widget opens crosses the proxy. Tests switch the proxy between:
//
//   pass()                      forward everything (optionally with delay(ms) per chunk)
//   dropAll()                   reset (RST) every open connection now
//   stall({direction})          stop forwarding on the open connections without closing them
//                               (a half-open socket: no FIN, no RST); 'both' | 'down' | 'up'.
//                               Bytes that arrive meanwhile are discarded, as a dead NAT would.
//                               New connections are not affected.
//   refuse({only})              reset every new connection at once; only: 'ws' refuses just
//                               websocket upgrades (so the page itself can still load), 'all'
//                               refuses everything.
//
// It records every connection (time, kind: 'ws' | 'http' | '?', refused or not) and decodes
// the websocket frames in both directions (text frames only; the server negotiates no
// compression), so tests can see which `send` went out on which socket and what came back.
// Everything listens on 127.0.0.1 only.
import net from 'node:net';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, configToml } from './harness.mjs';

const HEAD_END = Buffer.from('\r\n\r\n');

/** Incremental decoder of websocket frames (RFC 6455) for one direction of a connection. */
class FrameReader {
  constructor(onText) {
    this.buf = Buffer.alloc(0);
    this.onText = onText;
    this.fragments = null;
  }

  push(chunk) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      const fin = (b[0] & 0x80) !== 0;
      const opcode = b[0] & 0x0f;
      const masked = (b[1] & 0x80) !== 0;
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      const maskOff = off;
      if (masked) off += 4;
      if (b.length < off + len) return;
      let payload = Buffer.from(b.subarray(off, off + len));
      if (masked) {
        for (let i = 0; i < payload.length; i++) payload[i] ^= b[maskOff + (i & 3)];
      }
      this.buf = b.subarray(off + len);
      if (opcode === 0x1 || (opcode === 0x0 && this.fragments)) {
        this.fragments = this.fragments ? [...this.fragments, payload] : [payload];
        if (fin) {
          const text = Buffer.concat(this.fragments).toString('utf8');
          this.fragments = null;
          this.onText(text);
        }
      }
    }
  }
}

/**
 * Starts a proxy on 127.0.0.1:0 forwarding to 127.0.0.1:`targetPort` (changeable with
 * `setTarget`). Returns the control object described at the top of this file.
 */
export async function startProxy(targetPort) {
  let target = targetPort;
  let mode = { refuse: null, delayMs: 0 };
  const open = new Set();
  const connections = []; // every accepted connection, in order
  const frames = []; // decoded websocket text frames: {conn, dir: 'up'|'down', at, text, json}
  let nextId = 1;

  const server = net.createServer({ noDelay: true }, (client) => {
    const conn = {
      id: nextId++,
      at: Date.now(),
      kind: '?',
      refused: false,
      closedAt: null,
      stalledUp: false,
      stalledDown: false,
      client,
      upstream: null,
    };
    connections.push(conn);
    client.setNoDelay(true);
    client.on('error', () => {});

    const refuseNow = () => {
      conn.refused = true;
      conn.closedAt = Date.now();
      client.resetAndDestroy();
    };
    if (mode.refuse === 'all') {
      refuseNow();
      return;
    }
    open.add(conn);
    client.on('close', () => {
      open.delete(conn);
      conn.closedAt = conn.closedAt || Date.now();
      if (conn.upstream) conn.upstream.destroy();
    });

    // Read the request head first to classify the connection (websocket upgrade or not).
    let head = Buffer.alloc(0);
    const onFirst = (chunk) => {
      head = Buffer.concat([head, chunk]);
      if (head.indexOf(HEAD_END) < 0 && head.length < 64 * 1024) return;
      client.off('data', onFirst);
      const text = head.subarray(0, Math.max(0, head.indexOf(HEAD_END))).toString('latin1');
      conn.kind = /^upgrade:\s*websocket/im.test(text) ? 'ws' : 'http';
      conn.path = (text.match(/^[A-Z]+ (\S+)/) || [])[1];
      if (mode.refuse === 'ws' && conn.kind === 'ws') {
        open.delete(conn);
        refuseNow();
        return;
      }
      connectUpstream(conn, head);
    };
    client.on('data', onFirst);
  });

  function connectUpstream(conn, head) {
    const { client } = conn;
    const upstream = net.connect({ host: '127.0.0.1', port: target });
    conn.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on('error', () => client.resetAndDestroy());
    upstream.on('close', () => { if (!client.destroyed) client.destroy(); });

    const upReader = conn.kind === 'ws' ? new FrameReader((t) => record(conn, 'up', t)) : null;
    let downReader = null;
    let downHead = conn.kind === 'ws' ? Buffer.alloc(0) : null;
    const observeUp = (chunk, isHead) => {
      if (!upReader) return;
      if (isHead) {
        const end = chunk.indexOf(HEAD_END);
        if (end >= 0 && chunk.length > end + 4) upReader.push(chunk.subarray(end + 4));
      } else {
        upReader.push(chunk);
      }
    };
    const observeDown = (chunk) => {
      if (downHead === null) return;
      if (downReader) return downReader.push(chunk);
      downHead = Buffer.concat([downHead, chunk]);
      const end = downHead.indexOf(HEAD_END);
      if (end >= 0) {
        downReader = new FrameReader((t) => record(conn, 'down', t));
        const rest = downHead.subarray(end + 4);
        downHead = Buffer.alloc(0);
        if (rest.length) downReader.push(rest);
      }
    };

    // Per-direction ordered forwarding with an optional delay.
    // Frames are decoded as they arrive at the proxy (also those a stall then swallows:
    // their record says `lost: true`), so the decoders never lose sync.
    const pipe = (dir, dest, observe) => {
      let lastAt = 0;
      return (chunk, isHead = false) => {
        const stalled = () => (dir === 'up' ? conn.stalledUp : conn.stalledDown);
        conn.losing = stalled();
        observe(chunk, isHead);
        if (stalled()) return; // a dead link: the bytes vanish
        const send = () => {
          if (stalled() || dest.destroyed) return;
          dest.write(chunk);
        };
        if (mode.delayMs > 0) {
          const at = Math.max(Date.now() + mode.delayMs, lastAt);
          lastAt = at;
          setTimeout(send, at - Date.now());
        } else {
          send();
        }
      };
    };
    const toServer = pipe('up', upstream, observeUp);
    const toClient = pipe('down', client, observeDown);
    toServer(head, true);
    client.on('data', (c) => toServer(c));
    upstream.on('data', (c) => toClient(c));
  }

  function record(conn, dir, text) {
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    frames.push({ conn: conn.id, dir, at: Date.now(), text, json, lost: !!conn.losing });
  }

  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;

  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    connections,
    frames,
    /** Websocket connections (accepted or refused) in order. */
    wsConnections: () => connections.filter((c) => c.kind === 'ws'),
    /** Open websocket connections that are not stalled. */
    liveWs: () => [...open].filter((c) => c.kind === 'ws' && !c.stalledUp && !c.stalledDown),
    /** Decoded frames, optionally filtered by direction and frame type. */
    framesOf: (dir, type) => frames.filter((f) => f.dir === dir && (!type || (f.json && f.json.type === type))),
    setTarget(p) { target = p; },
    pass() { mode = { refuse: null, delayMs: 0 }; for (const c of open) { c.stalledUp = false; c.stalledDown = false; } },
    delay(ms) { mode.delayMs = ms; },
    refuse({ only = 'ws' } = {}) { mode.refuse = only; },
    stall({ direction = 'both' } = {}) {
      for (const c of open) {
        if (c.kind !== 'ws') continue;
        if (direction !== 'down') c.stalledUp = true;
        if (direction !== 'up') c.stalledDown = true;
      }
    },
    /** Resets every open connection (RST both ways); returns how many were dropped. */
    dropAll({ kind = 'ws' } = {}) {
      let n = 0;
      for (const c of [...open]) {
        if (kind !== 'all' && c.kind !== kind) continue;
        n += 1;
        open.delete(c);
        c.closedAt = Date.now();
        c.client.resetAndDestroy();
        if (c.upstream) c.upstream.resetAndDestroy();
      }
      return n;
    },
    async close() {
      for (const c of open) { c.client.destroy(); if (c.upstream) c.upstream.destroy(); }
      await new Promise((r) => server.close(r));
    },
  };
}

// ----- a server that can be killed and restarted -------------------------------------------

const children = new Set();
process.on('exit', () => {
  for (const child of children) {
    try { child.kill('SIGKILL'); } catch { /* gone */ }
  }
});

/**
 * The real server binary with its own data dir and static dir (dist/ + tests/e2e/pages under
 * /e2e/, same layout as harness.mjs), on `127.0.0.1:0` at first and then always on the same
 * port: `kill()` sends SIGKILL, `start()` starts it again on the same data dir and port.
 */
export async function restartableServer() {
  const bin = process.env.LIVECHAT_SERVER_BIN || join(REPO, 'target', 'release', 'livechat-server');
  if (!existsSync(bin)) throw new Error(`server binary not found at ${bin}: cargo build --release -p livechat-server`);
  const root = mkdtempSync(join(tmpdir(), 'livechat-rel-'));
  const staticDir = join(root, 'static');
  const dataDir = join(root, 'data');
  cpSync(join(REPO, 'dist'), staticDir, { recursive: true });
  cpSync(join(REPO, 'tests', 'e2e', 'pages'), join(staticDir, 'e2e'), { recursive: true });
  const configPath = join(root, 'config.toml');
  writeFileSync(configPath, configToml());

  let child = null;
  let port = 0;
  let stderr = '';
  const srv = {
    root,
    dataDir,
    starts: 0,
    get port() { return port; },
    get url() { return `http://127.0.0.1:${port}`; },
    get stderr() { return stderr; },
    get running() { return !!child && child.exitCode === null && child.signalCode === null; },
    async start() {
      const addr = `127.0.0.1:${port}`;
      // Right after a SIGKILL the port may linger for a moment: retry the bind briefly.
      for (let attempt = 0; ; attempt++) {
        try {
          await launch(addr);
          break;
        } catch (e) {
          if (attempt >= 20) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      srv.starts += 1;
    },
    /** SIGKILL: no graceful shutdown, no close frames. */
    async kill() {
      if (!srv.running) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      children.delete(child);
      child = null;
    },
    async stop() {
      if (srv.running) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child && child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      if (child) children.delete(child);
      child = null;
      rmSync(root, { recursive: true, force: true });
    },
  };

  async function launch(addr) {
    const c = spawn(bin, ['--config', configPath, '--data-dir', dataDir, '--addr', addr, '--static-dir', staticDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(c);
    c.stderr.on('data', (d) => { stderr += d; if (stderr.length > 20000) stderr = stderr.slice(-20000); });
    const url = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => { c.kill('SIGKILL'); reject(new Error(`server did not start in 15 s; stderr:\n${stderr}`)); }, 15000);
      c.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/listening on (http:\/\/127\.0\.0\.1:(\d+))/);
        if (m) { clearTimeout(timer); resolve(m); }
      });
      c.once('exit', (code) => { clearTimeout(timer); children.delete(c); reject(new Error(`server exited (${code}) before listening; stderr:\n${stderr}`)); });
    });
    c.removeAllListeners('exit');
    port = Number(url[2]);
    child = c;
  }

  await srv.start();
  return srv;
}

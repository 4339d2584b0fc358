// Harness of the cluster end-to-end tests: a throwaway PostgreSQL cluster (initdb in a temp
// dir, run as the `postgres` user when we are root, on a free loopback port), N server nodes
// (`LIVECHAT_SERVER_BIN`) sharing it, and nginx in the foreground with a config of its own
// rendered from deploy/nginx-cluster.conf.in (websocket upgrade, no sticky sessions). Every
// process started here is stopped in `stop()` and, as a last resort, when node exits.
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { REPO, configToml } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ----- last-resort cleanup ------------------------------------------------------------------

const children = new Set();
const pgDirs = new Set();
process.on('exit', () => {
  for (const child of children) {
    try { child.kill('SIGKILL'); } catch { /* gone */ }
  }
  for (const pg of pgDirs) {
    try { pg.stopSync(); } catch { /* gone */ }
  }
});

/** A loopback port that was free a moment ago. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolvePort(port));
    });
  });
}

// ----- PostgreSQL ---------------------------------------------------------------------------

/** The bin dir of the newest PostgreSQL installed from Debian's packages (or `PG_BIN`). */
export function pgBinDir() {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))
    : [];
  assert.ok(versions.length > 0, `no PostgreSQL under ${base}: run bash scripts/setup.sh`);
  return join(base, versions[0], 'bin');
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function pgUser() {
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

/** Runs a PostgreSQL binary, as `postgres` when we are root (initdb refuses root). */
function pgRun(bin, args, opts = {}) {
  const exe = join(pgBinDir(), bin);
  const [cmd, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', exe, ...args]] : [exe, args];
  return execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000, ...opts }).toString();
}

/**
 * Starts a fresh PostgreSQL cluster on 127.0.0.1 and a free port. Returns
 * `{ url, port, dir, stop(), restart(), kill(), start(), psql(sql) }`.
 */
export async function startPostgres() {
  const dir = mkdtempSync(join(tmpdir(), 'livechat-pg-'));
  const data = join(dir, 'data');
  if (isRoot) {
    const { uid, gid } = pgUser();
    chownSync(dir, uid, gid);
  }
  pgRun('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-instructions']);
  const port = await freePort();
  const log = join(dir, 'postgres.log');
  let running = false;
  const pg = {
    port,
    dir,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    /** Starts (or starts again) on the same port and data dir. */
    async start() {
      for (let attempt = 0; ; attempt++) {
        try {
          pgRun('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60',
            '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`, 'start']);
          running = true;
          return;
        } catch (e) {
          if (attempt >= 5) throw new Error(`pg_ctl start failed: ${e.stderr || e}\n${pg.log()}`);
          await sleep(300);
        }
      }
    },
    /** Clean shutdown (`-m fast`: sessions are disconnected, everything committed is kept). */
    async stop(mode = 'fast') {
      if (!running) return;
      pgRun('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
      running = false;
    },
    /** Crash-like stop: `-m immediate` (recovery replays the WAL on the next start). */
    async kill() { await pg.stop('immediate'); },
    async restart(whileDown = async () => {}, mode = 'fast') {
      await pg.stop(mode);
      await whileDown();
      await pg.start();
    },
    stopSync() {
      if (running) {
        try { pgRun('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']); } catch { /* gone */ }
        running = false;
      }
    },
    /** Runs SQL through psql; returns its unaligned, tuples-only output. */
    psql(sql) {
      return execFileSync(join(pgBinDir(), 'psql'), ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
        '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-c', sql],
      { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30000 }).toString().trim();
    },
    log() {
      try { return readFileSync(log, 'utf8').slice(-4000); } catch { return ''; }
    },
    async destroy() {
      pg.stopSync();
      pgDirs.delete(pg);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  pgDirs.add(pg);
  await pg.start();
  return pg;
}

// ----- nginx ----------------------------------------------------------------------------------

/** The nginx binary (`NGINX_BIN`, else Debian's). */
export function nginxBin() {
  const bin = process.env.NGINX_BIN || '/usr/sbin/nginx';
  assert.ok(existsSync(bin), `nginx not found at ${bin}: run bash scripts/setup.sh`);
  return bin;
}

/** Renders deploy/nginx-cluster.conf.in. */
export function renderNginxConf({ prefix, listen, upstreams }) {
  const tpl = readFileSync(join(REPO, 'deploy', 'nginx-cluster.conf.in'), 'utf8');
  const lines = upstreams.map((u) => `        server ${u} max_fails=1 fail_timeout=2s;`).join('\n');
  return tpl.replaceAll('@PREFIX@', prefix).replaceAll('@LISTEN@', listen).replaceAll('@UPSTREAMS@', lines);
}

/** Starts nginx in the foreground on 127.0.0.1:`port` (free one by default) in front of `upstreams`. */
export async function startNginx(upstreams, { port } = {}) {
  const prefix = mkdtempSync(join(tmpdir(), 'livechat-nginx-'));
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(prefix, 'tmp', d), { recursive: true });
  const listenPort = port || await freePort();
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, renderNginxConf({ prefix, listen: `127.0.0.1:${listenPort}`, upstreams }));
  const child = spawn(nginxBin(), ['-p', prefix, '-c', conf, '-e', join(prefix, 'error.log'), '-g', 'daemon off;'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const url = `http://127.0.0.1:${listenPort}`;
  // Up when it answers (any status: the nodes may still be starting).
  const start = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}): ${stderr}\n${errorLog(prefix)}`);
    try {
      await fetch(url + '/healthz');
      break;
    } catch {
      if (Date.now() - start > 15000) throw new Error(`nginx did not answer in 15 s: ${stderr}\n${errorLog(prefix)}`);
      await sleep(50);
    }
  }
  return {
    url,
    port: listenPort,
    prefix,
    errorLog: () => errorLog(prefix),
    async stop() {
      await stopChild(child, 'SIGQUIT');
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}

function errorLog(prefix) {
  try { return readFileSync(join(prefix, 'error.log'), 'utf8').slice(-4000); } catch { return ''; }
}

async function stopChild(child, signal = 'SIGTERM') {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
  children.delete(child);
}

// ----- server nodes ---------------------------------------------------------------------------

/**
 * Starts one server node on 127.0.0.1:`port` (0 = free). `storeArgs` are the storage flags
 * (`['--store', url]`). Resolves with `{ child, url, port, stderr() }` once it printed its address.
 */
export async function spawnNode({ bin, configPath, staticDir, storeArgs, port = 0, name = 'node', env = {} }) {
  const child = spawn(bin, ['--config', configPath, ...storeArgs, '--addr', `127.0.0.1:${port}`, '--static-dir', staticDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; if (stderr.length > 20000) stderr = stderr.slice(-20000); });
  const url = await new Promise((resolveUrl, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 20 s; stderr:\n${stderr}`)), 20000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolveUrl(m[1]); }
    });
    child.on('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`${name} exited (${code ?? sig}) before listening; stderr:\n${stderr}`)); });
  });
  child.removeAllListeners('exit');
  return { child, url, port: Number(new URL(url).port), stderr: () => stderr };
}

/**
 * A whole cluster: PostgreSQL, `nodes` server nodes on it, nginx in front.
 * `storeArgs(pg, i, root)` builds each node's storage and cluster flags.
 * Returns `{ url, pg, lb, nodes: [{ name, url, port, alive, kill(), stop(), start(), health() }], stop() }`.
 */
export async function startCluster({ nodes: count = 3, storeArgs, config = configToml() } = {}) {
  const bin = process.env.LIVECHAT_SERVER_BIN || join(REPO, 'target', 'release', 'livechat-server');
  assert.ok(existsSync(bin), `server binary not found at ${bin}: run cargo build --release -p livechat-server`);
  const dist = join(REPO, 'dist');
  assert.ok(existsSync(join(dist, 'widget', 'livechat_widget_bg.wasm')), 'dist/ is not built: run bash scripts/build-widget.sh');
  const root = mkdtempSync(join(tmpdir(), 'livechat-cluster-'));
  const staticDir = join(root, 'static');
  cpSync(dist, staticDir, { recursive: true });
  cpSync(join(here, 'pages'), join(staticDir, 'e2e'), { recursive: true });
  const configPath = join(root, 'config.toml');
  writeFileSync(configPath, config);
  const pg = await startPostgres();
  // Every node stores in the shared PostgreSQL (which also carries events across nodes) and
  // keeps attachments in one shared data dir.
  const argsFor = storeArgs || ((p, _i, dir) => ['--store', p.url, '--data-dir', join(dir, 'data')]);

  const nodes = [];
  for (let i = 0; i < count; i++) {
    const name = String.fromCharCode(65 + i); // A, B, C
    let proc = null;
    const node = {
      name,
      port: 0,
      get url() { return `http://127.0.0.1:${node.port}`; },
      get alive() { return !!proc && proc.child.exitCode === null && proc.child.signalCode === null; },
      get pid() { return proc && proc.child.pid; },
      stderr: () => (proc ? proc.stderr() : ''),
      /** Starts the node (again: same port). */
      async start() {
        for (let attempt = 0; ; attempt++) {
          try {
            proc = await spawnNode({ bin, configPath, staticDir, storeArgs: argsFor(pg, i, root), port: node.port, name: `node ${name}` });
            node.port = proc.port;
            return;
          } catch (e) {
            if (attempt >= 20 || node.port === 0) throw e;
            await sleep(150); // the port is still in TIME_WAIT or held by the dying process
          }
        }
      },
      /** SIGKILL: no close frames, nothing flushed. */
      async kill() { if (proc) await stopChild(proc.child, 'SIGKILL'); },
      /** SIGTERM: graceful shutdown. */
      async stop() { if (proc) await stopChild(proc.child, 'SIGTERM'); },
      /** `GET /healthz` of this node directly: `{ status, body }` (status 0 when unreachable). */
      async health() {
        try {
          const r = await fetch(node.url + '/healthz');
          return { status: r.status, body: await r.json().catch(() => null) };
        } catch {
          return { status: 0, body: null };
        }
      },
    };
    await node.start();
    nodes.push(node);
  }
  const lb = await startNginx(nodes.map((n) => `127.0.0.1:${n.port}`));
  const lbHealth = () => fetch(lb.url + '/healthz').then((r) => r.status, () => 0);
  return {
    url: lb.url,
    root,
    pg,
    lb,
    nodes,
    staticDir,
    configPath,
    /** Waits until every live node reports healthy. */
    async waitHealthy(timeout = 30000) {
      const start = Date.now();
      for (;;) {
        const hs = await Promise.all(nodes.filter((n) => n.alive).map((n) => n.health()));
        // The nodes alone are not enough: nginx keeps a node it saw answer 503 (or refuse)
        // out of rotation for fail_timeout (2 s), and with every node out it answers 502.
        // Healthy means the balancer routes again.
        if (hs.every((h) => h.status === 200) && (await lbHealth()) === 200) return hs;
        if (Date.now() - start > timeout) throw new Error(`nodes not healthy: ${JSON.stringify(hs)}`);
        await sleep(100);
      }
    },
    async stop() {
      await lb.stop().catch(() => {});
      for (const n of nodes) await n.stop().catch(() => {});
      await pg.destroy().catch(() => {});
      rmSync(root, { recursive: true, force: true });
    },
  };
}

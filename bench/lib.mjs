// Shared helpers of the browser benchmarks: the real server binary on 127.0.0.1:0 with a
// fresh data dir and a bench config, headless Chromium with the toolchain's flags, bench
// pages, percentiles and a table printer. Not part of scripts/test.sh.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execSync } from 'node:child_process';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(here, '..');

/** The demo widget id (server/demo.toml, spec 001 example). */
export const WIDGET_ID = '85ea1938-f457-496d-8532-8fa489beea63';
export const AGENT_TOKEN = 'bench-agent-token-0123456789';

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** The demo widget (single thread), no auto-reply, rate limit out of the way. */
export function configToml({ syncMessages = 200 } = {}) {
  return `demo_jwt_mint = false

[limits]
sweep_interval_ms = 5000
sync_messages_per_thread = ${syncMessages}
# The default per-connection token bucket (20 frames/s, burst 40) would measure the rate
# limiter instead of the path: the benchmarks send back to back.
rate_limit_per_sec = 1000000.0
rate_limit_burst = 1000000.0
# Likewise the per-visitor write bucket (send, contextual_data; 20/s, burst 40 by default).
visitor_rate_limit_per_sec = 1000000.0
visitor_rate_limit_burst = 1000000.0

[[agents]]
name = "Bench agent"
token = "${AGENT_TOKEN}"

[[widgets]]
id = "${WIDGET_ID}"
title = "Demo Shop support"
color = "#0b57d0"
allowed_origins = ["http://127.0.0.1:*"]
default_language = "en-US"
multi_thread = false

[widgets.themes.light]
primary = "#0b57d0"
on_primary = "#ffffff"
background = "#ffffff"
text = "#1f1f1f"
launcher_position = "right"
`;
}

/** The snippet exactly as www/snippet.html, with a local script URL. */
export const SNIPPET = `(function(w,d,u){w.liveChat=w.liveChat||function(){(w.liveChat.q=w.liveChat.q||[]).push(arguments)};
var s=d.createElement('script');s.type='module';s.async=true;s.src=u;s.onerror=function(){if(w.liveChat.loaded)return;
var q=w.liveChat.q||[];w.liveChat=function(c,a,f){if(typeof f=='function')try{f({code:'load_failed',message:'the widget could not be loaded from '+u})}catch(e){console.error(e)}};
q.forEach(function(a){w.liveChat.apply(w,a)})};d.head.appendChild(s)})
(window,document,'/widget/livechat.js?id=${WIDGET_ID}');
liveChat('init','${WIDGET_ID}');`;

const children = new Set();
process.on('exit', () => {
  for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

/**
 * Starts the release server with `configToml(opts)` and a static dir holding dist/ plus
 * `pages` ({path: html}) under /bench/. Returns {url, pid, stop()}.
 */
export async function startServer({ pages = {}, dataRoot = process.env.BENCH_DATA_ROOT || tmpdir(), widget = true, ...opts } = {}) {
  const bin = process.env.LIVECHAT_SERVER_BIN || join(REPO, 'target', 'release', 'livechat-server');
  if (!existsSync(bin)) throw new Error(`no server at ${bin}: cargo build --release -p livechat-server`);
  const dist = join(REPO, 'dist');
  // `widget: false` (the load generator): no page is served, dist/ is not needed.
  if (widget && !existsSync(join(dist, 'widget', 'livechat_widget_bg.wasm'))) throw new Error('dist/ not built: bash scripts/build-widget.sh');
  // The data dir (SQLite, synchronous = FULL) lives here: /tmp is on disk on this machine;
  // BENCH_DATA_ROOT=/dev/shm takes the fsync cost out (for seeding or to isolate it).
  const root = mkdtempSync(join(dataRoot, 'livechat-bench-'));
  const staticDir = join(root, 'static');
  if (widget) cpSync(dist, staticDir, { recursive: true });
  mkdirSync(join(staticDir, 'bench'), { recursive: true });
  for (const [name, html] of Object.entries(pages)) writeFileSync(join(staticDir, 'bench', name), html);
  const configPath = join(root, 'config.toml');
  writeFileSync(configPath, configToml(opts));
  const child = spawn(bin, ['--config', configPath, '--data-dir', join(root, 'data'), '--addr', '127.0.0.1:0', '--static-dir', staticDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-20000); });
  const url = await new Promise((res, rej) => {
    let out = '';
    const t = setTimeout(() => rej(new Error(`server did not start; stderr:\n${stderr}`)), 15000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(t); res(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(t); rej(new Error(`server exited (${code}); stderr:\n${stderr}`)); });
  });
  child.removeAllListeners('exit');
  return {
    url,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      children.delete(child);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export function launchBrowser() {
  return chromium.launch({ executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/** `--name value` option as a number. */
export function numArg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}

/** Nearest-rank percentile of an array of numbers. */
export function pct(values, p) {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

export const fmt = (v, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '—');

export function printTable(header, rows) {
  const all = [header, ...rows].map((r) => r.map(String));
  const w = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  console.log(line(all[0]));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of all.slice(1)) console.log(line(r));
}

/** One line describing where and when the numbers were taken. */
export function machineNote() {
  let commit = '?';
  try { commit = execSync('git rev-parse --short HEAD', { cwd: REPO }).toString().trim(); } catch { /* no git */ }
  const la = loadavg().map((x) => x.toFixed(2)).join(' ');
  return `${new Date().toISOString().slice(0, 10)}, commit ${commit}, ${cpus().length} cores, load avg at end ${la}`;
}

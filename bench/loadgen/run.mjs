// Starts the release server with the bench config (bench/lib.mjs: rate limit out of the
// way, data dir on disk unless BENCH_DATA_ROOT is set) and runs the load generator against
// it with the server's pid, so the report includes the server's RSS per socket.
// Usage (after `ulimit -n`, see README.md):
//   node bench/loadgen/run.mjs [loadgen options: --conns 10000 --sources 8 --senders 100 --seconds 10]
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, REPO, WIDGET_ID, machineNote } from '../lib.mjs';

const bin = join(REPO, 'bench', 'loadgen', 'target', 'release', 'livechat-loadgen');
if (!existsSync(bin)) throw new Error('build it first: cargo build --release --manifest-path bench/loadgen/Cargo.toml');
const server = await startServer({ widget: false });
const ws = server.url.replace('http://', 'ws://') + '/v1/ws';
try {
  const code = await new Promise((resolve) => {
    const child = spawn(bin, ['--url', ws, '--widget', WIDGET_ID, '--pid', String(server.pid), ...process.argv.slice(2)], { stdio: 'inherit' });
    child.on('exit', resolve);
  });
  console.log(`(${machineNote()})`);
  process.exitCode = code ?? 1;
} finally {
  await server.stop();
}

// Writes gzip (-9) and brotli (-11) sidecars (`file.gz`, `file.br`) next to every
// compressible file of a directory, as a CDN would hold them; the server sends one when the
// browser accepts it (server/src/static_files.rs). Usage: node scripts/precompress.mjs dist
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, extname } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const COMPRESSIBLE = new Set(['.js', '.mjs', '.wasm', '.css', '.html', '.svg', '.json', '.txt', '.map']);
const MIN_BYTES = 512; // below a packet, compression saves nothing worth a second file

function walk(dir) {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) { n += walk(path); continue; }
    if (!COMPRESSIBLE.has(extname(name)) || st.size < MIN_BYTES) continue;
    const buf = readFileSync(path);
    writeFileSync(`${path}.gz`, gzipSync(buf, { level: 9 }));
    writeFileSync(`${path}.br`, brotliCompressSync(buf, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: buf.length },
    }));
    n += 1;
  }
  return n;
}

const root = process.argv[2] || 'dist';
console.log(`precompressed ${walk(root)} files under ${root}/ (.gz, .br)`);

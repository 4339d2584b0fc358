// Shortens the names the wasm and its JS glue use for each other (issue 12 §5, bundle size).
//
// wasm-bindgen names every import after the web API and a 16-hex-digit hash
// (`__wbg_instanceof_HtmlTextAreaElement_37c6efee878106d5`), and every closure shim after
// its full Rust type (up to 300 characters); each name is written twice, in the wasm's
// import/export section and in the glue. Binaryen's `--minify-imports-and-exports-and-modules`
// renames them in the wasm (`$`, `a`, `Ab` …) and prints the mapping; this script applies the
// same mapping to the glue, in exactly the three places the glue uses those names:
//   - import keys: `  __wbg_foo_0123456789abcdef: function(` in `__wbg_get_imports`,
//   - the import module: `"./livechat_widget_bg.js": import0`, renamed to a tag of the build
//     (below: a glue and a wasm of two builds must not instantiate together),
//   - exports: `wasm.name`.
// It fails (and the build with it) if any name is not found exactly where expected, or is
// left over afterwards. Measured: -2.9 KB gzip of wasm, see docs/performance.md.
//
// Usage: node scripts/minify-wasm-names.mjs <in.wasm> <glue.js>   (both rewritten in place)
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { createHash } from 'node:crypto';

const [wasmPath, gluePath] = process.argv.slice(2);
if (!wasmPath || !gluePath) {
  console.error('usage: node scripts/minify-wasm-names.mjs <in.wasm> <glue.js>');
  process.exit(2);
}
const fail = (msg) => { console.error(`minify-wasm-names: ${msg}`); process.exit(1); };

const features = ['--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext',
  '--enable-mutable-globals', '--enable-reference-types', '--enable-multivalue'];
const out = `${wasmPath}.min`;
const printed = execFileSync('npx', ['--no-install', 'wasm-opt', wasmPath, ...features,
  '--minify-imports-and-exports-and-modules', '-o', out], { encoding: 'utf8' });
const json = printed.slice(printed.indexOf('{'));
let map;
try { map = JSON.parse(json); } catch (e) { fail(`no mapping in wasm-opt's output: ${e.message}`); }

let glue = readFileSync(gluePath, 'utf8');
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const modules = new Set();
for (const [module, name, short] of map.imports) {
  modules.add(module);
  const key = new RegExp(`(\\n\\s*)${escape(name)}(: function\\()`, 'g');
  const found = glue.match(key);
  if (!found || found.length !== 1) fail(`import ${name}: ${found ? found.length : 0} keys in the glue, expected 1`);
  glue = glue.replace(key, (_, pre, post) => `${pre}${JSON.stringify(short)}${post}`);
}
// The import module is renamed to a tag of this build (8 hex digits of the minified wasm's
// sha256), in the wasm and the glue: a glue and a wasm of two builds (an old loader's cached
// glue with a newly fetched wasm, after a deploy) then fail to instantiate (a LinkError, which
// the loader reports as load_failed) instead of wiring one build's functions to the other's
// slots, as the short names alone would allow (`$`, `a`, `Ab` … are the same in every build).
if (modules.size !== 1) fail(`expected one import module, got ${[...modules].join(', ')}`);
const [oldModule] = modules;
const modLine = `${JSON.stringify(oldModule)}: import0`;
if (glue.split(modLine).length !== 2) fail(`the glue does not name the module ${oldModule} once`);
const minified = readFileSync(out);
const tag = createHash('sha256').update(minified).digest('hex').slice(0, 8);
writeFileSync(out, renameModules(minified, tag));
glue = glue.replace(modLine, `${JSON.stringify(tag)}: import0`);
for (const [name, short] of map.exports) {
  const use = new RegExp(`\\bwasm\\.${escape(name)}\\b`, 'g');
  glue = glue.replace(use, () => `wasm[${JSON.stringify(short)}]`);
  if (new RegExp(`\\bwasm\\.${escape(name)}\\b`).test(glue)) fail(`export ${name} still used`);
}
for (const [, name] of map.imports) {
  if (new RegExp(`\\n\\s*${escape(name)}: function\\(`).test(glue)) fail(`import ${name} left in the glue`);
}
writeFileSync(gluePath, glue);
renameSync(out, wasmPath);
console.log(`minify-wasm-names: ${map.imports.length} imports, ${map.exports.length} exports, import module ${JSON.stringify(tag)}`);

/** `wasm` with every import's module name replaced by `name` (the import section re-encoded). */
function renameModules(b, name) {
  let i = 8; // magic + version
  const leb = () => { let r = 0, sh = 0, x; do { x = b[i++]; r |= (x & 0x7f) << sh; sh += 7; } while (x & 0x80); return r >>> 0; };
  const str = () => { const n = leb(); i += n; };
  const encLeb = (n) => { const o = []; do { let x = n & 0x7f; n >>>= 7; if (n) x |= 0x80; o.push(x); } while (n); return Buffer.from(o); };
  const encStr = (t) => { const u = Buffer.from(t, 'utf8'); return Buffer.concat([encLeb(u.length), u]); };
  while (i < b.length) {
    const start = i;
    const id = b[i++];
    const size = leb();
    const end = i + size;
    if (id !== 2) { i = end; continue; }
    const parts = [];
    const count = leb();
    parts.push(encLeb(count));
    for (let k = 0; k < count; k++) {
      str(); // module
      const fieldStart = i;
      str();
      const kind = b[i++];
      if (kind === 0) leb(); // function: type index
      else if (kind === 1) { i++; const f = leb(); leb(); if (f & 1) leb(); } // table: reftype, limits
      else if (kind === 2) { const f = leb(); leb(); if (f & 1) leb(); } // memory: limits
      else if (kind === 3) { i += 2; } // global: type, mutability
      else fail(`import kind ${kind}`);
      parts.push(encStr(name), b.subarray(fieldStart, i));
    }
    if (i !== end) fail('import section not read to its end');
    const section = Buffer.concat(parts);
    return Buffer.concat([b.subarray(0, start), Buffer.from([2]), encLeb(section.length), section, b.subarray(end)]);
  }
  fail('no import section');
}

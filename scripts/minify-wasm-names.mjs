// Shortens the names the wasm and its JS glue use for each other (issue 12 §5, bundle size).
//
// wasm-bindgen names every import after the web API and a 16-hex-digit hash
// (`__wbg_instanceof_HtmlTextAreaElement_37c6efee878106d5`), and every closure shim after
// its full Rust type (up to 300 characters); each name is written twice, in the wasm's
// import/export section and in the glue. Binaryen's `--minify-imports-and-exports-and-modules`
// renames them in the wasm (`$`, `a`, `Ab` …) and prints the mapping; this script applies the
// same mapping to the glue, in exactly the three places the glue uses those names:
//   - import keys: `  __wbg_foo_0123456789abcdef: function(` in `__wbg_get_imports`,
//   - the import module: `"./livechat_widget_bg.js": import0`,
//   - exports: `wasm.name`.
// It fails (and the build with it) if any name is not found exactly where expected, or is
// left over afterwards. Measured: -2.9 KB gzip of wasm, see docs/performance.md.
//
// Usage: node scripts/minify-wasm-names.mjs <in.wasm> <glue.js>   (both rewritten in place)
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';

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
// The modules are renamed too: the wasm's import module names ("./livechat_widget_bg.js")
// map to short ones in the order binaryen printed them; the glue has one module object.
if (modules.size !== 1) fail(`expected one import module, got ${[...modules].join(', ')}`);
const [oldModule] = modules;
const modLine = `${JSON.stringify(oldModule)}: import0`;
if (glue.split(modLine).length !== 2) fail(`the glue does not name the module ${oldModule} once`);
const newModule = moduleName(out, oldModule);
glue = glue.replace(modLine, `${JSON.stringify(newModule)}: import0`);
for (const [name, short] of map.exports) {
  const use = new RegExp(`\\bwasm\\.${escape(name)}\\b`, 'g');
  glue = glue.replace(use, `wasm[${JSON.stringify(short)}]`);
  if (new RegExp(`\\bwasm\\.${escape(name)}\\b`).test(glue)) fail(`export ${name} still used`);
}
for (const [, name] of map.imports) {
  if (new RegExp(`\\n\\s*${escape(name)}: function\\(`).test(glue)) fail(`import ${name} left in the glue`);
}
writeFileSync(gluePath, glue);
renameSync(out, wasmPath);
console.log(`minify-wasm-names: ${map.imports.length} imports, ${map.exports.length} exports, module ${JSON.stringify(oldModule)} -> ${JSON.stringify(newModule)}`);

/** The one import module name left in the minified wasm (read from its import section). */
function moduleName(path, old) {
  const b = readFileSync(path);
  let i = 8; // magic + version
  const leb = () => { let r = 0, s = 0, x; do { x = b[i++]; r |= (x & 0x7f) << s; s += 7; } while (x & 0x80); return r >>> 0; };
  const str = () => { const n = leb(); const s = b.toString('utf8', i, i + n); i += n; return s; };
  while (i < b.length) {
    const id = b[i++];
    const size = leb();
    const end = i + size;
    if (id === 2) {
      const names = new Set();
      const count = leb();
      for (let k = 0; k < count; k++) {
        names.add(str());
        str();
        const kind = b[i++];
        if (kind === 0) leb(); // function: type index
        else if (kind === 1) { i++; const f = leb(); leb(); if (f & 1) leb(); } // table
        else if (kind === 2) { const f = leb(); leb(); if (f & 1) leb(); } // memory
        else if (kind === 3) { i++; i++; } // global: type, mutability
        else fail(`import kind ${kind}`);
      }
      if (names.size !== 1 || names.has(old)) fail(`import modules after minifying: ${[...names].join(', ')}`);
      return [...names][0];
    }
    i = end;
  }
  fail('no import section');
}

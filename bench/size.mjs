// Bundle size of the widget as a visitor downloads it: raw, gzip -9 and brotli -11 of the
// wasm, the JS glue, the loader, and the snippet. The critical path is what a first visit
// needs before the launcher is painted: the snippet and the loader (which carries the CSS
// and draws the launcher; the wasm and the glue load after that paint), plus the
// configuration response, which is not a file. `--max-gzip N` fails (exit 1) when the widget
// total (wasm + glue + loader) is over N bytes, `--max-critical N` when the critical path is.
// The language tables (dist/widget/i18n/, one loaded for a visitor not in en-US) are listed
// apart. Usage: node bench/size.mjs [--max-gzip 94000] [--max-critical 4000] [--json]
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const files = {
  'livechat_widget_bg.wasm': 'dist/widget/livechat_widget_bg.wasm',
  'livechat_widget.js (glue)': 'dist/widget/livechat_widget.js',
  'livechat.js (loader)': 'dist/widget/livechat.js',
};
const measure = (buf) => ({
  raw: buf.length,
  gzip: gzipSync(buf, { level: 9 }).length,
  brotli: brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
});
const rows = Object.entries(files).map(([name, path]) => ({ name, ...measure(readFileSync(path)) }));
const total = rows.reduce((t, r) => ({ raw: t.raw + r.raw, gzip: t.gzip + r.gzip, brotli: t.brotli + r.brotli }), { raw: 0, gzip: 0, brotli: 0 });
// The language tables other than en-US: one is fetched when the visitor's language needs it.
const tables = readdirSync('dist/widget/i18n').filter((f) => f.endsWith('.txt'))
  .map((f) => ({ name: f, ...measure(readFileSync(`dist/widget/i18n/${f}`)) }));
const largest = tables.reduce((a, b) => (b.gzip > a.gzip ? b : a), tables[0]);
const snippetHtml = readFileSync('www/snippet.html', 'utf8').replace(/<!--[\s\S]*?-->\s*/g, '');
const snippet = measure(Buffer.from(snippetHtml));
const loader = rows.find((r) => r.name.startsWith('livechat.js'));
const critical = { raw: snippet.raw + loader.raw, gzip: snippet.gzip + loader.gzip, brotli: snippet.brotli + loader.brotli };

if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ files: rows, total, critical, snippet, languageTables: tables }, null, 2));
} else {
  const fmt = (n) => String(n).padStart(9);
  console.log('file                          raw      gzip    brotli');
  for (const r of rows) console.log(`${r.name.padEnd(26)}${fmt(r.raw)}${fmt(r.gzip)}${fmt(r.brotli)}`);
  console.log(`${'widget total'.padEnd(26)}${fmt(total.raw)}${fmt(total.gzip)}${fmt(total.brotli)}`);
  console.log(`${`+ 1 table (max ${largest.name})`.padEnd(26)}${fmt(largest.raw)}${fmt(largest.gzip)}${fmt(largest.brotli)}`);
  console.log(`${'snippet'.padEnd(26)}${fmt(snippet.raw)}${fmt(snippet.gzip)}${fmt(snippet.brotli)}`);
  console.log(`${'critical path'.padEnd(26)}${fmt(critical.raw)}${fmt(critical.gzip)}${fmt(critical.brotli)}   (snippet + loader: all a first visit needs before the launcher is painted; the README snippet's ?id= puts the launcher's look in the loader, an older snippet also waits for the configuration, ~0.6 KB)`);
  console.log(`critical path gzip ${critical.gzip} B; widget total gzip ${total.gzip} B`);
  console.log('budget (issue 12): critical path gzip <= 40960, widget total gzip <= 61440; snippet <= 1024 raw');
}
const c = process.argv.indexOf('--max-critical');
if (c > 0) {
  const max = Number(process.argv[c + 1]);
  if (!(critical.gzip <= max)) {
    console.error(`size check failed: critical path gzip ${critical.gzip} B (max ${max})`);
    process.exit(1);
  }
  console.log(`size check ok: critical path gzip ${critical.gzip} B <= ${max}`);
}
const i = process.argv.indexOf('--max-gzip');
if (i > 0) {
  const max = Number(process.argv[i + 1]);
  if (total.gzip > max || snippet.raw > 1024) {
    console.error(`size check failed: widget gzip ${total.gzip} B (max ${max}), snippet ${snippet.raw} B (max 1024)`);
    process.exit(1);
  }
  console.log(`size check ok: widget gzip ${total.gzip} B <= ${max}; snippet ${snippet.raw} B <= 1024`);
}

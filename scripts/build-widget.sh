#!/usr/bin/env bash
# Builds the release widget (wasm + JS glue + loader) into dist/widget/ and the demo page
# into dist/. Profile wasm-release: opt-level z, LTO, one codegen unit, panic=abort; then
# wasm-opt -Oz from npm's binaryen; the JS glue and the loader are minified with npm's
# terser; .gz and .br sidecars of every compressible file for the server to send.
# Prints the bundle sizes (raw and gzip).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# The standard library is rebuilt for the widget with size settings (rust-src, installed by
# scripts/setup.sh): `-Cpanic=immediate-abort` (a panic is a trap: no panic formatting or
# locations linked), std's `optimize_for_size`, no `Debug` output, no caller locations.
# These are unstable options of the one stable toolchain, enabled with RUSTC_BOOTSTRAP for
# this build only: -3.1 KB gzip (docs/performance.md). Without rust-src, or with a toolchain
# that refuses these options, a plain build with a warning (the size guard in
# scripts/test.sh then says by how much it is over).
plain_build() {
  echo "build-widget.sh: $1: plain std, ~3 KB gzip larger" >&2
  cargo build -p livechat-widget --profile wasm-release --target wasm32-unknown-unknown --quiet
}
if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
  plain_build "no rust-src component (rustup component add rust-src)"
elif ! RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none" \
    cargo build -p livechat-widget --profile wasm-release --target wasm32-unknown-unknown --quiet \
    -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size; then
  plain_build "this toolchain refused the size build of std"
fi
rm -rf pkg && mkdir -p pkg dist/widget
wasm-bindgen target/wasm32-unknown-unknown/wasm-release/livechat_widget.wasm \
  --out-dir pkg --target web --no-typescript --omit-default-module-path
npx --no-install wasm-opt -Oz --converge --low-memory-unused --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue --strip-debug --strip-producers \
  pkg/livechat_widget_bg.wasm -o pkg/livechat_widget_bg.wasm
# Short names for the wasm's imports and exports, in the wasm and the glue alike.
node scripts/minify-wasm-names.mjs pkg/livechat_widget_bg.wasm pkg/livechat_widget.js
# The renamed glue and wasm instantiate together (a name missed above is a LinkError here).
node --no-warnings --input-type=module -e "import { readFileSync } from 'node:fs';
const glue = await import('./pkg/livechat_widget.js');
glue.initSync({ module: readFileSync('pkg/livechat_widget_bg.wasm') });"
cp pkg/livechat_widget_bg.wasm www/widget/livechat.d.ts dist/widget/
# The 30 language tables other than en-US, loaded by the widget when needed (src/i18n.rs).
rm -rf dist/widget/i18n
cargo run --quiet --example i18n_tables -- dist/widget/i18n pkg/labels.json
# The loader draws the launcher before the wasm is loaded: it carries the widget's CSS (the
# wasm does not) and the launcher's label in each language.
node -e '
const fs = require("fs");
const src = fs.readFileSync("www/widget/livechat.js", "utf8");
const css = fs.readFileSync("src/view/widget.css", "utf8").trim();
const labels = fs.readFileSync("pkg/labels.json", "utf8");
const out = src.replace("\x27__LIVECHAT_CSS__\x27", () => JSON.stringify(css)).replace("\x27__LIVECHAT_LABELS__\x27", () => labels);
if (out.includes("__LIVECHAT_")) { console.error("build-widget.sh: a placeholder is left in the loader"); process.exit(1); }
fs.writeFileSync("pkg/livechat.js", out);
'
# The JS glue and the loader are minified (ES modules: exports and import names are kept).
for js in pkg/livechat_widget.js pkg/livechat.js; do
  npx --no-install terser "$js" --module --ecma 2020 --compress passes=2 --mangle -o "dist/widget/$(basename "$js")"
done
# The loader is revalidated on every page view (the snippet's URL never changes); the glue
# and the wasm it loads are addressed by content hash (?v=), which the server lets browsers
# cache for a year without asking again: a new build changes the URLs.
content_hash() { sha256sum "$1" | cut -c1-12; }
glue_v=$(content_hash dist/widget/livechat_widget.js)
wasm_v=$(content_hash dist/widget/livechat_widget_bg.wasm)
for name in '"./livechat_widget.js"' '"livechat_widget_bg.wasm"'; do
  [ "$(grep -o "$name" dist/widget/livechat.js | wc -l)" = 1 ] \
    || { echo "build-widget.sh: the minified loader does not name $name exactly once" >&2; exit 1; }
done
sed -i -e "s#\"./livechat_widget.js\"#\"./livechat_widget.js?v=$glue_v\"#" \
  -e "s#\"livechat_widget_bg.wasm\"#\"livechat_widget_bg.wasm?v=$wasm_v\"#" dist/widget/livechat.js
npx --no-install webpack --config webpack.config.js >/dev/null
cp www/agent/agent.css dist/agent/
# gzip and brotli sidecars, served by the server to browsers that accept them.
find dist \( -name '*.gz' -o -name '*.br' \) -delete
node scripts/precompress.mjs dist

size() { printf '%-28s %8d B raw %8d B gzip\n' "$(basename "$1")" "$(wc -c <"$1")" "$(gzip -9c "$1" | wc -c)"; }
echo "widget bundle (dist/widget):"
for f in dist/widget/livechat_widget_bg.wasm dist/widget/livechat_widget.js dist/widget/livechat.js; do size "$f"; done
total_gz=$(cat dist/widget/livechat_widget_bg.wasm | gzip -9c | wc -c)
total_gz=$((total_gz + $(gzip -9c dist/widget/livechat_widget.js | wc -c) + $(gzip -9c dist/widget/livechat.js | wc -c)))
echo "total gzip: $total_gz B (the CSS is in the loader, livechat.js)"

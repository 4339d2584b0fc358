#!/usr/bin/env bash
# Installs whatever is missing, then runs every test: native (core scenarios, protocol,
# server integration), browser (wasm-bindgen-test in headless Chromium), TypeScript
# declarations, and end-to-end (real Chromium, real server, real SQLite).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
step() { printf '\n\033[1;34m== %s ==\033[0m\n' "$*"; }

step "setup"
bash scripts/setup.sh

step "native tests: core scenarios, protocol, server (cargo test --workspace)"
cargo test --workspace --quiet

step "browser tests of the driver (wasm-pack test --headless --chrome)"
CHROMEDRIVER=/usr/bin/chromedriver wasm-pack test --headless --chrome -- --test web

step "release build of the widget and demo"
bash scripts/build-widget.sh
cargo build --release -p livechat-server --quiet

step "bundle size (bench/size.mjs; regression guard, see docs/performance.md)"
node bench/size.mjs --max-gzip 90000 --max-critical 5200

step "TypeScript declarations (tsc -p tests/types)"
npx --no-install tsc -p tests/types && echo "types ok"

step "end-to-end tests (node --test tests/e2e/)"
if compgen -G "tests/e2e/*.test.mjs" >/dev/null; then
  # A bound on the whole suite (normally 5–8 min) so a hung browser or process fails CI
  # with a message instead of stalling it.
  LIVECHAT_SERVER_BIN="$PWD/target/release/livechat-server" timeout --kill-after=30 2400 \
    node --test --test-concurrency=1 tests/e2e/ || { rc=$?; [ "$rc" -ge 124 ] && echo "e2e suite timed out" >&2; exit "$rc"; }
else
  echo "no end-to-end tests found" >&2
  exit 1
fi

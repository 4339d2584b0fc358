#!/usr/bin/env bash
# Installs whatever the project needs and is missing; skips what is already there.
# Safe to re-run. Used by `scripts/run.sh` (demo) and `scripts/test.sh` (all tests).
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130   # must equal the `wasm-bindgen = "=…"` pin in Cargo.toml
WASM_PACK_VERSION=0.15.1

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# The widget's release build rebuilds std with size settings (scripts/build-widget.sh).
if ! rustup component list --installed | grep -q '^rust-src'; then
  log "adding rust component rust-src"
  rustup component add rust-src
fi

if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  # --locked first; the lockfile can name a crate version the registry no longer serves
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked --force \
    || cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if ! command -v wasm-pack >/dev/null; then
  log "installing wasm-pack $WASM_PACK_VERSION (a few minutes, once)"
  cargo install wasm-pack --version "$WASM_PACK_VERSION" --locked \
    || cargo install wasm-pack --version "$WASM_PACK_VERSION"
fi

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  log "installing Debian chromium + chromium-driver"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# The cluster tests (server/tests/cluster_fanout.rs, tests/e2e/cluster*.test.mjs) and
# scripts/run-cluster.sh start their own PostgreSQL cluster (initdb in a temp dir) and their
# own nginx with a config of their own; no system service is started or needed.
CLUSTER_PKGS=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || CLUSTER_PKGS+=(postgresql)
[ -x /usr/sbin/nginx ] || CLUSTER_PKGS+=(nginx)
if [ "${#CLUSTER_PKGS[@]}" -gt 0 ]; then
  log "installing Debian ${CLUSTER_PKGS[*]} (for the cluster tests; no service is started)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # policy-rc.d exit 101: the packages must not start (or enable) their system services
  RCD=""; [ -e /usr/sbin/policy-rc.d ] || { RCD=1; printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null; $SUDO chmod +x /usr/sbin/policy-rc.d; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${CLUSTER_PKGS[@]}" >/dev/null
  [ -z "$RCD" ] || $SUDO rm -f /usr/sbin/policy-rc.d
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing node modules"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi
log "toolchain ready"

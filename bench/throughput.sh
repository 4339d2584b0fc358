#!/usr/bin/env bash
# Issue 11 §5, one run: what SQLite reaches on this disk with the server's write policy
# (bench/loadgen's sqlite-limit), then the server under bench/loadgen (100 senders × 1 in
# flight, then 500 × 4), each line with the load average at the time. Bounded: ~2 min.
#   bash bench/throughput.sh [SECONDS=10] [CONNS=2000]
# Needs: cargo build --release -p livechat-server; cargo build --release --manifest-path bench/loadgen/Cargo.toml
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-10}"
CONNS="${2:-2000}"
ulimit -n "$(ulimit -Hn)"
BIN=bench/loadgen/target/release
la() { cut -d' ' -f1-3 /proc/loadavg; }
echo "== $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD), load average $(la)"
echo "== SQLite limit (same batch and fsync policy as the server's writer)"
"$BIN/sqlite-limit" --seconds "$SECS" --rows 400000
for cfg in "100 1" "500 4"; do
  set -- $cfg
  echo "== server: $CONNS sockets, $1 senders × $2 in flight, ${SECS} s (load average before $(la))"
  node bench/loadgen/run.mjs --conns "$CONNS" --sources 8 --senders "$1" --window "$2" --seconds "$SECS" --replies 0 --time-limit 120 \
    | grep -v '^$' | grep -E 'messages|ack latency|send → agent|seen|held|per socket|load avg|attempted|failed|first failure' || true
done
echo "== end, load average $(la)"

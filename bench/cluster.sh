#!/usr/bin/env bash
# Issue 11 §5 on a cluster: a throwaway PostgreSQL (initdb in a temp dir, fsync on, as the
# postgres user when root) and NODES livechat-server nodes on it (--store postgres://…, the
# bench configuration of bench/lib.mjs), no balancer: bench/loadgen spreads its sockets over
# the nodes directly (round robin; the agent stream is on node 1, so send → agent crosses
# nodes for 2/3 of the messages). Everything on loopback; stopped on exit.
#   bash bench/cluster.sh throughput [SECONDS=10] [CONNS=2000]   100×1 then 500×4 over 3 nodes
#   bash bench/cluster.sh sockets [TOTAL=51000] [GENERATORS=3]   idle sockets, RSS per socket per node
# NODES=3 (throughput) / NODES=4 (sockets) to change. Needs the release server and loadgen built.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-throughput}"
ulimit -n "$(ulimit -Hn)"
BIN=target/release/livechat-server
LG=bench/loadgen/target/release/livechat-loadgen
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
WIDGET=85ea1938-f457-496d-8532-8fa489beea63
la() { cut -d' ' -f1-3 /proc/loadavg; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

ROOT="$(mktemp -d /tmp/livechat-cluster-bench-XXXXXX)"
chmod 755 "$ROOT"
mkdir -p "$ROOT/pg" "$ROOT/data"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$ROOT/pg"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  as_pg "$PG_BIN/pg_ctl" -D "$ROOT/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$ROOT"
}
trap cleanup EXIT INT TERM

PG_PORT="$(free_port)"
as_pg "$PG_BIN/initdb" -D "$ROOT/pg/data" -A trust -U postgres -E UTF8 --no-sync >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$ROOT/pg/data" -l "$ROOT/pg/log" -w \
  -o "-p $PG_PORT -k $ROOT/pg -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=300 -c shared_buffers=256MB" start >/dev/null
STORE="postgres://postgres@127.0.0.1:$PG_PORT/postgres"

node -e "import('./bench/lib.mjs').then(m => process.stdout.write(m.configToml()))" >"$ROOT/config.toml"
if [ "$MODE" = sockets ]; then
  # Idle sockets only: no idle timeout within the run.
  sed -i 's/^\[limits\]/[limits]\nws_idle_timeout_secs = 0/' "$ROOT/config.toml"
fi
NODES="${NODES:-$([ "$MODE" = sockets ] && echo 4 || echo 3)}"
URLS=""; NODE_PIDS=""
for i in $(seq 1 "$NODES"); do
  p="$(free_port)"
  "$BIN" --config "$ROOT/config.toml" --store "$STORE" --data-dir "$ROOT/data" --addr "127.0.0.1:$p" --static-dir "$ROOT/data" >"$ROOT/node$i.log" 2>&1 &
  PIDS+=($!); NODE_PIDS+="${NODE_PIDS:+,}$!"
  URLS+="${URLS:+,}ws://127.0.0.1:$p/v1/ws"
done
for i in $(seq 1 "$NODES"); do
  for _ in $(seq 1 150); do grep -q "listening on" "$ROOT/node$i.log" && break; sleep 0.1; done
  grep -q "listening on" "$ROOT/node$i.log" || { cat "$ROOT/node$i.log" >&2; exit 1; }
done
echo "== $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD), PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT, $NODES nodes, load average $(la)"

case "$MODE" in
throughput)
  SECS="${2:-10}"; CONNS="${3:-2000}"
  for cfg in "100 1" "500 4"; do
    set -- $cfg
    echo "== $CONNS sockets over $NODES nodes, $1 senders × $2 in flight, ${SECS} s (load average before $(la))"
    "$LG" --url "$URLS" --widget "$WIDGET" --pid "$NODE_PIDS" --conns "$CONNS" --senders "$1" --window "$2" --seconds "$SECS" --replies 0 --time-limit 120 \
      | grep -v '^$' | grep -E 'messages|ack latency|send → agent|seen|held|failed|first failure' || true
  done
  ;;
sockets)
  TOTAL="${2:-51000}"; GENS="${3:-3}"; PER=$(( (TOTAL + GENS - 1) / GENS ))
  rss() { local s=0; for p in ${NODE_PIDS//,/ }; do s=$((s + $(awk '/VmRSS/ {print $2}' /proc/$p/status))); done; echo "$s"; }
  per_node() { for p in ${NODE_PIDS//,/ }; do printf '%s ' "$(awk '/VmRSS/ {print $2}' /proc/$p/status)"; done; }
  R0="$(rss)"; N0="$(per_node)"
  echo "== $TOTAL idle sockets: $GENS generators × $PER over $NODES nodes (node VmRSS KiB before: $N0)"
  for g in $(seq 0 $((GENS - 1))); do
    "$LG" --url "$URLS" --widget "$WIDGET" --conns "$PER" --sources 12 --source-base $((2 + g * 12)) --senders 0 --agent-token none \
      --hold 200 --connect-parallel 128 --time-limit 600 >"$ROOT/gen$g.log" 2>&1 &
    PIDS+=($!)
  done
  for _ in $(seq 1 300); do
    [ "$(grep -l 'holding' "$ROOT"/gen*.log 2>/dev/null | wc -l)" -ge "$GENS" ] && break
    sleep 1
  done
  sleep 5
  HELD=$(grep -h "held open after" "$ROOT"/gen*.log | awk '{s += $NF} END {print s + 0}')
  FAILED=$(grep -h "^failed" "$ROOT"/gen*.log | awk '{s += $NF} END {print s + 0}')
  R1="$(rss)"; N1="$(per_node)"
  grep -h "first failure" "$ROOT"/gen*.log | head -3 || true
  echo "sockets held (all generators): $HELD, failed: $FAILED"
  echo "node VmRSS KiB with sockets: $N1"
  awk -v r0="$R0" -v r1="$R1" -v n="$HELD" 'BEGIN { printf "RSS delta %.1f MiB over %d sockets: %.2f KiB per socket\n", (r1 - r0) / 1024, n, (r1 - r0) / n }'
  read -ra A <<<"$N0"; read -ra B <<<"$N1"
  for i in "${!A[@]}"; do
    echo "node $((i + 1)): $(( (B[i] - A[i]) / 1024 )) MiB more"
  done
  echo "load average $(la)"
  ;;
esac
echo "== end, load average $(la)"

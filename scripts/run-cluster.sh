#!/usr/bin/env bash
# The demo as a cluster: PostgreSQL, three livechat-server nodes on it, nginx in front on
# one port (no sticky sessions). Installs whatever is missing and builds like scripts/run.sh.
# Ctrl-C stops everything it started. See docs/deploy.md.
#   PORT=8080 (balancer; nodes on PORT+1.., PostgreSQL on PORT+100)   NODES=3
#   DATA_DIR=.cluster (PostgreSQL data dir, kept between runs; the nodes' shared attachments
#   dir data/; nginx prefix; logs)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
PORT="${PORT:-8080}"
NODES="${NODES:-3}"
DATA_DIR="$(mkdir -p "${DATA_DIR:-.cluster}" && cd "${DATA_DIR:-.cluster}" && pwd)"
PG_PORT="${PG_PORT:-$((PORT + 100))}"

bash scripts/setup.sh
bash scripts/build-widget.sh
cargo build --release -p livechat-server --quiet

log() { printf '\033[1;34m[cluster]\033[0m %s\n' "$*"; }

# ----- PostgreSQL (a cluster of our own in $DATA_DIR/pg; initdb refuses root) --------------
PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
[ -x "$PG_BIN/initdb" ] || { echo "PostgreSQL not found under /usr/lib/postgresql: run scripts/setup.sh" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PG_DIR="$DATA_DIR/pg"
if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
  log "initdb $PG_DIR/data"
  mkdir -p "$PG_DIR"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DIR"
  as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 --no-instructions >/dev/null
fi
as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w \
  -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1" start >/dev/null
STORE="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
log "PostgreSQL on 127.0.0.1:$PG_PORT"

PIDS=()
cleanup() {
  trap '' INT TERM; trap - EXIT   # a second signal must not cut the cleanup short
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  log "stopped"
}
trap cleanup EXIT INT TERM

# ----- the nodes ------------------------------------------------------------------------------
UPSTREAMS=""
for i in $(seq 1 "$NODES"); do
  p=$((PORT + i))
  target/release/livechat-server --config server/demo.toml --store "$STORE" --data-dir "$DATA_DIR/data" \
    --addr "127.0.0.1:$p" --static-dir dist >"$DATA_DIR/node$i.log" 2>&1 &
  PIDS+=($!)
  UPSTREAMS+="        server 127.0.0.1:$p max_fails=1 fail_timeout=2s;"$'\n'
done
for i in $(seq 1 "$NODES"); do
  for _ in $(seq 1 100); do
    grep -q "listening on" "$DATA_DIR/node$i.log" 2>/dev/null && break
    sleep 0.1
  done
  grep -q "listening on" "$DATA_DIR/node$i.log" || { echo "node $i did not start:" >&2; cat "$DATA_DIR/node$i.log" >&2; exit 1; }
done
log "$NODES nodes on 127.0.0.1:$((PORT + 1))..$((PORT + NODES)) (logs in $DATA_DIR/node*.log)"

# ----- nginx (config rendered from deploy/nginx-cluster.conf.in) ---------------------------------
NGX="$DATA_DIR/nginx"
mkdir -p "$NGX"/tmp/{body,proxy,fastcgi,uwsgi,scgi}
awk -v prefix="$NGX" -v listen="127.0.0.1:$PORT" -v ups="$UPSTREAMS" '
  /@UPSTREAMS@/ { printf "%s", ups; next }
  { gsub("@PREFIX@", prefix); gsub("@LISTEN@", listen); print }' deploy/nginx-cluster.conf.in >"$NGX/nginx.conf"
/usr/sbin/nginx -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/error.log" -g 'daemon off;' &
PIDS+=($!)

echo
echo "Demo shop:      http://127.0.0.1:$PORT/         (through nginx: any of $NODES nodes)"
echo "Agent console:  http://127.0.0.1:$PORT/agent/   (token: demo-agent-token, from server/demo.toml)"
echo "Node health:    curl http://127.0.0.1:$((PORT + 1))/healthz"
echo "Ctrl-C stops the nodes, nginx and PostgreSQL."
wait -n "${PIDS[@]}" || true
log "a process exited; stopping the rest"

#!/usr/bin/env bash
# Installs whatever is missing, builds the widget, and serves the demo shop with the
# widget on the embedded default (SQLite in .data/). Open the printed URL.
#   PORT=8080 (default)   DATA_DIR=.data (default)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/setup.sh
bash scripts/build-widget.sh
cargo build --release -p livechat-server --quiet
echo
echo "Demo shop:      http://127.0.0.1:${PORT:-8080}/"
echo "Agent console:  http://127.0.0.1:${PORT:-8080}/agent/   (token: demo-agent-token, from server/demo.toml)"
echo "Agent API:      docs/agent-api.md"
exec target/release/livechat-server --config server/demo.toml --data-dir "${DATA_DIR:-.data}" \
  --addr "127.0.0.1:${PORT:-8080}" --static-dir dist

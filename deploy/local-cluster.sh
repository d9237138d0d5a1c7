#!/usr/bin/env bash
# A NeuroGraph cluster on this machine without Docker: 3 nats-server processes (clustered, with
# JetStream) and 3 `neurograph serve` nodes, with their data, logs and pids in $NG_LOCAL_DIR
# (default ./local-cluster).
#
#   deploy/local-cluster.sh up       start (gRPC 50051-50053, metrics 9464-9466, NATS 4222-4224)
#   deploy/local-cluster.sh status   what runs, and each node's health
#   deploy/local-cluster.sh down     stop everything this script started (by pid)
#
# Needs nats-server on PATH (or NATS_SERVER=/path/to/nats-server) and Node ≥ 20.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${NG_LOCAL_DIR:-$PWD/local-cluster}"
NATS_SERVER="${NATS_SERVER:-nats-server}"
NODES="${NG_LOCAL_NODES:-3}"
GRPC_BASE="${NG_LOCAL_GRPC_BASE:-50051}"
METRICS_BASE="${NG_LOCAL_METRICS_BASE:-9464}"
NATS_BASE="${NG_LOCAL_NATS_BASE:-4222}"
ROUTE_BASE="${NG_LOCAL_ROUTE_BASE:-6222}"
MONITOR_BASE="${NG_LOCAL_MONITOR_BASE:-8222}"
CLUSTER="${NG_CLUSTER:-neurograph}"

nats_urls() {
  local urls=() i
  for ((i = 0; i < NODES; i++)); do urls+=("nats://127.0.0.1:$((NATS_BASE + i))"); done
  (IFS=,; echo "${urls[*]}")
}

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() { # file pattern seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "local-cluster: timed out waiting for '$2' in $1 (stop what started with: $0 down)" >&2
  return 1
}

up() {
  command -v "$NATS_SERVER" >/dev/null || { echo "local-cluster: nats-server not found (set NATS_SERVER)" >&2; exit 2; }
  mkdir -p "$DIR"
  local i routes=()
  for ((i = 0; i < NODES; i++)); do routes+=("nats-route://127.0.0.1:$((ROUTE_BASE + i))"); done
  for ((i = 0; i < NODES; i++)); do
    local name="nats-$((i + 1))"
    local d="$DIR/$name"
    mkdir -p "$d"
    alive "$d/pid" && { echo "$name runs already (pid $(cat "$d/pid"))"; continue; }
    cat >"$d/nats.conf" <<CONF
server_name: $name
listen: 127.0.0.1:$((NATS_BASE + i))
http: 127.0.0.1:$((MONITOR_BASE + i))
jetstream { store_dir: "$d/jetstream" }
cluster {
  name: $CLUSTER-nats
  listen: 127.0.0.1:$((ROUTE_BASE + i))
  routes: [ $(IFS=,; echo "${routes[*]}") ]
}
CONF
    "$NATS_SERVER" -c "$d/nats.conf" >"$d/log" 2>&1 &
    echo $! >"$d/pid"
    echo "started $name (pid $!) on nats://127.0.0.1:$((NATS_BASE + i))"
  done
  for ((i = 0; i < NODES; i++)); do wait_for "$DIR/nats-$((i + 1))/log" "Server is ready" 30; done
  for ((i = 0; i < NODES; i++)); do
    local name="neurograph-$((i + 1))" d="$DIR/neurograph-$((i + 1))"
    mkdir -p "$d/data"
    alive "$d/pid" && { echo "$name runs already (pid $(cat "$d/pid"))"; continue; }
    : >"$d/log"
    NG_GRPC_ADDR="127.0.0.1:$((GRPC_BASE + i))" \
      NG_METRICS_ADDR="127.0.0.1:$((METRICS_BASE + i))" \
      NG_DATA_DIR="$d/data" \
      NG_NODE_ID="$name" \
      NG_NATS_URL="$(nats_urls)" \
      NG_CLUSTER="$CLUSTER" \
      node "$ROOT/bin/neurograph.mjs" serve >>"$d/log" 2>&1 &
    echo $! >"$d/pid"
    echo "started $name (pid $!) gRPC 127.0.0.1:$((GRPC_BASE + i)), metrics http://127.0.0.1:$((METRICS_BASE + i))/metrics"
  done
  for ((i = 0; i < NODES; i++)); do wait_for "$DIR/neurograph-$((i + 1))/log" "serving gRPC on" 120; done
  echo "local cluster up; stop it with: $0 down"
}

down() {
  local d pid
  for d in "$DIR"/neurograph-* "$DIR"/nats-*; do
    [[ -f "$d/pid" ]] || continue
    pid="$(cat "$d/pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
      echo "stopped $(basename "$d") (pid $pid)"
    fi
    rm -f "$d/pid"
  done
}

status() {
  local d i=0 code=0
  for d in "$DIR"/nats-* "$DIR"/neurograph-*; do
    [[ -d "$d" ]] || continue
    if alive "$d/pid"; then echo "$(basename "$d"): running (pid $(cat "$d/pid"))"; else echo "$(basename "$d"): stopped"; code=1; fi
  done
  for ((i = 0; i < NODES; i++)); do
    if alive "$DIR/neurograph-$((i + 1))/pid"; then
      printf 'neurograph-%d health: ' $((i + 1))
      node "$ROOT/bin/neurograph.mjs" health --addr "127.0.0.1:$((GRPC_BASE + i))" --deadline 3s || code=1
    fi
  done
  return $code
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac

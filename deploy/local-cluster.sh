#!/usr/bin/env bash
# A local NeuroGraph cluster on loopback, for developers and tests (issue 7): a 3-server NATS
# cluster with JetStream and 3 `neurograph serve` nodes in cluster mode, each with its own data
# directory. Everything lives under one directory (default ./data/local-cluster); Ctrl-C (or
# `deploy/local-cluster.sh down`) stops it all.
#
#   deploy/local-cluster.sh up [DIR]      start and wait (Ctrl-C stops everything)
#   deploy/local-cluster.sh down [DIR]    stop a cluster started in the background (PIDs in DIR/pids)
#
# Ports: NATS clients 4222-4224, routes 6222-6224, monitoring 8222-8224; gRPC 50051-50053;
# metrics 9464-9466. Override the base ports with NATS_PORT, ROUTE_PORT, HTTP_PORT, GRPC_PORT,
# METRICS_PORT.
# Needs `nats-server` on PATH (or NATS_SERVER_BIN).
set -euo pipefail

cmd="${1:-up}"
dir="${2:-./data/local-cluster}"
root="$(cd "$(dirname "$0")/.." && pwd)"
nats_bin="${NATS_SERVER_BIN:-nats-server}"
nats_port="${NATS_PORT:-4222}"
grpc_port="${GRPC_PORT:-50051}"
metrics_port="${METRICS_PORT:-9464}"
route_port="${ROUTE_PORT:-6222}"
http_port="${HTTP_PORT:-8222}"
cluster="${NG_CLUSTER:-local}"

down() {
  if [[ -f "$dir/pids" ]]; then
    # Nodes first (they hand their shards over), then the NATS servers.
    tac "$dir/pids" | while read -r pid; do kill "$pid" 2>/dev/null || true; done
    sleep 2
    rm -f "$dir/pids"
  fi
}

if [[ "$cmd" == "down" ]]; then
  down
  exit 0
fi
if [[ "$cmd" != "up" ]]; then
  echo "usage: $0 up|down [DIR]" >&2
  exit 2
fi
command -v "$nats_bin" >/dev/null || { echo "nats-server not found: install it or set NATS_SERVER_BIN" >&2; exit 1; }

mkdir -p "$dir"
: > "$dir/pids"
trap 'down' EXIT INT TERM

routes=""
for i in 0 1 2; do routes+="nats-route://127.0.0.1:$((route_port + i)),"; done
routes="${routes%,}"
urls=""
for i in 0 1 2; do
  n=$((i + 1))
  mkdir -p "$dir/nats-$n"
  cat > "$dir/nats-$n/nats.conf" <<CONF
server_name: ng-local-$n
listen: 127.0.0.1:$((nats_port + i))
http: 127.0.0.1:$((http_port + i))
jetstream { store_dir: "$dir/nats-$n/store" }
cluster { name: ng-local, listen: 127.0.0.1:$((route_port + i)), routes: [ $routes ] }
CONF
  "$nats_bin" -c "$dir/nats-$n/nats.conf" > "$dir/nats-$n/log" 2>&1 &
  echo $! >> "$dir/pids"
  urls+="nats://127.0.0.1:$((nats_port + i)),"
done
urls="${urls%,}"
echo "NATS cluster: $urls (logs in $dir/nats-*/log)"

# Wait for a JetStream meta leader before the nodes create their streams and buckets.
for _ in $(seq 1 50); do
  if curl -fs "http://127.0.0.1:$http_port/healthz?js-enabled-only=true" >/dev/null 2>&1; then break; fi
  sleep 0.2
done

for i in 0 1 2; do
  n=$((i + 1))
  mkdir -p "$dir/node-$n"
  node "$root/bin/neurograph.mjs" serve \
    --nats "$urls" --cluster "$cluster" --node-id "node-$n" \
    --data-dir "$dir/node-$n" --grpc-addr "127.0.0.1:$((grpc_port + i))" --metrics-addr "127.0.0.1:$((metrics_port + i))" \
    > "$dir/node-$n/log" 2>&1 &
  echo $! >> "$dir/pids"
  echo "node-$n: gRPC 127.0.0.1:$((grpc_port + i)), metrics http://127.0.0.1:$((metrics_port + i)) (log $dir/node-$n/log)"
done
echo "producers: nats pub ng.$cluster.ingest.tokens (protobuf neurograph.v1.IngestBatch); Ctrl-C stops the cluster"
wait

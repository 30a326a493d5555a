#!/usr/bin/env bash
# bench/fleet_load.sh: the fleet's frontier under load (trawler-bench-fleet-load: simulated
# workers, fetches replaced by timers, no HTTP, no parsing) against one Redis and against a
# local Redis Cluster of M masters, at several worker counts. Prints one JSON line per run.
#
#   bench/fleet_load.sh [--build DIR] [--workers "1 4 16 100"] [--masters 6] [--pages N]
#                       [--hosts N] [--fetch-ms N] [--concurrency N]
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BUILD=$ROOT/build/release
WORKERS="1 4 16 100"
MASTERS=6
PAGES=20000
HOSTS=5000
FETCH=50
CONC=8
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --masters) MASTERS=$2; shift 2 ;;
    --pages) PAGES=$2; shift 2 ;;
    --hosts) HOSTS=$2; shift 2 ;;
    --fetch-ms) FETCH=$2; shift 2 ;;
    --concurrency) CONC=$2; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "fleet_load.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
BIN=$BUILD/trawler-bench-fleet-load
[ -x "$BIN" ] || { echo "fleet_load.sh: $BIN missing" >&2; exit 2; }
DIR=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$DIR"; }
trap cleanup EXIT
# Below the kernel's ephemeral range (32768-60999): a port from that range can be taken by a
# client connection before redis-server binds it, and the cluster then lacks a node.
free_port() {
  python3 -c '
import random, socket
while True:
    p = random.randint(20000, 30000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        s.close()
        print(p)
        break
    except OSError:
        pass'
}
start() {  # port dir [cluster flags]
  mkdir -p "$2"
  (cd "$2" && exec redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no \
     --loglevel warning "${@:3}") >"$2/log" 2>&1 &
  pids+=($!)
}
single=$(free_port)
start "$single" "$DIR/single"
nodes=()
for i in $(seq "$MASTERS"); do
  p=$(free_port)
  start "$p" "$DIR/n$i" --cluster-enabled yes --cluster-config-file nodes.conf
  nodes+=("127.0.0.1:$p")
done
for n in "$single" "${nodes[@]#*:}"; do
  for _ in $(seq 100); do redis-cli -p "${n##*:}" ping >/dev/null 2>&1 && break; sleep 0.1; done
done
redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$DIR/create.log" 2>&1 ||
  { cat "$DIR/create.log" >&2; exit 1; }
for _ in $(seq 50); do
  redis-cli -p "${nodes[0]#*:}" cluster info | grep -q cluster_state:ok && break
  sleep 0.2
done
for w in $WORKERS; do
  for target in "redis://127.0.0.1:$single" "redis://${nodes[0]}"; do
    "$BIN" "$target" --workers "$w" --pages "$PAGES" --hosts "$HOSTS" --fetch-ms "$FETCH" \
      --concurrency "$CONC"
  done
done

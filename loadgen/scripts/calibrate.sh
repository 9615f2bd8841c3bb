#!/usr/bin/env bash
# Calibrates loadgen against the field's tools on this machine, against the same
# protolab-rest server in the same run (issue 6's performance targets):
#   - closed-loop HTTP/1.1 req/s vs wrk (same connections, same single thread)
#   - h2c req/s vs h2load (same connections x streams, same single thread)
#   - open-loop rate accuracy at 20,000 req/s
#   - a 1 s server stall (SIGSTOP) during a 1,000 req/s open-loop run: the corrected
#     P99 must show the stall, the uncorrected one must not
# The server is pinned to CPU 0 and every client to CPU 1. Writes
# results/calibrate-<time>.md and prints it. Needs wrk and h2load (Debian: wrk,
# nghttp2-client); installs them when apt-get is available.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
# Release binaries of protolab-rest and loadgen; built here unless BIN is given
# (e.g. the ones `make images` staged: docker cp from protolab/build:/out/...).
BIN=${BIN:-target/release}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}

for tool in wrk h2load; do
  if ! command -v "$tool" >/dev/null; then
    if command -v apt-get >/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nghttp2-client >/dev/null
    else
      echo "calibrate: $tool is missing" >&2; exit 1
    fi
  fi
done

if [[ $BIN == target/release ]]; then cargo build --release -q -p protolab-rest -p loadgen; fi
work=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port); ADMIN=$(free_port)
"$BIN/loadgen" --quiet seed --db "$work/items.db" >/dev/null
RUST_LOG=warn taskset -c "$SERVER_CPU" "$BIN/protolab-rest" --bind 127.0.0.1 --port "$PORT" --admin-port "$ADMIN" \
  --db "$work/items.db" --workers 1 --max-connections 100000 &
server_pid=$!
for _ in $(seq 100); do "$BIN/protolab-rest" --admin-port "$ADMIN" healthcheck 2>/dev/null && break; sleep 0.1; done
URL=http://127.0.0.1:$PORT
client() { taskset -c "$CLIENT_CPU" "$@"; }
lg_json() { client "$BIN/loadgen" --quiet --json run rest "$URL" "$@" 2>/dev/null || true; }
field() { python3 -c "import json,sys; r=json.load(sys.stdin)['cases'][0]['repetitions'][0]['summary']; print($1)"; }

echo "== wrk vs loadgen (HTTP/1.1, $CONNS connections, 1 thread, ${DURATION}s)" >&2
row_h1() {
  local path=$1 op=$2
  local wrk_rps lg_rps
  wrk_rps=$(client wrk -t1 -c"$CONNS" -d"${DURATION}s" "$URL$path" | awk '/Requests\/sec/ {print $2}')
  lg_rps=$(lg_json --op "$op" --ids 1 -c "$CONNS" -d "${DURATION}s" --warmup 1s | field "r['rps']")
  printf '| HTTP/1.1 %s | wrk %s | %.0f | %.0f | %.2f |\n' "$path" "-t1 -c$CONNS" "$wrk_rps" "$lg_rps" "$(python3 -c "print($lg_rps/$wrk_rps)")"
}
echo "== h2load vs loadgen (h2c, 4 connections x 16 streams, 1 thread)" >&2
row_h2() {
  local path=$1 op=$2
  local h2_rps lg_rps
  h2_rps=$(client h2load -t1 -c4 -m16 -D"$DURATION" --warm-up-time=1 "$URL$path" | awk '/finished in/ {print $4}')
  lg_rps=$(lg_json --op "$op" --ids 1 --http2 -c 4 --inflight 16 -d "${DURATION}s" --warmup 1s | field "r['rps']")
  printf '| h2c %s | h2load %s | %.0f | %.0f | %.2f |\n' "$path" "-t1 -c4 -m16" "$h2_rps" "$lg_rps" "$(python3 -c "print($lg_rps/$h2_rps)")"
}

out="results/calibrate-$(date -u +%Y%m%d-%H%M%S).md"
mkdir -p results
{
  echo "# loadgen calibration — $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo none)"
  echo
  echo "Server protolab-rest (1 worker) pinned to CPU $SERVER_CPU, clients pinned to CPU $CLIENT_CPU; ${DURATION}s runs."
  echo
  echo "| workload | reference tool | reference req/s | loadgen req/s | ratio |"
  echo "|---|---|---|---|---|"
  row_h1 /ping ping
  row_h1 /items/1 get-item
  row_h2 /ping ping
  row_h2 /items/1 get-item
  echo
  echo "## Open-loop rate accuracy"
  echo
  json=$(lg_json --op ping --rate 20k -c 64 -d "${DURATION}s" --warmup 2s)
  echo "$json" | field "'target 20000 req/s: achieved %.1f req/s (%+.2f%%), p99 %.3f ms' % (r['rps'], (r['rps']/20000-1)*100, r['latency']['p99_us']/1000)"
  echo
  echo "## Coordinated omission: a 1 s server stall at 1,000 req/s"
  echo
  ( sleep 5; kill -STOP "$server_pid"; sleep 1; kill -CONT "$server_pid" ) &
  json=$(lg_json --op ping --rate 1000 -c 16 -d 10s --warmup 2s)
  wait $! 2>/dev/null || true
  echo "$json" | field "'corrected p99 %.1f ms, max %.1f ms; uncorrected (service time) p99 %.1f ms, max %.1f ms' % (r['latency']['p99_us']/1000, r['latency']['max_us']/1000, r['service']['p99_us']/1000, r['service']['max_us']/1000)"
} | tee "$out"
echo "written to $out" >&2

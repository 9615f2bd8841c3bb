#!/usr/bin/env bash
# nginx (1 worker, `return 200 "pong"`) against protolab-rest's /ping (issue 23 item 5),
# each pinned to CPU 0, `wrk -t1 -c64 -d5s` pinned to CPU 1, alternating, 3 rounds.
# Prints req/s and the server's CPU-us per request (from /proc/<pid>/stat over the
# wrk run). Run by hand: needs nginx and wrk (installed from Debian when missing) and
# the release binaries in BIN (default target/release).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/release}
command -v nginx >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light wrk >/dev/null; }
W=$(mktemp -d)
HZ=$(getconf CLK_TCK)
cpu() { awk -v hz="$HZ" '{print ($14+$15)/hz}' "/proc/$1/stat"; }
cat > "$W/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $W/nginx.pid;
error_log $W/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server { listen 127.0.0.1:18080; location /ping { return 200 "pong"; } }
}
CONF
taskset -c 0 nginx -c "$W/nginx.conf" -p "$W" >/dev/null 2>&1 &
sleep 1
NGX=$(pgrep -f "nginx: worker process" | head -1)
"$BIN/loadgen" --quiet certs --out "$W/certs" >/dev/null
BIND=127.0.0.1 PORT=18000 TLS_PORT=18443 ADMIN_PORT=18090 DB_PATH=$W/items.db \
  TLS_CERT=$W/certs/server.crt TLS_KEY=$W/certs/server.key TLS_CA=$W/certs/ca.crt \
  WORKERS=1 MAX_CONNECTIONS=100000 RUST_LOG=warn taskset -c 0 "$BIN/protolab-rest" >/dev/null 2>&1 &
REST=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:18000/ping >/dev/null && break; sleep 0.2; done
run() { # name pid url
  local c0 c1 out rps
  c0=$(cpu "$2")
  out=$(taskset -c 1 wrk -t1 -c64 -d5s "$3")
  c1=$(cpu "$2")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  local n; n=$(awk '/requests in/ {print $1}' <<<"$out")
  printf '%-6s round %s  %10s req/s  server %5.2f us/req\n' "$1" "$4" "$rps" "$(echo "($c1-$c0)*1000000/$n" | bc -l)"
}
for r in 1 2 3; do
  if (( r % 2 )); then run nginx "$NGX" http://127.0.0.1:18080/ping $r; run rest "$REST" http://127.0.0.1:18000/ping $r
  else run rest "$REST" http://127.0.0.1:18000/ping $r; run nginx "$NGX" http://127.0.0.1:18080/ping $r; fi
done
kill "$REST"; kill "$(cat "$W/nginx.pid")"; wait 2>/dev/null || true
rm -rf "$W"

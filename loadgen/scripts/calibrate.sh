#!/usr/bin/env bash
# `make calibrate`: loadgen against wrk and h2load on the same servers, pinned
# (calibrate.py says what it measures and when it refuses a run). Installs wrk and
# h2load (Debian: wrk, nghttp2-client) when missing, builds the release binaries
# unless BIN names prebuilt ones, writes results/calibration/<date>.md.
#   DURATION=10 WARMUP=2 REPEAT=3 SERVER_CPU=0 CLIENT_CPU=1 BIN=target/release
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in wrk h2load taskset python3; do
  if ! command -v "$tool" >/dev/null; then
    if command -v apt-get >/dev/null; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nghttp2-client util-linux python3 >/dev/null
    else
      echo "calibrate: $tool is missing" >&2; exit 1
    fi
  fi
done

if [[ -z ${BIN:-} ]]; then
  cargo build --release -q -p loadgen -p protolab-rest -p protolab-grpc -p protolab-binary
  export BIN=target/release
fi
exec python3 loadgen/scripts/calibrate.py

#!/usr/bin/env bash
# services/timed.sh LABEL COMMAND...: runs COMMAND and prints how long it took,
# `== LABEL: 12 s` (or `== LABEL: FAILED (exit N) after 12 s`), keeping its exit status.
# The Makefile wraps each phase of `make up` / `make bench` in it.
set -euo pipefail
(($# >= 2)) || { echo "usage: $0 LABEL COMMAND..." >&2; exit 2; }
label=$1
shift
start=$SECONDS
rc=0
"$@" || rc=$?
if ((rc == 0)); then
  printf '== %s: %d s\n' "$label" $((SECONDS - start))
else
  printf '== %s: FAILED (exit %d) after %d s\n' "$label" "$rc" $((SECONDS - start)) >&2
fi
exit "$rc"

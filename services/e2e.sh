#!/usr/bin/env bash
# `make e2e`: the whole lab from the images up, as CI runs it.
#
#   1. `make up`: images built when missing (base images, vendored crates, the
#      workspace in release mode), certificates, seed, every server healthy;
#   2. smoke.sh check: health, the seed's exit code, GET /items/42 over plain and TLS;
#   3. the controller through the loadgen container: `ctl ps`, `ctl restart rest`
#      (which waits until rest is healthy again);
#   4. `bench --suite smoke` through the loadgen container (the compose network,
#      service names, container stats at 1 Hz), then `check`: every server has a
#      valid case, no case broken, each measured case carries Docker resource use;
#   5. the README's compose commands as written (services/readme-commands.sh): from
#      a copy of the repository in a folder of another name, after `make up` there,
#      with none of the Makefile's variables (E2E_README=0 skips it);
#   6. the swarm stack (E2E_SWARM=0 skips it): the compose lab down, `make swarm-up`
#      with 2 replicas of rest and binary and 2 generator workers (a single-node
#      swarm made for it), the smoke suite on their endpoints from a loadgen
#      container on the stack's network, then `check --require-replicas 2` (every
#      case with 2+ connections reached both replicas, by the servers' own
#      counters); the fleet suite coordinated over the 2 workers, `check
#      --require-workers 2` (each case ran on both, its calls the sum of theirs);
#      the fleet suite again with one worker killed mid-case, which must end (no
#      hang) with that case FAILED naming the worker; a small matrix (replicas 1, 2
#      × messages 50, 200 on framed, over the fleet), whose report must have the
#      matrix section and its charts; then `make swarm-down`, after which no
#      service, stack network or volume, nor the swarm, may be left;
#   7. the lab is taken down again, whatever happened (E2E_KEEP=1 keeps it up).
#
# On failure the servers' last log lines are printed. Run from the repository root.
set -euo pipefail

MAKE=${MAKE:-make}
COMPOSE=${COMPOSE:?COMPOSE is set by the Makefile}
OUT=${E2E_OUT:-results/e2e}
SUITE=${E2E_SUITE:-smoke}
began=$SECONDS
readme_dir=
swarm_used=

log() { printf '== e2e [%4ss]: %s\n' "$((SECONDS - began))" "$*"; }

finish() {
  local rc=$?
  if ((rc != 0)); then
    log "FAILED (exit $rc); last log lines of the lab:"
    $COMPOSE logs --tail=30 2>&1 | tail -n 200 || true
  fi
  if [[ ${E2E_KEEP:-0} != 1 ]]; then
    log "taking the lab down"
    $COMPOSE --profile tools --profile dashboard --profile workers down --remove-orphans >/dev/null 2>&1 || true
    if [[ -n $readme_dir ]]; then rm -rf "$readme_dir"; fi
    if [[ -n $swarm_used ]]; then $MAKE --no-print-directory swarm-down >/dev/null 2>&1 || true; fi
  fi
  exit "$rc"
}
trap finish EXIT

log "make up (builds what is missing)"
$MAKE --no-print-directory up
log "lab is up"
bash services/smoke.sh check

log "controller: ctl ps, ctl restart rest"
$COMPOSE run --rm loadgen ctl ps
$COMPOSE run --rm loadgen ctl restart rest --timeout 120s

mkdir -p "$OUT"
log "bench --suite $SUITE through the loadgen container"
$COMPOSE run --rm -e LOADGEN_OUT="/$OUT" loadgen --quiet bench --suite "$SUITE" --host compose
log "checking the run"
$COMPOSE run --rm loadgen check latest --out "/$OUT" --require-usage admin
latest=$(ls -1d "$OUT"/*/ | sort | tail -n1)
for f in run.json report.md report.html summary.csv; do
  [[ -s $latest/$f ]] || { echo "e2e: $latest$f is missing or empty" >&2; exit 1; }
done
charts=$(find "$latest" -name '*.png' | wc -l)
((charts > 0)) || { echo "e2e: no PNG chart in $latest" >&2; exit 1; }
log "ok: $latest (run.json, report.md, report.html, $charts charts)"

if [[ ${E2E_README:-1} == 1 ]]; then
  readme_dir=$(mktemp -d)
  log "the README's compose commands, from a copy in $readme_dir"
  README_COPY_DIR=$readme_dir MAKE=$MAKE bash services/readme-commands.sh
fi
if [[ ${E2E_SWARM:-1} == 1 ]]; then
  log "swarm: the compose lab down, then 2 replicas of rest and binary and 2 workers as stack protolab"
  $COMPOSE --profile tools --profile dashboard down --remove-orphans >/dev/null
  swarm_used=1
  created_swarm=$([[ $(docker info --format '{{.Swarm.LocalNodeState}}') == active ]] || echo 1)
  SERVERS="rest binary" SERVER_REPLICAS=2 LOADGEN_WORKERS=2 $MAKE --no-print-directory swarm-up
  swarm_out=$OUT/swarm
  mkdir -p "$swarm_out"
  log "swarm: smoke suite on rest and framed through a loadgen container on the stack's network"
  bash services/swarm.sh loadgen --quiet bench --suite smoke --targets rest,binary \
    --endpoints rest-h1,rest-h2c,framed --out "/$swarm_out"
  bash services/swarm.sh loadgen check latest --out "/$swarm_out" --servers rest,binary \
    --require-usage admin --require-replicas 2
  grep -q '^## Replicas' "$(ls -1d "$swarm_out"/*/ | sort | tail -n1)report.md" ||
    { echo "e2e: the swarm run's report has no Replicas section" >&2; exit 1; }
  fleet_out=$OUT/fleet
  mkdir -p "$fleet_out"
  log "swarm: the fleet suite coordinated over 2 generator workers"
  bash services/swarm.sh loadgen --quiet bench --suite fleet --workers 2 --targets rest,binary \
    --endpoints rest-h1,framed --out "/$fleet_out"
  bash services/swarm.sh loadgen check latest --out "/$fleet_out" --servers rest,binary \
    --require-workers 2 --require-replicas 2
  grep -q '^## Generator workers' "$(ls -1d "$fleet_out"/*/ | sort | tail -n1)report.md" ||
    { echo "e2e: the fleet run's report has no Generator workers section" >&2; exit 1; }
  kill_out=$OUT/fleet-kill
  mkdir -p "$kill_out"
  log "swarm: a worker killed mid-case: the case must fail naming it, and the bench end"
  rc=0
  timeout 300 bash services/swarm.sh loadgen --quiet bench --suite fleet --workers 2 --targets rest \
    --endpoints rest-h1 --repeat 6 --out "/$kill_out" > "$kill_out/bench.log" 2>&1 &
  bench_pid=$!
  sleep 10
  victim=$(docker ps -q --filter label=com.docker.swarm.service.name=protolab_loadgen-worker | head -n1)
  [[ -n $victim ]] || { echo "e2e: no worker container to kill" >&2; exit 1; }
  docker kill "$victim" >/dev/null
  wait "$bench_pid" || rc=$?
  ((rc != 0 && rc != 124)) ||
    { echo "e2e: bench with a killed worker exited $rc"; cat "$kill_out/bench.log"; exit 1; } >&2
  killed_run=$(ls -1d "$kill_out"/*/ | sort | tail -n1)run.json
  grep -Eq 'worker protolab_loadgen-worker\.[0-9]+ (lost|stalled)' "$killed_run" ||
    { echo "e2e: no case FAILED naming the killed worker"; cat "$kill_out/bench.log"; exit 1; } >&2
  log "swarm: the killed worker's case FAILED with its name; the bench ended (exit $rc)"
  matrix_out=$OUT/matrix
  mkdir -p "$matrix_out"
  printf '%s\n' '[[matrix]]' 'endpoints = ["framed"]' 'replicas = [1, 2]' 'clients = [4]' \
    'messages = [50, 200]' 'repeat = 2' > "$matrix_out/suite.toml"
  log "swarm: a matrix on framed over the fleet, binary rescaled from 1 to 2 replicas"
  bash services/swarm.sh loadgen --quiet bench --suite "/$matrix_out/suite.toml" --workers 2 \
    --targets binary --endpoints framed --out "/$matrix_out"
  bash services/swarm.sh loadgen check latest --out "/$matrix_out" --servers binary --require-workers 2
  matrix_run=$(ls -1d "$matrix_out"/*/ | sort | tail -n1)
  grep -q '^## matrix' "${matrix_run}report.md" ||
    { echo "e2e: the matrix run's report has no matrix section" >&2; exit 1; }
  for chart in matrix-rps matrix-p99 matrix-scaling; do
    [[ -s ${matrix_run}charts/$chart-framed-concurrency_get_item.png ]] ||
      { echo "e2e: no $chart chart in $matrix_run" >&2; exit 1; }
  done
  log "swarm: matrix ok: $matrix_run"
  log "swarm: make swarm-down"
  SERVERS="rest binary" $MAKE --no-print-directory swarm-down
  swarm_used=
  left=$(docker service ls -q; docker network ls -q --filter label=com.docker.stack.namespace=protolab;
    docker volume ls -q --filter label=com.docker.stack.namespace=protolab)
  [[ -z $left ]] || { echo "e2e: swarm-down left: $left" >&2; exit 1; }
  if [[ -n $created_swarm && $(docker info --format '{{.Swarm.LocalNodeState}}') != inactive ]]; then
    echo "e2e: swarm-down left the swarm it made" >&2; exit 1
  fi
  log "swarm: ok"
fi
log "done"

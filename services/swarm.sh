#!/usr/bin/env bash
# The lab as a Docker Swarm stack (`make swarm-up`, `make swarm-down`, `make swarm-bench`).
#
#   services/swarm.sh up          a single-node swarm when none is active (remembered in
#                                 .swarm-created, so `down` leaves a swarm it did not
#                                 make); the stack file from compose.yaml (`loadgen stack`,
#                                 run from the loadgen image: .swarm-stack.yaml, SERVERS
#                                 only, SERVER_REPLICAS of each, and LOADGEN_WORKERS
#                                 generator workers, default none); `docker stack
#                                 deploy`; then waits until every replica is running
#                                 and every one with a healthcheck is healthy (at most
#                                 UP_TIMEOUT seconds, default 180)
#   services/swarm.sh down        removes the stack, waits until its containers and
#                                 network are gone, removes its volume, and leaves the
#                                 swarm when `up` made it
#   services/swarm.sh loadgen ARGS...
#                                 one loadgen container on the stack's (attachable)
#                                 network, as compose.yaml's loadgen service runs:
#                                 results/ and certs/ mounted, the Docker socket for the
#                                 controller, servers by their service names;
#                                 with LOADGEN_WORKERS, `bench` coordinates that many
#                                 workers (found at loadgen-worker:7070)
#
# Images come from `make images`; a stack deploy never builds (nor pulls: no registry
# is asked, `--resolve-image never`). Run from the repository root.
set -euo pipefail

STACK=${STACK:-protolab}
IMAGE_TAG=${IMAGE_TAG:-latest}
SERVER_REPLICAS=${SERVER_REPLICAS:-1}
UP_TIMEOUT=${UP_TIMEOUT:-180}
SERVERS=${SERVERS:-}
LOADGEN_WORKERS=${LOADGEN_WORKERS:-0}
STACK_FILE=.swarm-stack.yaml
MARKER=.swarm-created
export IMAGE_TAG

log() { printf '== swarm: %s\n' "$*"; }
die() { printf 'swarm: %s\n' "$*" >&2; exit 1; }
label="label=com.docker.stack.namespace=$STACK"

swarm_state() { docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown; }

up() {
  case $(swarm_state) in
    active) ;;
    inactive)
      docker swarm init --advertise-addr 127.0.0.1 >/dev/null
      touch "$MARKER"
      log "initialised a single-node swarm (make swarm-down leaves it again)"
      ;;
    *) die "this engine's swarm state is $(swarm_state): join or leave it first" ;;
  esac
  [[ $(docker info --format '{{.Swarm.ControlAvailable}}') == true ]] ||
    die "this node is a swarm worker: run make swarm-up on a manager"
  docker run --rm -i -e SERVER_REPLICAS="$SERVER_REPLICAS" -e LOADGEN_WORKERS="$LOADGEN_WORKERS" \
    "protolab/loadgen:$IMAGE_TAG" \
    stack --compose - --project-dir "$PWD" --servers "${SERVERS// /,}" \
    < compose.yaml > "$STACK_FILE.tmp"
  mv "$STACK_FILE.tmp" "$STACK_FILE"
  log "deploying stack $STACK: $SERVER_REPLICAS replica(s) of ${SERVERS:-every server}, $LOADGEN_WORKERS generator worker(s)"
  docker stack deploy --resolve-image never --prune -c "$STACK_FILE" "$STACK"
  wait_ready
}

# Until every service has its replicas running and every container with a
# healthcheck is healthy (the generator's workers have none: they wait for a
# coordinator, which checks each one as it joins).
wait_ready() {
  local began=$SECONDS pending
  while :; do
    pending=$(docker service ls --filter "$label" --format '{{.Name}} {{.Replicas}}' |
      awk '{split($2, r, "/"); if (r[1] != r[2] || r[2] == 0) print $1 " " $2}')
    if [[ -z $pending ]]; then
      pending=$(docker ps --filter "$label" --format '{{.Names}} {{.Status}}' |
        grep -E '\((health: starting|unhealthy)\)' || true)
    fi
    [[ -z $pending ]] && break
    if ((SECONDS - began > UP_TIMEOUT)); then
      docker stack ps --no-trunc "$STACK" >&2 || true
      die "not ready after ${UP_TIMEOUT}s: $pending"
    fi
    sleep 2
  done
  log "ready in $((SECONDS - began)) s: $(docker ps --filter "$label" --format '{{.Names}}' | wc -l) container(s)"
}

down() {
  if [[ $(swarm_state) == active ]] && docker stack ls --format '{{.Name}}' | grep -qx "$STACK"; then
    docker stack rm "$STACK" >/dev/null
    local began=$SECONDS
    # stack rm returns at once; its containers and network go in the background.
    while [[ -n $(docker ps -aq --filter "$label") || -n $(docker network ls -q --filter "$label") ]]; do
      ((SECONDS - began < 120)) || die "stack $STACK still has containers or networks after 120 s"
      sleep 1
    done
    log "stack $STACK removed"
  fi
  local volumes
  volumes=$(docker volume ls -q --filter "$label")
  [[ -z $volumes ]] || docker volume rm $volumes >/dev/null
  rm -f "$STACK_FILE"
  if [[ -f $MARKER ]]; then
    docker swarm leave --force >/dev/null
    rm -f "$MARKER"
    log "left the swarm make swarm-up made"
  fi
}

loadgen() {
  mkdir -p results
  docker run --rm --network "${STACK}_lab" \
    --user "$(id -u):$(id -g)" --group-add "$(stat -c %g /var/run/docker.sock)" \
    --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges:true \
    -v /var/run/docker.sock:/var/run/docker.sock \
    -v "$PWD/results:/results" -v "$PWD/certs:/certs:ro" \
    -e LOADGEN_HOST=compose -e LOADGEN_OUT=/results -e COMPOSE_PROJECT_NAME="$STACK" \
    -e TLS_CA=/certs/ca.crt -e TLS_CLIENT_CERT=/certs/client.crt -e TLS_CLIENT_KEY=/certs/client.key \
    -e PROTOLAB_COMMIT -e RUST_LOG -e LOADGEN_WORKERS -e LOADGEN_WORKER_ADDR \
    "protolab/loadgen:$IMAGE_TAG" "$@"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  loadgen) shift; loadgen "$@" ;;
  *) die "usage: $0 up | down | loadgen ARGS..." ;;
esac

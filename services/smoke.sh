#!/usr/bin/env bash
# Checks on a running compose lab, from the host.
#
#   services/smoke.sh wait  [SERVER...]   until every server's container is healthy
#                                         (at most UP_TIMEOUT seconds, default 180); one
#                                         Docker still calls `starting` counts when its
#                                         healthcheck, run here, passes (compose.yaml runs
#                                         it every 30 s, the first time 30 s after start)
#   services/smoke.sh check [SERVER...]   every server healthy, the seed finished with 0,
#                                         and rest's GET /items/42 answers through the
#                                         ports published on 127.0.0.1 (plain and TLS)
#
# Containers are found by compose's labels (project COMPOSE_PROJECT_NAME, default
# protolab), so this works with `docker compose` and `docker-compose` alike.
# Default SERVER list: every server container of the project.
set -euo pipefail

PROJECT=${COMPOSE_PROJECT_NAME:-protolab}
UP_TIMEOUT=${UP_TIMEOUT:-180}
CERTS=${CERTS:-certs}
REST_PORT=${REST_PORT:-8000}
REST_TLS_PORT=${REST_TLS_PORT:-8440}

die() { printf 'smoke: %s\n' "$*" >&2; exit 1; }

# container id of a compose service (the first one), or nothing.
container_of() {
  docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" \
    --filter "label=com.docker.compose.service=$1" | head -n1
}

# health of a service's container: healthy, starting, unhealthy, exited(N), missing, ...
health_of() {
  local id
  id=$(container_of "$1")
  [[ -n $id ]] || { echo missing; return; }
  docker inspect -f '{{if eq .State.Status "running"}}{{if .State.Health}}{{.State.Health.Status}}{{else}}no-healthcheck{{end}}{{else}}{{.State.Status}}({{.State.ExitCode}}){{end}}' "$id"
}

# The servers to look at: the arguments, else every non-seed, non-loadgen service.
servers() {
  if (($#)); then printf '%s\n' "$@"; return; fi
  docker ps -a --filter "label=com.docker.compose.project=$PROJECT" \
    --format '{{.Label "com.docker.compose.service"}}' | grep -vxE 'seed|loadgen' | sort -u
}

# Runs a service's healthcheck command now (exec form, as the images have no shell).
check_now() {
  local id cmd=()
  id=$(container_of "$1")
  [[ -n $id ]] || return 1
  mapfile -t cmd < <(docker inspect -f '{{range .Config.Healthcheck.Test}}{{println .}}{{end}}' "$id" | grep -v '^$')
  ((${#cmd[@]} > 1)) && [[ ${cmd[0]} == CMD ]] || return 1
  docker exec "$id" "${cmd[@]:1}" >/dev/null 2>&1
}

# Services whose healthcheck passed when run by check_now.
declare -A checked=()

report() {
  local s st
  for s in "$@"; do
    st=$(health_of "$s")
    if [[ $st == starting && -n ${checked[$s]:-} ]]; then
      st="starting; its healthcheck passes when run now"
    fi
    printf '  %-10s %s\n' "$s" "$st"
  done
}

# Why a server is not healthy: its last health probe and log lines.
explain() {
  local s=$1 id
  id=$(container_of "$s")
  [[ -n $id ]] || return 0
  echo "--- $s: last health probe" >&2
  docker inspect -f '{{if .State.Health}}{{range .State.Health.Log}}{{.ExitCode}}: {{.Output}}{{end}}{{end}}' "$id" | tail -n 3 >&2
  echo "--- $s: last log lines" >&2
  docker logs --tail 20 "$id" 2>&1 | sed 's/^/    /' >&2
}

cmd_wait() {
  local list deadline s st pending
  mapfile -t list < <(servers "$@")
  ((${#list[@]})) || die "no server containers in project '$PROJECT' (is the lab up?)"
  deadline=$((SECONDS + UP_TIMEOUT))
  printf '== waiting up to %ss for %s to be healthy\n' "$UP_TIMEOUT" "${list[*]}"
  while :; do
    pending=()
    for s in "${list[@]}"; do
      st=$(health_of "$s")
      case $st in
        healthy) ;;
        starting) if check_now "$s"; then checked[$s]=1; else pending+=("$s"); fi ;;
        *)
          report "${list[@]}"
          explain "$s"
          die "$s is $st"
          ;;
      esac
    done
    if ((${#pending[@]} == 0)); then
      report "${list[@]}"
      echo "== healthy after $((SECONDS)) s: ${list[*]}"
      return 0
    fi
    if ((SECONDS >= deadline)); then
      report "${list[@]}"
      for s in "${pending[@]}"; do explain "$s"; done
      die "not healthy within ${UP_TIMEOUT}s: ${pending[*]} (UP_TIMEOUT=... to wait longer)"
    fi
    sleep 1
  done
}

cmd_check() {
  local list s body seed_state
  mapfile -t list < <(servers "$@")
  UP_TIMEOUT=${SMOKE_TIMEOUT:-30} cmd_wait "${list[@]}"
  seed_state=$(health_of seed)
  [[ $seed_state == "exited(0)" ]] || die "seed is $seed_state, expected exited(0)"
  echo "  seed       $seed_state"
  if printf '%s\n' "${list[@]}" | grep -qx rest; then
    body=$(curl -fsS --max-time 5 "http://127.0.0.1:$REST_PORT/items/42") ||
      die "GET http://127.0.0.1:$REST_PORT/items/42 failed"
    grep -Eq '"id": *42[,}]' <<<"$body" || die "GET /items/42 answered something else: $body"
    echo "== GET http://127.0.0.1:$REST_PORT/items/42 -> $body"
    if [[ -f $CERTS/ca.crt ]]; then
      body=$(curl -fsS --max-time 5 --cacert "$CERTS/ca.crt" "https://127.0.0.1:$REST_TLS_PORT/items/42") ||
        die "GET https://127.0.0.1:$REST_TLS_PORT/items/42 failed"
      grep -Eq '"id": *42[,}]' <<<"$body" || die "TLS GET /items/42 answered something else: $body"
      echo "== GET https://127.0.0.1:$REST_TLS_PORT/items/42 (TLS 1.3, lab CA) -> ok"
    fi
  else
    echo "== rest not in the lab; no HTTP check"
  fi
  echo "== smoke: ok"
}

command -v docker >/dev/null || die "docker not found"
case ${1:-check} in
  wait) shift; cmd_wait "$@" ;;
  check) shift || true; cmd_check "$@" ;;
  *) die "usage: $0 wait|check [SERVER...]" ;;
esac

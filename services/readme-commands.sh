#!/usr/bin/env bash
# Proves that the compose commands README.md documents work as written, from a shell,
# in a checkout whose folder is not named protolab (part of `make e2e`):
#
#   1. copies the repository (its tracked and untracked, not ignored, files: what a
#      fresh clone plus your edits holds; no .env, certs, vendor/ or target/) into
#      $README_COPY_DIR (default: a temporary folder), in a folder named readme-check;
#   2. runs `make up` there (the images already exist; it writes certs/ and .env);
#   3. runs every line of every README block marked `<!-- ci: compose-commands -->`,
#      in order, from the copy's root, with `bash -c` and none of the Makefile's
#      variables (COMPOSE_PROJECT_NAME, HOST_UID, DOCKER_GID, ...) in the environment:
#      only what compose reads by itself. Each line runs with every compose tool
#      present: as written with `docker compose` (v2), and with `docker-compose`
#      (1.29) in place of `docker compose`, as the README says;
#   4. a command still running after README_COMMAND_LIMIT seconds (default 90; the
#      README's full-suite benchmark runs for hours) passes when it has printed
#      output and not failed: it is stopped, its one-off container removed;
#   5. a `run` whose only complaint is an INVALID case (the generator could not vouch
#      for its numbers: a busy machine) worked as written; it passes with a warning.
#      A failed case (wrong answers, no connection) or any other error fails.
#
# The lab is left up, from the copy; `make e2e` takes it down. Run from the repository root.
set -euo pipefail

README=${README:-README.md}
MARKER='<!-- ci: compose-commands'
LIMIT=${README_COMMAND_LIMIT:-90}
MAKE=${MAKE:-make}
began=$SECONDS

log() { printf '== readme [%4ss]: %s\n' "$((SECONDS - began))" "$*"; }
die() { printf 'readme-commands: %s\n' "$*" >&2; exit 1; }

# The command lines of the marked blocks: the fenced block after each marker.
extract() {
  awk -v marker="$MARKER" '
    index($0, marker) == 1 { armed = 1; next }
    armed && /^```/ && !inside { inside = 1; next }
    inside && /^```/ { inside = 0; armed = 0; next }
    inside && $0 !~ /^[[:space:]]*(#|$)/ { print }
  ' "$1"
}

# The repository's files as a fresh clone (plus uncommitted edits) has them.
copy_repo() {
  local dest=$1
  mkdir -p "$dest"
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard |
      xargs -0 -I{} sh -c '[ -e "$1" ] && printf "%s\0" "$1" || true' _ {} |
      tar --null -T - -c | tar -x -C "$dest"
  else
    tar -c --exclude=./target --exclude=./vendor --exclude=./.env --exclude='./certs/*.crt' \
      --exclude='./certs/*.key' --exclude='./results/*' . | tar -x -C "$dest"
  fi
}

# The compose tools present, as the words that replace `docker compose` in a line.
tools() {
  if docker compose version >/dev/null 2>&1; then echo "docker compose"; fi
  if command -v docker-compose >/dev/null; then echo "docker-compose"; fi
}

# Runs one line with a clean environment; passes on exit 0, or on still running at
# LIMIT seconds after printing something.
run_line() {
  local line=$1 out rc=0 pid waited=0
  out=$(mktemp)
  env -u COMPOSE_PROJECT_NAME -u IMAGE_TAG -u HOST_UID -u HOST_GID -u DOCKER_GID \
    -u PROTOLAB_COMMIT -u COMPOSE -u MAKEFLAGS -u MAKELEVEL -u MFLAGS \
    bash -c "$line" >"$out" 2>&1 </dev/null &
  pid=$!
  while kill -0 "$pid" 2>/dev/null && ((waited < LIMIT)); do
    sleep 1
    waited=$((waited + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    docker ps -aq --filter label=com.docker.compose.oneoff=True \
      --filter "label=com.docker.compose.project=protolab" | xargs -r docker rm -f >/dev/null
    tail -n 15 "$out" | sed 's/^/     | /'
    if [[ ! -s $out ]] || grep -qiE '^(error|thread .* panicked)' "$out"; then
      rm -f "$out"
      die "still running after ${LIMIT}s with no output, or with an error: $line"
    fi
    log "ok (still running after ${LIMIT}s, stopped): $line"
  else
    wait "$pid" || rc=$?
    tail -n 15 "$out" | sed 's/^/     | /'
    if ((rc != 0)) && grep -q 'INVALID (the generator cannot vouch for them)' "$out" &&
      ! grep -q 'case(s) failed' "$out"; then
      log "ok, with a warning: the generator marked a case INVALID (a busy machine): $line"
      rc=0
    fi
    if ((rc != 0)); then
      rm -f "$out"
      die "exit $rc: $line"
    fi
    log "ok ($((waited)) s): $line"
  fi
  rm -f "$out"
}

main() {
  [[ -f $README ]] || die "$README not found (run from the repository root)"
  local lines=() line tool copy root
  mapfile -t lines < <(extract "$README")
  ((${#lines[@]})) || die "no command in a block marked '$MARKER -->' in $README"
  mapfile -t tool_list < <(tools)
  ((${#tool_list[@]})) || die "neither 'docker compose' nor 'docker-compose' found"
  root=${README_COPY_DIR:-$(mktemp -d)}
  copy=$root/readme-check
  rm -rf "$copy"
  log "copying the repository to $copy"
  copy_repo "$copy"
  cd "$copy"
  log "make up (in the copy)"
  env -u COMPOSE_PROJECT_NAME -u HOST_UID -u HOST_GID -u DOCKER_GID -u COMPOSE \
    -u MAKEFLAGS -u MAKELEVEL -u MFLAGS "$MAKE" --no-print-directory up
  [[ -f .env ]] || die "make up wrote no .env"
  log "${#lines[@]} README command(s), with: ${tool_list[*]}"
  for tool in "${tool_list[@]}"; do
    for line in "${lines[@]}"; do
      line=${line//docker compose /$tool }
      log "$line"
      run_line "$line"
    done
  done
  log "every README compose command worked (${tool_list[*]}), from $copy"
}

main "$@"

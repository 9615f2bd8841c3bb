#!/usr/bin/env bash
# `make images` and `make vendor`: the lab's images, every phase timed.
#
#   services/images.sh            base images (when missing), vendor/, then the images
#   services/images.sh vendor     only vendor/
#
# Phases:
#   1. base images: only when BUILDER_IMAGE / RUNTIME_IMAGE are protolab's local
#      stand-ins and missing (services/base-images.sh; the engine keeps them, so every
#      clone on the machine shares them);
#   2. vendor/ (VENDORED=1): skipped when vendor/ was made from this very Cargo.lock
#      (its sha256 is kept beside it), whatever the files' dates say; crates that this
#      machine's target never builds (Windows, wasm) are cut down to stubs;
#   3. protolab/build: the whole workspace compiled once (services/Dockerfile
#      --target build; the repository is the context, sent to the engine once);
#   4. protolab/<server> for each of SERVERS, and protolab/loadgen: each binary on the
#      runtime image (services/server.Dockerfile, loadgen/Dockerfile), next to no
#      context, seconds each.
#
# Environment (the Makefile sets it): BUILDER_IMAGE, RUNTIME_IMAGE, IMAGE_TAG, SERVERS,
# VENDORED, CARGO_PACKAGES, DOCKER_BUILD_FLAGS, CARGO. Run from the repository root.
set -euo pipefail

IMAGE_TAG=${IMAGE_TAG:-latest}
VENDORED=${VENDORED:-1}
CARGO=${CARGO:-cargo}
CARGO_PACKAGES=${CARGO_PACKAGES:---workspace}
read -r -a build_flags <<<"${DOCKER_BUILD_FLAGS:-}"
began=$SECONDS
timings=()

log() { printf '== images: %s\n' "$*"; }
die() { printf 'images: %s\n' "$*" >&2; exit 1; }

# phase NAME COMMAND...: runs COMMAND, prints and records how long it took.
phase() {
  local name=$1 start=$SECONDS
  shift
  log "$name"
  "$@"
  timings+=("$(printf '%-22s %4d s' "$name" $((SECONDS - start)))")
  log "$name: done in $((SECONDS - start)) s"
}

# stamped COMMAND...: runs COMMAND with each line of its output (stderr included)
# prefixed by the seconds since it started, so the workspace build shows where Docker
# itself spends time (context, each step, each layer commit); keeps its exit status.
stamped() {
  local t0=$SECONDS
  "$@" 2>&1 | while IFS= read -r line; do printf '[%5ds] %s\n' $((SECONDS - t0)) "$line"; done
}

base_images() {
  local need=()
  case $BUILDER_IMAGE in protolab/builder:*) docker image inspect "$BUILDER_IMAGE" >/dev/null 2>&1 || need+=(builder) ;; esac
  case $RUNTIME_IMAGE in protolab/runtime:*) docker image inspect "$RUNTIME_IMAGE" >/dev/null 2>&1 || need+=(runtime) ;; esac
  ((${#need[@]})) || return 0
  phase "base images (${need[*]})" env BUILDER_TAG="$BUILDER_IMAGE" RUNTIME_TAG="$RUNTIME_IMAGE" \
    bash services/base-images.sh "${need[@]}"
}

lock_sum() { sha256sum Cargo.lock | cut -d' ' -f1; }

vendor_crates() {
  local stamp=vendor/.cargo-lock.sha256 sum
  sum=$(lock_sum)
  if [[ -f vendor/cargo-config.toml && -f $stamp && $(<"$stamp") == "$sum" ]]; then
    log "vendor/ matches Cargo.lock; kept"
    return 0
  fi
  mkdir -p target
  phase "vendor crates" sh -c "$CARGO vendor --locked vendor > target/cargo-vendor-config.tmp"
  mv target/cargo-vendor-config.tmp vendor/cargo-config.toml
  phase "stub foreign crates" stub_foreign_crates
  printf '%s\n' "$sum" >"$stamp"
}

# Cargo vendors every platform's crates; about half of vendor/ by size is Windows and
# wasm crates (winapi's import libraries alone are 100 MB) that a Linux build never
# compiles but the image build would still send and copy. Each crate that is not in
# the workspace's dependency tree for this machine's target is cut down to a stub, as
# cargo-vendor-filterer does: its manifest, an empty file at every path the manifest
# names, and a checksum file that lists no files (cargo then checks none).
stub_foreign_crates() {
  local triple needed dir name version package kept=0 stubbed=0 freed
  triple=$(rustc -vV | sed -n 's/^host: //p')
  needed=$("$CARGO" tree --offline --locked --workspace --target "$triple" -e normal,build,dev \
    --prefix none -f '{p}' | sed 's/ (\*)$//; s/ (.*)$//' | sort -u)
  [[ -n $needed ]] || die "cargo tree listed no dependencies for $triple"
  freed=$(du -sm vendor | cut -f1)
  for dir in vendor/*/; do
    dir=${dir%/}
    [[ -f $dir/Cargo.toml ]] || continue
    name=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$dir/Cargo.toml" | head -n1)
    version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$dir/Cargo.toml" | head -n1)
    if grep -qxF "$name v$version" <<<"$needed"; then
      kept=$((kept + 1))
      continue
    fi
    package=$(sed -n 's/.*"package":"\([0-9a-f]*\)".*/\1/p' "$dir/.cargo-checksum.json")
    find "$dir" -mindepth 1 -maxdepth 1 ! -name Cargo.toml -exec rm -rf {} +
    mkdir -p "$dir/src"
    : >"$dir/src/lib.rs"
    sed -n 's/^\(path\|build\) = "\(.*\.rs\)"$/\2/p' "$dir/Cargo.toml" | while read -r path; do
      mkdir -p "$dir/$(dirname "$path")"
      : >"$dir/$path"
    done
    printf '{"files":{},"package":"%s"}' "$package" >"$dir/.cargo-checksum.json"
    stubbed=$((stubbed + 1))
  done
  freed=$((freed - $(du -sm vendor | cut -f1)))
  log "vendor/: $kept crates kept, $stubbed stubbed (not built for $triple), $freed MB freed"
}

build_images() {
  local s
  : "${BUILDER_IMAGE:?}" "${RUNTIME_IMAGE:?}" "${SERVERS:?}"
  log "builder $BUILDER_IMAGE, runtime $RUNTIME_IMAGE, servers: $SERVERS"
  phase "workspace build" stamped docker build "${build_flags[@]}" -f services/Dockerfile --target build \
    --build-arg "BUILDER_IMAGE=$BUILDER_IMAGE" --build-arg "VENDORED=$VENDORED" \
    --build-arg "CARGO_PACKAGES=$CARGO_PACKAGES" -t "protolab/build:$IMAGE_TAG" .
  # Every image to come takes its binary from /out of the build image: fail here,
  # clearly, when one is missing (CARGO_PACKAGES left it out, say).
  built=$(docker run --rm "protolab/build:$IMAGE_TAG" ls /out | tr '\n' ' ')
  for s in $SERVERS loadgen; do
    [[ " $built " == *" $s "* ]] || die "protolab/build:$IMAGE_TAG has no $s binary (built: $built)"
  done
  for s in $SERVERS; do
    phase "image $s" docker build "${build_flags[@]}" --build-arg "BUILD_IMAGE=protolab/build:$IMAGE_TAG" \
      --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" --build-arg "SERVICE=$s" \
      -f services/server.Dockerfile -t "protolab/$s:$IMAGE_TAG" services
  done
  phase "image loadgen" docker build "${build_flags[@]}" --build-arg "BUILD_IMAGE=protolab/build:$IMAGE_TAG" \
    --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" -t "protolab/loadgen:$IMAGE_TAG" loadgen
}

summary() {
  local t
  docker image ls --filter reference='protolab/*' --format 'table {{.Repository}}:{{.Tag}}\t{{.Size}}\t{{.CreatedSince}}'
  log "timings"
  for t in "${timings[@]}"; do printf '     %s\n' "$t"; done
  log "total $((SECONDS - began)) s"
}

case ${1:-all} in
  vendor) vendor_crates ;;
  all)
    command -v docker >/dev/null || die "docker not found"
    base_images
    if [[ $VENDORED == 1 ]]; then vendor_crates; fi
    build_images
    summary
    ;;
  *) die "usage: $0 [all|vendor]" ;;
esac

#!/usr/bin/env bash
# Assembles the lab's two base images from what this machine has, for hosts that
# cannot reach a container registry (DESIGN.md, "Containers"):
#
#   protolab/builder:bookworm    Debian bookworm (debootstrap, minbase) with gcc, libc6-dev,
#                                make, pkg-config, CA certificates and this machine's active
#                                Rust toolchain: the stand-in for rust:1-bookworm.
#   protolab/runtime:distroless  files only: glibc, libgcc_s, CA certificates, /etc/passwd
#                                with nonroot (65532), /tmp, /home/nonroot; no shell, no
#                                package manager: the stand-in for distroless/cc-debian12:nonroot.
#
# Both come from the same debootstrap tree, so the runtime's glibc is the one the
# builder links against. An image that already exists is left alone (idempotent);
# the debootstrap tree is kept in $BASE_IMAGES_DIR for the next run (safe to delete).
#
# Usage: services/base-images.sh [builder] [runtime]     (default: both)
set -euo pipefail

BUILDER_TAG=${BUILDER_TAG:-protolab/builder:bookworm}
RUNTIME_TAG=${RUNTIME_TAG:-protolab/runtime:distroless}
SUITE=bookworm
WORK=${BASE_IMAGES_DIR:-/var/tmp/protolab-base-images}
ROOTFS=$WORK/rootfs-$SUITE
# What the builder's compiler needs beyond minbase; the runtime takes its files from here too.
INCLUDE=gcc,libc6-dev,make,ca-certificates,pkg-config
# distroless's nonroot user and group.
NONROOT_ID=65532
# rust:1-bookworm's layout, so Dockerfiles behave the same on either builder.
RUSTUP_HOME_IN=/usr/local/rustup
CARGO_HOME_IN=/usr/local/cargo
STD_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { printf '== base-images: %s\n' "$*" >&2; }
die() { printf 'base-images: %s\n' "$*" >&2; exit 1; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# The Debian mirror apt already uses for $SUITE (one-line or deb822 sources), so no
# host name is written here.
debian_mirror() {
  local files=() f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    if [[ -f $f ]]; then files+=("$f"); fi
  done
  ((${#files[@]})) || return 0
  awk -v suite="$SUITE" '
    function flush() { if (deb && ok && uri != "") { print uri; found = 1; exit } uri = ""; ok = 0; deb = 0 }
    FNR == 1 { flush() }
    /^[[:space:]]*#/ { next }
    /^deb[[:space:]]/ {
      sub(/\[[^]]*\][[:space:]]*/, "")
      if ($3 == suite) { print $2; found = 1; exit }
      next
    }
    /^Types:/  { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
    /^URIs:/   { uri = $2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
    /^[[:space:]]*$/ { flush() }
    END { if (!found) flush() }
  ' "${files[@]}" | head -n1
}

ensure_debootstrap() {
  command -v debootstrap >/dev/null && return
  log "installing debootstrap (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends debootstrap
}

# The bookworm tree both images are cut from; reused when a previous run finished it.
ensure_rootfs() {
  [[ -f $ROOTFS/.protolab-complete ]] && return
  ensure_debootstrap
  local mirror
  mirror=$(debian_mirror)
  [[ -n $mirror ]] || die "no apt source for $SUITE in /etc/apt/sources.list*; cannot debootstrap"
  log "debootstrap --variant=minbase $SUITE into $ROOTFS (mirror from apt's sources)"
  rm -rf "$ROOTFS"
  mkdir -p "$WORK"
  debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$ROOTFS" "$mirror" >&2
  # apt inside the tree would need its lists again; the downloaded .debs are dead weight.
  rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
  touch "$ROOTFS/.protolab-complete"
}

# The active toolchain (respects rustup overrides), minus docs and rust-src.
toolchain_dir() {
  local sysroot
  sysroot=$(rustc --print sysroot 2>/dev/null) || die "rustc not found: the builder copies this machine's Rust toolchain"
  [[ -x $sysroot/bin/cargo && -x $sysroot/bin/rustc ]] || die "$sysroot has no cargo/rustc"
  printf '%s\n' "$sysroot"
}

build_builder() {
  local sysroot name stage
  sysroot=$(toolchain_dir)
  name=$(basename "$sysroot")
  stage=$WORK/builder-stage
  rm -rf "$stage"
  mkdir -p "$stage$RUSTUP_HOME_IN/toolchains/$name" "$stage$CARGO_HOME_IN/bin"
  log "copying toolchain $name ($("$sysroot/bin/rustc" --version))"
  tar -C "$sysroot" -c \
    --exclude=./share/doc --exclude=./share/man --exclude=./share/zsh \
    --exclude=./lib/rustlib/src --exclude=./lib/rustlib/rustc-src \
    --exclude='./bin/rust-gdb*' --exclude=./bin/rust-lldb \
    . | tar -C "$stage$RUSTUP_HOME_IN/toolchains/$name" -x
  local tool
  for tool in cargo rustc rustdoc rustfmt cargo-fmt cargo-clippy clippy-driver; do
    if [[ -e $stage$RUSTUP_HOME_IN/toolchains/$name/bin/$tool ]]; then
      ln -s "$RUSTUP_HOME_IN/toolchains/$name/bin/$tool" "$stage$CARGO_HOME_IN/bin/$tool"
    fi
  done
  log "importing $BUILDER_TAG"
  # One tarball: the bookworm tree, then the toolchain under /usr/local.
  tar -c --numeric-owner \
    --exclude=./.protolab-complete --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
    --exclude='./usr/share/doc/*' --exclude='./usr/share/man/*' --exclude='./usr/share/info/*' \
    --exclude='./usr/share/locale/*' --exclude='./var/log/*' \
    -C "$ROOTFS" . \
    -C "$stage" ".$RUSTUP_HOME_IN" ".$CARGO_HOME_IN" |
    docker import \
      --change "ENV PATH=$CARGO_HOME_IN/bin:$STD_PATH" \
      --change "ENV CARGO_HOME=$CARGO_HOME_IN" \
      --change "ENV RUSTUP_HOME=$RUSTUP_HOME_IN" \
      --change 'CMD ["bash"]' \
      --message "protolab builder: debootstrap $SUITE + $name" \
      - "$BUILDER_TAG" >/dev/null
  rm -rf "$stage"
  docker run --rm "$BUILDER_TAG" sh -c 'cargo --version && rustc --version && cc --version | head -n1' >&2
}

# Copies rootfs path $1 (following symlinks) to the same path under $2.
copy_from_rootfs() {
  local src=$ROOTFS$1 dest=$2$1
  [[ -e $src ]] || die "missing in the $SUITE tree: $1"
  mkdir -p "$(dirname "$dest")"
  cp -L --preserve=mode "$src" "$dest"
}

build_runtime() {
  local stage=$WORK/runtime-stage lib=/usr/lib/x86_64-linux-gnu f
  rm -rf "$stage"
  mkdir -p "$stage"
  # bookworm is merged-/usr: /lib and /lib64 are links into /usr, as in distroless.
  mkdir -p "$stage$lib" "$stage/usr/lib64" "$stage/etc/ssl/certs" "$stage/tmp" \
    "$stage/home/nonroot" "$stage/root" "$stage/bin" "$stage/sbin"
  ln -s usr/lib "$stage/lib"
  ln -s usr/lib64 "$stage/lib64"
  ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$stage/usr/lib64/ld-linux-x86-64.so.2"
  # glibc (the dynamic loader and the libraries a Rust binary links) and libgcc_s
  # (unwinding). NSS files/dns are built into libc.so.6 since glibc 2.34.
  for f in ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libdl.so.2 librt.so.1 libpthread.so.0 \
    libgcc_s.so.1; do
    copy_from_rootfs "$lib/$f" "$stage"
  done
  copy_from_rootfs /etc/ssl/certs/ca-certificates.crt "$stage"
  copy_from_rootfs /etc/os-release "$stage"
  mv "$stage/etc/os-release" "$stage/usr/lib/os-release"
  ln -s ../usr/lib/os-release "$stage/etc/os-release"
  cat >"$stage/etc/passwd" <<EOF
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:$NONROOT_ID:$NONROOT_ID:nonroot:/home/nonroot:/sbin/nologin
EOF
  cat >"$stage/etc/group" <<EOF
root:x:0:
nogroup:x:65534:
nonroot:x:$NONROOT_ID:
EOF
  printf 'hosts: files dns\nnetworks: files\n' >"$stage/etc/nsswitch.conf"
  chmod 1777 "$stage/tmp"
  chmod 700 "$stage/root" "$stage/home/nonroot"
  chown "$NONROOT_ID:$NONROOT_ID" "$stage/home/nonroot"
  log "importing $RUNTIME_TAG"
  tar -C "$stage" -c --numeric-owner . | docker import \
    --change "USER $NONROOT_ID:$NONROOT_ID" \
    --change "WORKDIR /home/nonroot" \
    --change "ENV PATH=$STD_PATH" \
    --change "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" \
    --message "protolab runtime: glibc + libgcc_s + CA certificates from $SUITE (distroless/cc-like)" \
    - "$RUNTIME_TAG" >/dev/null
  rm -rf "$stage"
}

main() {
  local want=("$@")
  ((${#want[@]})) || want=(builder runtime)
  command -v docker >/dev/null || die "docker not found"
  local w
  for w in "${want[@]}"; do
    case $w in
      builder)
        if have_image "$BUILDER_TAG"; then log "$BUILDER_TAG exists; skipped"; continue; fi
        ensure_rootfs
        build_builder
        ;;
      runtime)
        if have_image "$RUNTIME_TAG"; then log "$RUNTIME_TAG exists; skipped"; continue; fi
        ensure_rootfs
        build_runtime
        ;;
      *) die "unknown image '$w' (builder | runtime)" ;;
    esac
  done
  docker image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | grep -E "^(${BUILDER_TAG}|${RUNTIME_TAG})  " >&2 || true
}

main "$@"

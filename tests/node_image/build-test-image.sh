#!/usr/bin/env bash
# Builds localhost/kinc-node-test:latest, the node image under test: files/image's own rootfs and set-up
# on a Debian trixie systemd base (debootstrap, no registry), with stand-ins for the Kubernetes and CRI-O
# binaries (tests/node_image/standins). Saved to $KINC_CACHE/kinc-node-test.tar for loading into test
# hosts. Cached: the base is rebuilt only when its package list changes, the image only when an input does.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../tooling/lib.sh
. "$HERE/../tooling/lib.sh"

IMAGE=localhost/kinc-node-test:latest
IMAGE_DIR=$KINC_REPO/files/image
ARCHIVE=$KINC_CACHE/kinc-node-test.tar
# skopeo: kinc_image loads images into the node's containers-storage with it, as in the real node image
# (netavark stands for the virtual container-network-stack its dependency needs; debootstrap resolves no virtuals).
PACKAGES=systemd,systemd-sysv,dbus,jq,iproute2,procps,skopeo,netavark

base_key=$(echo "$PACKAGES" | sha256sum | cut -c1-12)
base_image=localhost/kinc-node-test-base:$base_key
key=$( (echo "$base_key"; cd "$KINC_REPO" && find files/image tests/node_image/standins tests/node_image/kinc-test-init \
  tests/node_image/Containerfile.test -type f | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -c1-12)

mkdir -p "$KINC_CACHE"
# One build at a time (pytest-xdist workers, other helpers' test sessions).
exec 9>"$KINC_CACHE/kinc-node-test.lock"
flock 9
# Also tagged by its key: test sessions of other checkouts on this machine may move :latest meanwhile, and
# the tests (conftest.py) use the keyed tag this script prints last.
keyed=localhost/kinc-node-test:$key
if [ "$(podman image inspect --format '{{index .Labels "io.kinc.node-test-key"}}' "$keyed" 2>/dev/null)" = "$key" ]; then
  log "node test image $keyed is current"
  podman tag "$keyed" "$IMAGE"
  [ -f "$ARCHIVE" ] || podman save -q -o "$ARCHIVE" "$IMAGE"
  echo "$keyed"
  exit 0
fi

if ! podman image exists "$base_image"; then
  base_archive=$KINC_CACHE/node-test-base-$base_key.tar.zst
  if [ -f "$base_archive" ]; then
    log "loading the cached node test base $base_archive"
    zstd -dcq "$base_archive" | podman load -q >/dev/null
  else
    root=$KINC_CACHE/node-test-rootfs
    rm -rf "$root"
    log "debootstrap trixie into $root (about a minute)"
    debootstrap --variant=minbase --include="$PACKAGES" trixie "$root" >"$KINC_CACHE/node-test-debootstrap.log" 2>&1 \
      || { tail -20 "$KINC_CACHE/node-test-debootstrap.log"; exit 1; }
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
    tar -C "$root" --numeric-owner -cf - . | podman import -q - "$base_image" >/dev/null
    rm -rf "$root" "$KINC_CACHE"/node-test-base-*.tar.zst
    podman save "$base_image" | zstd -q -T0 > "$base_archive"
  fi
fi

previous=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp -a "$IMAGE_DIR/rootfs" "$IMAGE_DIR/README.md" "$HERE/standins" "$HERE/kinc-test-init" "$context/"
log "building $IMAGE ($key)"
podman build -q --pull=never --layers=false --build-arg "BASE_IMAGE=$base_image" --label "io.kinc.node-test-key=$key" \
  -f "$HERE/Containerfile.test" -t "$IMAGE" -t "$keyed" "$context" >/dev/null
# The image the tag left behind is now unused unless another tag (another checkout's key) still holds it.
[ -z "$previous" ] || podman rmi "$previous" >/dev/null 2>&1 || true
rm -f "$ARCHIVE"
podman save -q -o "$ARCHIVE" "$IMAGE"
log "node test image ready ($(du -h "$ARCHIVE" | cut -f1))"
echo "$keyed"

#!/usr/bin/env bash
# Builds localhost/kinc-node-test:latest, the node image under test: files/image's own rootfs and set-up
# on a Debian trixie systemd base (debootstrap, no registry), with the real container runtime (CRI-O and
# crictl from upstream source by build-runtime.sh; conmon, crun, CNI plugins from Debian) and stand-ins for
# the Kubernetes binaries and the pause image (tests/node_image/standins, pause/). Saved to
# $KINC_CACHE/kinc-node-test.tar for loading into test hosts. Cached: the base is rebuilt only when its
# package list changes, the image only when an input does.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../tooling/lib.sh
. "$HERE/../tooling/lib.sh"

IMAGE=localhost/kinc-node-test:latest
IMAGE_DIR=$KINC_REPO/files/image
ARCHIVE=$KINC_CACHE/kinc-node-test.tar
# skopeo: kinc_image loads images into the node's containers-storage with it, as in the real node image
# (netavark stands for the virtual container-network-stack its dependency needs; debootstrap resolves no virtuals).
# conmon, crun, the CNI plugins (ptp, host-local, loopback), iptables and the libraries of the CRI-O
# built here: the rest of the node's runtime.
PACKAGES=systemd,systemd-sysv,dbus,jq,iproute2,procps,skopeo,netavark,conmon,crun,containernetworking-plugins,iptables,libseccomp2,libsqlite3-0

base_key=$(echo "$PACKAGES" | sha256sum | cut -c1-12)
base_image=localhost/kinc-node-test-base:$base_key
runtime=$(bash "$HERE/build-runtime.sh" | tail -n 1)
key=$( (echo "$base_key"; basename "$runtime"; cd "$KINC_REPO" && find files/image tests/node_image/standins \
  tests/node_image/kinc-test-init tests/node_image/Containerfile.test tests/node_image/pause \
  tests/node_image/fixtures/cri-o/10-crio.conf -type f | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -c1-12)

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
cp -a "$IMAGE_DIR/rootfs" "$IMAGE_DIR/README.md" "$HERE/standins" "$HERE/kinc-test-init" \
  "$HERE/fixtures/cri-o/10-crio.conf" "$context/"
mkdir -p "$context/runtime" "$context/pause-root"
cp "$runtime/crio" "$runtime/pinns" "$runtime/crictl" "$runtime/crio.service" "$context/runtime/"
# The pause stand-in as an image archive; the build stores it under the pause image name CRI-O is configured with.
gcc -Os -static -o "$context/pause-root/pause" "$HERE/pause/pause.c"
pause_image=localhost/kinc-pause-standin:$key
tar -C "$context/pause-root" -cf - pause | podman import -q --change 'ENTRYPOINT=["/pause"]' - "$pause_image" >/dev/null
podman save -q -o "$context/pause.tar" "$pause_image"
podman rmi "$pause_image" >/dev/null
log "building $IMAGE ($key)"
podman build -q --pull=never --layers=false --build-arg "BASE_IMAGE=$base_image" --label "io.kinc.node-test-key=$key" \
  -f "$HERE/Containerfile.test" -t "$IMAGE" -t "$keyed" "$context" >/dev/null
# The image the tag left behind is now unused unless another tag (another checkout's key) still holds it.
[ -z "$previous" ] || podman rmi "$previous" >/dev/null 2>&1 || true
rm -f "$ARCHIVE"
podman save -q -o "$ARCHIVE" "$IMAGE"
log "node test image ready ($(du -h "$ARCHIVE" | cut -f1))"
echo "$keyed"

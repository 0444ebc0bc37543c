#!/usr/bin/env bash
# Builds localhost/kinc-test-registry:latest, the stand-in for the upstream registry image (registry:3) that
# kinc's local registry runs: Debian trixie's docker-registry package (the same CNCF distribution registry),
# built offline with debootstrap, serving plain HTTP on port 5000 from /var/lib/registry like registry:3.
# Saved to $KINC_CACHE/kinc-test-registry.tar for loading into test hosts. Cached: rebuilt only when this
# script or its configuration changes.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/tooling/lib.sh
. "$HERE/lib.sh"

IMAGE=localhost/kinc-test-registry:latest
key=$(cat "$0" "$HERE/registry/config.yml" | sha256sum | cut -c1-12)
archive=$KINC_CACHE/kinc-test-registry-$key.tar

mkdir -p "$KINC_CACHE"
exec 9>"$KINC_CACHE/kinc-test-registry.lock"
flock 9
if [ "$(podman image inspect --format '{{index .Labels "io.kinc.test-registry-key"}}' "$IMAGE" 2>/dev/null)" = "$key" ]; then
  log "test registry image $IMAGE is current ($key)"
elif [ -f "$archive" ]; then
  log "loading the cached test registry image $archive"
  podman load -q -i "$archive" >/dev/null
else
  root=$KINC_CACHE/test-registry-rootfs
  rm -rf "$root"
  log "debootstrap trixie with docker-registry into $root (about a minute)"
  debootstrap --variant=minbase --include=docker-registry trixie "$root" >"$KINC_CACHE/test-registry-debootstrap.log" 2>&1 \
    || { tail -20 "$KINC_CACHE/test-registry-debootstrap.log"; exit 1; }
  install -D -m 644 "$HERE/registry/config.yml" "$root/etc/distribution/config.yml"
  mkdir -p "$root/var/lib/registry"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
  tar -C "$root" --numeric-owner -cf - . | podman import -q \
    --change 'ENTRYPOINT=["/usr/bin/docker-registry","serve","/etc/distribution/config.yml"]' \
    --change 'EXPOSE=5000' --change 'VOLUME=/var/lib/registry' \
    --change "LABEL=io.kinc.test-registry-key=$key" - "$IMAGE" >/dev/null
  rm -rf "$root" "$KINC_CACHE"/kinc-test-registry-*.tar
  podman save -q -o "$archive" "$IMAGE"
fi
echo "$IMAGE"

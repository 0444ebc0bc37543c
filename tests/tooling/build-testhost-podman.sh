#!/usr/bin/env bash
# A variant of the test host image (build-testhost.sh) with another Podman: the build of build-podman.sh
# (podman, quadlet, rootlessport) in place of Debian's at the distribution's paths, so that the systemd
# generator links of Debian's package run that version's Quadlet. Debian trixie's conmon, crun, netavark,
# aardvark-dns and passt stay. Cached: rebuilt when the base image, the Podman build or this script changes.
#   tests/tooling/build-testhost-podman.sh VERSION    prints the image name last
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/tooling/lib.sh
. "$HERE/lib.sh"

VERSION=${1:?usage: build-testhost-podman.sh <Podman version of podman-matrix.txt>}
image="${KINC_TESTHOST_IMAGE%:*}:podman-$VERSION"
build=$(bash "$HERE/build-podman.sh" "$VERSION" | tail -1)
base_key=$(podman image inspect --format '{{index .Labels "io.kinc.testhost-key"}}' "$KINC_TESTHOST_IMAGE")
key=$( (echo "$base_key $build"; cat "$0") | sha256sum | cut -c1-12)
if [ "$(podman image inspect --format '{{index .Labels "io.kinc.testhost-key"}}' "$image" 2>/dev/null)" = "$key" ]; then
  log "test host image $image is current ($key)"; echo "$image"; exit 0
fi
log "building $image: the test host with Podman $VERSION"
ctr=$(podman create "$KINC_TESTHOST_IMAGE")
trap 'podman rm -f "$ctr" >/dev/null' EXIT
podman cp "$build/bin/podman" "$ctr:/usr/bin/podman"
podman cp "$build/libexec/podman/quadlet" "$ctr:/usr/libexec/podman/quadlet"
podman cp "$build/libexec/podman/rootlessport" "$ctr:/usr/libexec/podman/rootlessport"
podman commit -q --change "LABEL=io.kinc.testhost-key=$key" --change "LABEL=io.kinc.podman-version=$VERSION" \
  "$ctr" "$image" >/dev/null
echo "$image"

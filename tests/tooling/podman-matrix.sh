#!/usr/bin/env bash
# Builds each Podman of podman-matrix.txt from upstream source (cached) and has its Quadlet generator check
# kinc's units (tests/unit/plugins/action/test_quadlet_of_each_podman.py).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/tooling/lib.sh
. "$HERE/lib.sh"
builds=()
while read -r version _; do
  case "$version" in ''|\#*) continue ;; esac
  dir=$(bash "$HERE/build-podman.sh" "$version" | tail -1) || { echo "Podman $version did not build" >&2; exit 1; }
  builds+=("$version=$dir")
done < "$HERE/podman-matrix.txt"
cd "$KINC_REPO" || exit 1
KINC_PODMAN_BUILDS="${builds[*]}" KINC_PODMAN_BUILDS_REQUIRED=1 \
  python -m pytest -q -p no:cacheprovider tests/unit/plugins/action/test_quadlet_of_each_podman.py

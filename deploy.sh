#!/usr/bin/env bash
# Deploys kinc on this machine: prepares the host (kinc.kinc.kinc_host) and converges the declared clusters
# (kinc.kinc.kinc_cluster) — one cluster named 'default' when no inventory is given.
#   ./deploy.sh                       default cluster on localhost (asks nothing when run as root or with password-less sudo)
#   ./deploy.sh -K                    ask for the sudo password used for host preparation
#   ./deploy.sh -i inventory.yml      the clusters declared in an inventory (see README.md)
# Any other ansible-playbook option is passed through.
#
# ansible-core >= 2.19 comes from, in this order: the PATH; this checkout's .venv from an earlier run; the
# distribution's ansible-core package where it is new enough (Debian 13, Fedora), after refreshing apt's lists
# when apt knows no ansible-core (fresh cloud and container images ship without lists); a new .venv with a
# maintained ansible-core. When none is possible it says which package to install, before changing anything.
# KINC_DEPLOY_DRY_RUN=1 prints the choice and stops there.
set -euo pipefail
REPO=$(cd "$(dirname "$0")" && pwd)
# The oldest ansible-core kinc is tested with (meta/runtime.yml): Debian 13's 2.19.
MIN_MINOR=19
# What a new virtualenv gets: the maintained ansible-core releases kinc is tested with; they need Python >= 3.12.
# Python 3.11 (Debian 12) runs at most 2.19, which is tested too but no longer maintained upstream.
VENV_CORE='ansible-core>=2.20,<2.22'
VENV_CORE_PY311='ansible-core>=2.19,<2.20'

# "2.19.4-1" (a package version, maybe with an epoch) or "ansible-playbook [core 2.19.4]" -> ok when >= 2.19.
version_ok() {
  local v
  v=$(printf '%s\n' "$1" | grep -oE '[0-9]+\.[0-9]+') || return 1
  v=${v%%$'\n'*}
  [ -n "$v" ] || return 1
  [ "${v%%.*}" -gt 2 ] || { [ "${v%%.*}" -eq 2 ] && [ "${v#*.}" -ge "$MIN_MINOR" ]; }
}
playbook_ok() { # PATH-OR-NAME
  local line
  line=$("$1" --version 2>/dev/null) || return 1
  line=${line%%$'\n'*}
  case "$line" in *"[core "*) version_ok "${line##*\[core }" ;; *) return 1 ;; esac
}

os_id=unknown; os_like=""; os_name="this system"
if [ -r /etc/os-release ]; then
  # shellcheck disable=SC1091
  os_id=$(. /etc/os-release && echo "${ID:-unknown}")
  # shellcheck disable=SC1091
  os_like=$(. /etc/os-release && echo "${ID_LIKE:-}")
  # shellcheck disable=SC1091
  os_name=$(. /etc/os-release && echo "${PRETTY_NAME:-$os_id}")
fi
family=other
case " $os_id $os_like " in
  *" debian "*|*" ubuntu "*) family=apt ;;
  *" fedora "*|*" rhel "*|*" centos "*) family=dnf ;;
esac

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
# Root, password-less sudo, or sudo that can ask for the password on this terminal.
can_install_packages() {
  [ "$(id -u)" -eq 0 ] && return 0
  command -v sudo >/dev/null 2>&1 || return 1
  sudo -n true 2>/dev/null || [ -t 0 ]
}
apt_refreshed=0

# The version the package manager would install, or "" when it has none.
package_candidate() {
  case "$family" in
    apt) apt-cache policy ansible-core 2>/dev/null | awk '/Candidate:/ { if ($2 != "(none)") print $2 }' ;;
    dnf) dnf -q repoquery --latest-limit 1 --queryformat '%{version}\n' ansible-core 2>/dev/null | head -1 ;;
  esac
}

venv_possible() { python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }
venv_core() {
  if python3 -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then echo "$VENV_CORE"
  else echo "$VENV_CORE_PY311"; fi
}

venv_package() { # the package that brings venv and ensurepip to this python3
  case "$family" in
    apt) python3 -c 'import sys; print("python3.%d-venv" % sys.version_info[1])' 2>/dev/null || echo python3-venv ;;
    dnf) echo python3 ;;
    *) echo "your distribution's python3 venv package" ;;
  esac
}

choose() {
  if command -v ansible-playbook >/dev/null 2>&1 && playbook_ok ansible-playbook; then
    echo "path $(command -v ansible-playbook)"; return
  fi
  if [ -x "$REPO/.venv/bin/ansible-playbook" ] && playbook_ok "$REPO/.venv/bin/ansible-playbook"; then
    echo "existing-venv $REPO/.venv"; return
  fi
  candidate=$(package_candidate || true)
  if [ -n "$candidate" ] && version_ok "$candidate" && can_install_packages; then
    echo "package $family ansible-core $candidate"; return
  fi
  # apt knows no ansible-core at all: its lists were never fetched (or are stale); refresh them, then choose again.
  if [ -z "$candidate" ] && [ "$family" = apt ] && [ "$apt_refreshed" = 0 ] && can_install_packages; then
    echo "apt-refresh apt-get update, then $os_name's ansible-core where it is >= 2.$MIN_MINOR, else a virtualenv"
    return
  fi
  if venv_possible; then
    echo "venv $REPO/.venv $(venv_core)"; return
  fi
  echo "none ${candidate:-no-package}"
}

refuse() { # CANDIDATE
  local fix
  case "$family" in
    apt)
      if [ "$1" = no-package ]; then
        fix="sudo apt-get update && sudo apt-get install ansible-core   (or: sudo apt-get install $(venv_package))"
      else
        fix="sudo apt-get install $(venv_package)   ($os_name's ansible-core $1 is older than 2.$MIN_MINOR)"
      fi ;;
    dnf) fix="sudo dnf install ansible-core" ;;
    *) fix="ansible-core >= 2.$MIN_MINOR from your distribution, or Python >= 3.11 with the venv module" ;;
  esac
  echo "kinc: deploy.sh needs ansible-core >= 2.$MIN_MINOR: none is on the PATH, none can be installed from" \
    "$os_name's packages, and python3 cannot create a virtualenv. Install it, then run ./deploy.sh again: $fix" >&2
  exit 1
}

read -r how detail rest < <(choose)
if [ "$how" = apt-refresh ] && [ "${KINC_DEPLOY_DRY_RUN:-0}" != 1 ]; then
  echo "kinc: apt knows no ansible-core: refreshing $os_name's package lists (apt-get update)" >&2
  ${as_root[@]+"${as_root[@]}"} apt-get update -q >&2 || echo "kinc: apt-get update failed; going on without it" >&2
  apt_refreshed=1
  read -r how detail rest < <(choose)
fi
if [ "${KINC_DEPLOY_DRY_RUN:-0}" = 1 ]; then
  echo "kinc: ansible-core from: $how $detail $rest"
  [ "$how" != none ] || refuse "$detail"
  exit 0
fi
case "$how" in
  path) ;;
  existing-venv) export PATH="$REPO/.venv/bin:$PATH" ;;
  package)
    echo "kinc: installing $os_name's ansible-core ${rest#ansible-core }" >&2
    case "$family" in
      apt) ${as_root[@]+"${as_root[@]}"} apt-get install -y --no-install-recommends ansible-core ;;
      dnf) ${as_root[@]+"${as_root[@]}"} dnf install -y ansible-core ;;
    esac ;;
  venv)
    echo "kinc: installing $rest into $REPO/.venv" >&2
    python3 -m venv "$REPO/.venv"
    "$REPO/.venv/bin/pip" install -q "$rest"
    export PATH="$REPO/.venv/bin:$PATH" ;;
  *) refuse "$detail" ;;
esac

# Use this checkout as the collection kinc.kinc.
mkdir -p "$REPO/.ansible/collections/ansible_collections/kinc"
ln -sfn ../../../.. "$REPO/.ansible/collections/ansible_collections/kinc/kinc"
export ANSIBLE_COLLECTIONS_PATH="$REPO/.ansible/collections:${ANSIBLE_COLLECTIONS_PATH:-$HOME/.ansible/collections:/usr/share/ansible/collections}"

# Without an inventory: this machine, with the Python that runs Ansible (discovery may find a broken one).
inventory=(-i 'localhost,' -c local -e 'ansible_python_interpreter={{ ansible_playbook_python }}')
for arg in "$@"; do
  case "$arg" in -i|--inventory|--inventory=*|-i*) inventory=() ;; esac
done
exec ansible-playbook "${inventory[@]}" "$REPO/playbooks/deploy.yml" "$@"

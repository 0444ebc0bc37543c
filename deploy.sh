#!/usr/bin/env bash
# Deploys kinc on this machine: prepares the host (kinc.kinc.kinc_host) and converges the declared clusters
# (kinc.kinc.kinc_cluster) — one cluster named 'default' when no inventory is given.
#   ./deploy.sh                       default cluster on localhost (asks nothing when run as root or with password-less sudo)
#   ./deploy.sh -K                    ask for the sudo password used for host preparation
#   ./deploy.sh -i inventory.yml      the clusters declared in an inventory (see README.md)
# Any other ansible-playbook option is passed through.
set -euo pipefail
REPO=$(cd "$(dirname "$0")" && pwd)

ansible_ok() {
  command -v ansible-playbook >/dev/null 2>&1 &&
    ansible-playbook --version 2>/dev/null | head -1 | grep -Eq 'core 2\.(1[6-9]|[2-9][0-9])\.'
}
if ! ansible_ok; then
  if [ ! -x "$REPO/.venv/bin/ansible-playbook" ]; then
    echo "kinc: installing ansible-core into $REPO/.venv" >&2
    python3 -m venv "$REPO/.venv"
    "$REPO/.venv/bin/pip" install -q 'ansible-core>=2.16,<2.20'
  fi
  export PATH="$REPO/.venv/bin:$PATH"
fi

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

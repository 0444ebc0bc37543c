# Shared helpers of kinc's benchmarks (bench/run.sh): booting test hosts, inventories, timing, podman call
# counting and the results record. Sourced, never run.
# shellcheck shell=bash
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/tooling/lib.sh
. "$BENCH/../tests/tooling/lib.sh"
RESULTS=${KINC_BENCH_RESULTS:-$BENCH/results}
NODE_ARCHIVE=${KINC_NODE_TEST_ARCHIVE:-$KINC_CACHE/kinc-node-test.tar}
HOST_PREFIX=kinc-tebench-host
# Where the in-host copies of Ansible (local connection mode) and of the collection live in a test host.
IN_HOST=/opt/kinc-bench
KINC_UID=1000
# The commit measured (with "+changes" when the work tree differs from it), taken once at the start.
KINC_BENCH_COMMIT=$(git -C "$KINC_REPO" rev-parse --short HEAD)
git -C "$KINC_REPO" diff --quiet HEAD -- . ':!bench/results' || KINC_BENCH_COMMIT+=+changes

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }

# Runs a command as the user kinc inside test host $1, with the environment of a login.
as_kinc() {
  local host=$1; shift
  podman exec -i -u kinc -e XDG_RUNTIME_DIR=/run/user/$KINC_UID -e HOME=/home/kinc -w /home/kinc "$host" "$@"
}

# podman-count.sh (first in PATH in every test host) logs each podman invocation; these read and reset it.
calls() { podman exec "$1" sh -c 'wc -l < /var/tmp/kinc-bench/podman-calls.log'; }
reset_calls() { podman exec "$1" sh -c ': > /var/tmp/kinc-bench/podman-calls.log'; }

remove_hosts() { # every benchmark test host
  local host
  for host in $(podman ps -a --format '{{.Names}}' | grep "^$HOST_PREFIX" || true); do
    podman rm -f -t0 "$host" >/dev/null 2>&1 || true
  done
}

# Boots test host $1 with the node test image loaded for the user kinc and the podman call counter installed.
# KINC_BENCH_INIT_DELAY (seconds, default 0) reaches every node it starts through the user's containers.conf:
# the stand-in kubeadm's init takes that long (tests/node_image/standins/kubeadm).
boot() {
  local host=$1
  podman rm -f -t0 "$host" >/dev/null 2>&1 || true
  podman run -d --name "$host" --hostname "$host" --privileged --systemd=always --cgroupns=private \
    "$KINC_TESTHOST_IMAGE" >/dev/null
  until podman exec "$host" systemctl is-system-running 2>/dev/null | grep -qE '^(running|degraded)$'; do sleep 0.25; done
  podman exec "$host" install -d -m 1777 /var/tmp/kinc-bench
  podman exec "$host" install -m 666 /dev/null /var/tmp/kinc-bench/podman-calls.log
  podman cp "$BENCH/podman-count.sh" "$host:/usr/local/bin/podman"
  podman cp "$BENCH/bare.sh" "$host:/usr/local/bin/kinc-bench-bare"
  podman cp "$NODE_ARCHIVE" "$host:/var/tmp/kinc-bench/node.tar"
  podman exec "$host" chmod 755 /usr/local/bin/podman /usr/local/bin/kinc-bench-bare
  podman exec "$host" loginctl enable-linger kinc
  until podman exec "$host" systemctl is-active -q user@$KINC_UID.service; do sleep 0.25; done
  as_kinc "$host" /usr/bin/podman load -q -i /var/tmp/kinc-bench/node.tar >/dev/null
  podman exec "$host" rm -f /var/tmp/kinc-bench/node.tar
  set_init_delay "$host" "${KINC_BENCH_INIT_DELAY:-0}"
}

set_init_delay() { # HOST SECONDS: the stand-in init delay of the nodes started from now on
  as_kinc "$1" sh -c "mkdir -p ~/.config/containers/containers.conf.d && printf '[containers]\nenv = [\"KINC_STANDIN_INIT_DELAY=%s\"]\n' \
    '$2' > ~/.config/containers/containers.conf.d/90-kinc-bench.conf"
}

# Ansible and the collection inside test host $1, for the local connection mode (a workstation running
# ansible-playbook for itself) and for timing modules by themselves. KINC_BENCH_ANSIBLE_CORE says which
# ansible-core runs the local playbooks: "venv" (default), the test venv's version installed from PyPI for the
# host's Python once (cached), or "debian", the host distribution's package (Debian 13: ansible-core 2.19),
# whose .debs are cached after the first download. Module timing (suite allocate) always uses the PyPI copy.
install_ansible_in_host() {
  local host=$1 pyver core target
  pyver=$(podman exec "$host" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  core=$(python3 -c 'import importlib.metadata as m; print(m.version("ansible-core"))')
  target=$KINC_CACHE/bench-ansible-core-$core-py$pyver
  if [ ! -d "$target/ansible" ]; then
    log "installing ansible-core $core for Python $pyver into $target"
    rm -rf "$target.tmp"
    pip install -q --disable-pip-version-check --target "$target.tmp" --python-version "$pyver" \
      --implementation cp --only-binary=:all: --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 "ansible-core==$core" > "$RESULTS/pip.log" 2>&1 \
      || { tail -20 "$RESULTS/pip.log" >&2; return 1; }
    mv "$target.tmp" "$target"
  fi
  podman exec "$host" mkdir -p "$IN_HOST/collections/ansible_collections/kinc/kinc"
  tar -C "$target" -cf - . | podman exec -i "$host" sh -c "mkdir -p $IN_HOST/ansible && tar -C $IN_HOST/ansible -xf -"
  git -C "$KINC_REPO" ls-files -z --cached --others --exclude-standard | grep -zv '^bench/results/' \
    | tar -C "$KINC_REPO" --null -T - -cf - \
    | podman exec -i "$host" tar -C "$IN_HOST/collections/ansible_collections/kinc/kinc" -xf -
  [ "${KINC_BENCH_ANSIBLE_CORE:-venv}" = venv ] || install_debian_ansible_in_host "$host"
  podman exec "$host" chmod -R a+rX "$IN_HOST"
}

install_debian_ansible_in_host() { # HOST: the distribution's ansible-core package (apt), .debs cached
  local host=$1 debs=$KINC_CACHE/bench-debian-ansible-core
  if [ -d "$debs" ]; then
    podman exec "$host" mkdir -p /var/tmp/kinc-bench/debs
    tar -C "$debs" -cf - . | podman exec -i "$host" tar -C /var/tmp/kinc-bench/debs -xf -
    podman exec "$host" sh -c 'apt-get install -qq -y --no-install-recommends /var/tmp/kinc-bench/debs/*.deb' \
      > "$RESULTS/apt.log" 2>&1 || { tail -20 "$RESULTS/apt.log" >&2; return 1; }
  else
    log "installing the distribution's ansible-core into $host (apt), caching its packages in $debs"
    podman exec "$host" sh -c 'apt-get update -qq && apt-get install -qq -y --no-install-recommends ansible-core' \
      > "$RESULTS/apt.log" 2>&1 || { tail -20 "$RESULTS/apt.log" >&2; return 1; }
    rm -rf "$debs.tmp"; mkdir -p "$debs.tmp"
    podman exec "$host" sh -c 'cd /var/cache/apt/archives && tar -cf - *.deb' | tar -C "$debs.tmp" -xf -
    mv "$debs.tmp" "$debs"
  fi
}

# The ansible-core that runs the in-host playbooks: "<version> (venv)" or "<version> (debian)".
in_host_ansible_core() { # HOST
  if [ "${KINC_BENCH_ANSIBLE_CORE:-venv}" = venv ]; then
    echo "$(podman exec "$1" env PYTHONPATH="$IN_HOST/ansible" python3 -c 'import ansible; print(ansible.__version__)') (venv)"
  else
    echo "$(podman exec "$1" python3 -c 'import ansible; print(ansible.__version__)') (debian)"
  fi
}

# ansible-playbook inside test host $1 as the user kinc (local connection); prints its wall time (bash's
# `time`, so the podman exec around it is not counted).
in_host_playbook() {
  local host=$1 pythonpath=$IN_HOST/ansible; shift
  [ "${KINC_BENCH_ANSIBLE_CORE:-venv}" = venv ] || pythonpath=
  as_kinc "$host" env PYTHONPATH="$pythonpath" ANSIBLE_COLLECTIONS_PATH="$IN_HOST/collections" \
    ANSIBLE_NOCOLOR=1 bash -c 'TIMEFORMAT=%R; { time python3 -m ansible playbook "$@" > /tmp/kinc-bench-ansible.log 2>&1; } 2>&1' \
    playbook "$@" || { as_kinc "$host" tail -40 /tmp/kinc-bench-ansible.log >&2; return 1; }
  as_kinc "$host" cat /tmp/kinc-bench-ansible.log >> "$RESULTS/ansible.log"
}

# The common inventory variables: the user kinc owns the clusters, the node test image, the preflight and
# sysctl settings of a privileged nested test host (its fs.inotify.* and kernel.keys.* are this machine's).
common_vars() {
  echo "    kinc_node_image: localhost/kinc-node-test:latest"
  echo "    kinc_host_preflight_ignore: [cgroup_controllers]"
  echo "    kinc_host_sysctl_base: {}"
  echo "    kinc_host_sysctl_per_cluster: {}"
}

clusters_yaml() { # N [PREFIX]: the kinc_clusters list of N clusters
  local i
  echo "    kinc_clusters:"
  for i in $(seq 1 "$1"); do echo "      - name: ${2:-b}$i"; done
}

# Inventory of test hosts reached with the Podman connection (the controller on this machine), each with N
# clusters, as group kinc_bench: podman_inventory N HOST...
podman_inventory() {
  local n=$1 host; shift
  echo "kinc_bench:"
  echo "  hosts:"
  for host in "$@"; do
    echo "    $host: {ansible_connection: containers.podman.podman, ansible_python_interpreter: /usr/bin/python3}"
  done
  echo "  vars:"
  echo "    kinc_user: kinc"
  echo "    kinc_host_user: kinc"
  common_vars
  clusters_yaml "$n"
}

# Inventory for Ansible inside the host: localhost, the connecting user (kinc) owns the clusters.
local_inventory() { # N
  echo "all:"
  echo "  hosts:"
  echo "    localhost: {ansible_connection: local, ansible_python_interpreter: /usr/bin/python3}"
  echo "  vars:"
  common_vars
  clusters_yaml "$1"
}

# ansible-playbook on this machine (Podman connection); prints its wall time.
playbook() { # INVENTORY PLAYBOOK [ARGS...]
  local inventory=$1 t0 t1; shift
  t0=$(now)
  ANSIBLE_PIPELINING=false ANSIBLE_NOCOLOR=1 ansible-playbook -i "$inventory" -e kinc_hosts=kinc_bench \
    "${KINC_BENCH_ANSIBLE_ARGS[@]}" "$@" >> "$RESULTS/ansible.log" 2>&1 \
    || { tail -40 "$RESULTS/ansible.log" >&2; return 1; }
  t1=$(now)
  elapsed "$t0" "$t1"
}

# Appends one result (JSON objects of figures, merged) to results.jsonl with when, where and on what it was
# measured.
record() { # SUITE JSON...
  local suite=$1; shift
  python3 - "$RESULTS/results.jsonl" "$suite" "${KINC_BENCH_LABEL:-}" "$KINC_BENCH_COMMIT" \
    "${KINC_BENCH_ANSIBLE_ARGS[*]}" "$@" <<'PY'
import json, os, sys, time
path, suite, label, commit, args = sys.argv[1:6]
row = {'suite': suite, 'label': label, 'commit': commit, 'ansible_playbook_arguments': args,
       'measured': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), 'cores': os.cpu_count(),
       'load_average': [round(x, 2) for x in os.getloadavg()]}
for figures in sys.argv[6:]:
    row.update(json.loads(figures))
with open(path, 'a') as out:
    out.write(json.dumps(row, sort_keys=True) + '\n')
print(json.dumps(row, sort_keys=True))
PY
}

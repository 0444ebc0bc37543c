#!/usr/bin/env bash
# Benchmark of kinc.kinc.deploy on a booted Debian trixie test host with the node test image: wall time of the
# deploy playbook for 1 and 3 clusters and of an unchanged re-run, and the podman invocations it makes (a
# counting wrapper first in PATH), each beside the bare podman/systemctl commands doing the same work
# (bench/bare.sh). Writes bench/results/results.json and results.md.
# Usage: bench/run.sh [ansible-playbook arguments, e.g. -e kinc_config_mode=baked]
#        (root, after tests/tooling/setup-machine.sh, build-testhost.sh and tests/node_image/build-test-image.sh)
set -euo pipefail
shopt -s inherit_errexit
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/tooling/lib.sh
. "$HERE/../tests/tooling/lib.sh"
HOST=kinc-tebench-host
RESULTS=$HERE/results
NODE_ARCHIVE=${KINC_NODE_TEST_ARCHIVE:-$KINC_CACHE/kinc-node-test.tar}
EXTRA_ARGS=("$@")
work=$(mktemp -d)
USER_EXEC=(podman exec -u kinc -e XDG_RUNTIME_DIR=/run/user/1000 -e HOME=/home/kinc -w /home/kinc "$HOST")

cleanup() { podman rm -f -t0 "$HOST" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }
calls() { podman exec "$HOST" sh -c 'wc -l < /var/tmp/kinc-bench/podman-calls.log'; }
reset_calls() { podman exec "$HOST" sh -c ': > /var/tmp/kinc-bench/podman-calls.log'; }

boot() {
  [ -f "$NODE_ARCHIVE" ] || { echo "missing $NODE_ARCHIVE: run tests/node_image/build-test-image.sh" >&2; exit 1; }
  cleanup
  work=$(mktemp -d)
  podman run -d --name "$HOST" --hostname "$HOST" --privileged --systemd=always --cgroupns=private \
    "$KINC_TESTHOST_IMAGE" >/dev/null
  until podman exec "$HOST" systemctl is-system-running 2>/dev/null | grep -qE '^(running|degraded)$'; do sleep 0.25; done
  podman exec "$HOST" install -d -m 1777 /var/tmp/kinc-bench
  podman exec "$HOST" install -m 666 /dev/null /var/tmp/kinc-bench/podman-calls.log
  podman cp "$HERE/podman-count.sh" "$HOST:/usr/local/bin/podman"
  podman cp "$HERE/bare.sh" "$HOST:/usr/local/bin/kinc-bench-bare"
  podman cp "$NODE_ARCHIVE" "$HOST:/var/tmp/kinc-bench/node.tar"
  podman exec "$HOST" chmod 755 /usr/local/bin/podman /usr/local/bin/kinc-bench-bare
  podman exec "$HOST" loginctl enable-linger kinc
  until podman exec "$HOST" systemctl is-active -q user@1000.service; do sleep 0.25; done
  "${USER_EXEC[@]}" /usr/bin/podman load -q -i /var/tmp/kinc-bench/node.tar >/dev/null
}

inventory() {  # $1: number of clusters
  {
    echo "all:"
    echo "  hosts:"
    echo "    $HOST: {ansible_connection: containers.podman.podman, ansible_python_interpreter: /usr/bin/python3}"
    echo "  vars:"
    echo "    kinc_user: kinc"
    echo "    kinc_host_user: kinc"
    echo "    kinc_node_image: localhost/kinc-node-test:latest"
    echo "    kinc_host_preflight_ignore: [cgroup_controllers]"
    # fs.inotify.* and kernel.keys.* of a privileged test host are this machine's: leave them alone.
    echo "    kinc_host_sysctl_base: {}"
    echo "    kinc_host_sysctl_per_cluster: {}"
    echo "    kinc_clusters:"
    for i in $(seq 1 "$1"); do echo "      - name: b$i"; done
  } > "$work/inventory-$1.yml"
}

playbook() {  # $1: number of clusters, then the playbook and its extra arguments
  local n=$1; shift
  ANSIBLE_PIPELINING=false ansible-playbook -i "$work/inventory-$n.yml" -e kinc_hosts=all "${EXTRA_ARGS[@]}" "$@" \
    >> "$RESULTS/ansible.log" 2>&1 || { tail -40 "$RESULTS/ansible.log" >&2; exit 1; }
}

names() { for i in $(seq 1 "$1"); do printf 'b%s ' "$i"; done; }

# One row: clusters, kinc deploy time and calls, re-run time and calls, bare deploy/check time and calls.
measure() {
  local n=$1 t0 t1 kinc_s kinc_calls rerun_s rerun_calls bare_s bare_calls check_s check_calls
  inventory "$n"
  reset_calls; t0=$(now); playbook "$n" kinc.kinc.deploy; t1=$(now)
  kinc_s=$(elapsed "$t0" "$t1"); kinc_calls=$(calls)
  reset_calls; t0=$(now); playbook "$n" kinc.kinc.deploy; t1=$(now)
  rerun_s=$(elapsed "$t0" "$t1"); rerun_calls=$(calls)
  # shellcheck disable=SC2046
  "${USER_EXEC[@]}" kinc-bench-bare capture $(names "$n")
  playbook "$n" kinc.kinc.cleanup -e kinc_purge=true
  reset_calls; t0=$(now)
  # shellcheck disable=SC2046
  "${USER_EXEC[@]}" kinc-bench-bare deploy $(names "$n")
  t1=$(now); bare_s=$(elapsed "$t0" "$t1"); bare_calls=$(calls)
  reset_calls; t0=$(now)
  # shellcheck disable=SC2046
  "${USER_EXEC[@]}" kinc-bench-bare check $(names "$n")
  t1=$(now); check_s=$(elapsed "$t0" "$t1"); check_calls=$(calls)
  playbook "$n" kinc.kinc.cleanup -e kinc_purge=true
  printf '{"clusters": %s, "deploy_s": %s, "deploy_podman_calls": %s, "rerun_s": %s, "rerun_podman_calls": %s, ' \
    "$n" "$kinc_s" "$kinc_calls" "$rerun_s" "$rerun_calls"
  printf '"bare_deploy_s": %s, "bare_deploy_podman_calls": %s, "bare_check_s": %s, "bare_check_podman_calls": %s}\n' \
    "$bare_s" "$bare_calls" "$check_s" "$check_calls"
}

mkdir -p "$RESULTS"
: > "$RESULTS/ansible.log"
log "booting $HOST"
boot
inventory 1
t0=$(now); playbook 1 "$HERE/host.yml"; host_s=$(elapsed "$t0" "$(now)")
reset_calls; t0=$(now); playbook 1 "$HERE/host.yml"; host_rerun_s=$(elapsed "$t0" "$(now)"); host_rerun_calls=$(calls)
log "host prepared in ${host_s}s (unchanged re-run ${host_rerun_s}s); measuring 1 cluster"
row1=$(measure 1)
log "measuring 3 clusters"
row3=$(measure 3)
KINC_BENCH_ARGS="${EXTRA_ARGS[*]}" python3 - "$RESULTS" "$host_s" "$host_rerun_s" "$host_rerun_calls" "$row1" "$row3" <<'PY'
import json, os, sys, time
results, host_s, host_rerun_s, host_rerun_calls = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
rows = [json.loads(r) for r in sys.argv[5:]]
doc = {'measured': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), 'cpus': os.cpu_count(),
       'ansible_playbook_arguments': os.environ.get('KINC_BENCH_ARGS', ''),
       'load_average_1m': os.getloadavg()[0], 'host_preparation_first_run_s': host_s,
       'host_preparation_rerun_s': host_rerun_s, 'host_preparation_rerun_podman_calls': host_rerun_calls, 'rows': rows}
with open(os.path.join(results, 'results.json'), 'w') as out:
    json.dump(doc, out, indent=2)
lines = ['# kinc deploy benchmark (%s, %d cores, load %.1f, arguments: %s)'
         % (doc['measured'], doc['cpus'], doc['load_average_1m'], doc['ansible_playbook_arguments'] or 'none'),
         '', 'Host preparation (kinc_host): first run %.1f s, unchanged re-run %.1f s (%d podman calls);'
         ' the re-run is part of every deploy below.' % (host_s, host_rerun_s, host_rerun_calls), '',
         '| clusters | what | kinc.kinc.deploy | bare commands | ratio | podman calls kinc (per cluster) | podman calls bare |',
         '|---|---|---|---|---|---|---|']
for r in rows:
    n = r['clusters']
    lines.append('| %d | deploy | %.1f s | %.1f s | %.1fx | %d (%.1f) | %d |' % (
        n, r['deploy_s'], r['bare_deploy_s'], r['deploy_s'] / r['bare_deploy_s'], r['deploy_podman_calls'],
        r['deploy_podman_calls'] / n, r['bare_deploy_podman_calls']))
    lines.append('| %d | unchanged re-run | %.1f s | %.1f s | %.1fx | %d (%.1f) | %d |' % (
        n, r['rerun_s'], r['bare_check_s'], r['rerun_s'] / r['bare_check_s'], r['rerun_podman_calls'],
        r['rerun_podman_calls'] / n, r['bare_check_podman_calls']))
with open(os.path.join(results, 'results.md'), 'w') as out:
    out.write('\n'.join(lines) + '\n')
print('\n'.join(lines))
PY

#!/usr/bin/env bash
# Benchmarks of kinc.kinc.deploy on booted Debian trixie test hosts with the node test image (bench/README.md).
# Each suite boots its own test host(s), measures, and appends its figures (with date, load average and core
# count) to bench/results/results.jsonl; bench/report.py turns them into the results table.
#   podman    Podman connection (controller on this machine): deploy, unchanged re-run and podman calls for
#             1/3/5 clusters, each beside the bare podman/systemctl commands doing the same work (bare.sh)
#   local     Ansible inside the test host with a local connection: deploy and unchanged re-run, 1/3/5
#   delay     stand-in `kubeadm init` taking KINC_BENCH_DELAY seconds (default 20): deploy of 1 and 5
#             clusters, kinc and bare
#   fleet     one host with 2 clusters, then three hosts with 2 clusters each, in one ansible-playbook run
#   allocate  kinc_allocate's module time for 100 clusters in one call (check mode, creating, unchanged)
# Usage: bench/run.sh [--small] [--label NAME] [--ansible-core venv|debian] [--reruns N] [--clusters N,...] [SUITE...]
#                     [-- ansible-playbook arguments]
#   --small         one cluster per suite, a 2 s init delay, 10 clusters to allocate, no fleet: keeps the
#                   harness working (tests/run.sh bench), its figures mean little
#   --label         stored with each figure (e.g. before/after), a column of the report
#   --ansible-core  the ansible-core of the local connection: the test venv's version from PyPI (venv, the
#                   default) or the test host distribution's package (debian: Debian 13's 2.19)
#   --reruns        how many times each unchanged re-run is measured (default 1): min, median and max
#   --clusters      the cluster counts of the podman and local suites, e.g. 3 or 1,3,5 (the default)
# Root, after tests/tooling/setup-machine.sh and tests/tooling/build-testhost.sh; run it under
# `flock /tmp/kinc-heavy.lock` on a shared machine.
set -euo pipefail
shopt -s inherit_errexit
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

SUITES=()
SMALL=false
RERUNS=1
CLUSTERS_ARG=
KINC_BENCH_ANSIBLE_CORE=venv
KINC_BENCH_ANSIBLE_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --small) SMALL=true ;;
    --label) KINC_BENCH_LABEL=$2; shift ;;
    --ansible-core) KINC_BENCH_ANSIBLE_CORE=$2; shift ;;
    --reruns) RERUNS=$2; shift ;;
    --clusters) CLUSTERS_ARG=$2; shift ;;
    --) shift; KINC_BENCH_ANSIBLE_ARGS=("$@"); break ;;
    podman|local|delay|fleet|allocate) SUITES+=("$1") ;;
    *) echo "unknown argument '$1'; see the usage in $0" >&2; exit 2 ;;
  esac
  shift
done
export KINC_BENCH_LABEL KINC_BENCH_ANSIBLE_CORE
case "$KINC_BENCH_ANSIBLE_CORE" in venv|debian) ;; *) echo "--ansible-core is venv or debian" >&2; exit 2 ;; esac
if $SMALL; then
  CLUSTERS=(1); DELAY_CLUSTERS=(1); DELAY=${KINC_BENCH_DELAY:-2}; ALLOCATE=10
  [ ${#SUITES[@]} -gt 0 ] || SUITES=(podman local delay allocate)
else
  CLUSTERS=(1 3 5); DELAY_CLUSTERS=(1 5); DELAY=${KINC_BENCH_DELAY:-20}; ALLOCATE=100
  [ ${#SUITES[@]} -gt 0 ] || SUITES=(podman local delay fleet allocate)
fi
[ -z "$CLUSTERS_ARG" ] || read -r -a CLUSTERS <<< "${CLUSTERS_ARG//,/ }"
H1=$HOST_PREFIX-1
work=$(mktemp -d)
cleanup() { remove_hosts; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$RESULTS"
: > "$RESULTS/ansible.log"
bash "$KINC_REPO/tests/node_image/build-test-image.sh"
# This checkout's node test image, kept aside: other checkouts on this machine rebuild the shared one.
cp "$NODE_ARCHIVE" "$work/node.tar"
NODE_ARCHIVE=$work/node.tar

# A deploy-related playbook in connection MODE (podman or local) on H1 with N clusters; prints its wall time.
pb() { # MODE N PLAYBOOK [ARGS...]
  local mode=$1 n=$2; shift 2
  if [ "$mode" = podman ]; then
    [ -f "$work/podman-$n.yml" ] || podman_inventory "$n" "$H1" > "$work/podman-$n.yml"
    playbook "$work/podman-$n.yml" "$@"
  else
    local_inventory "$n" | as_kinc "$H1" sh -c "cat > /home/kinc/inventory-$n.yml"
    in_host_playbook "$H1" -i "/home/kinc/inventory-$n.yml" "${KINC_BENCH_ANSIBLE_ARGS[@]}" "$@"
  fi
}

# The ansible-core running the playbooks of connection MODE: the controller's, or the one inside H1.
ansible_core() { # MODE
  if [ "$1" = podman ]; then
    echo "$(python3 -c 'import ansible; print(ansible.__version__)') (venv)"
  else
    in_host_ansible_core "$H1"
  fi
}

# The unchanged re-run, RERUNS times; prints a JSON object: rerun_s (the median), rerun_runs_s (every run)
# and rerun_podman_calls (of the last run; every run makes the same calls).
reruns() { # MODE N
  local times=() i
  for i in $(seq 1 "$RERUNS"); do reset_calls "$H1"; times+=("$(pb "$1" "$2" kinc.kinc.deploy)"); done
  python3 -c 'import json, statistics, sys; t = [float(x) for x in sys.argv[2:]]
print(json.dumps({"rerun_s": statistics.median(t), "rerun_runs_s": t, "rerun_podman_calls": int(sys.argv[1])}))' \
    "$(calls "$H1")" "${times[@]}"
}

names() { for i in $(seq 1 "$1"); do printf 'b%s ' "$i"; done; }

# The bare commands (bare.sh) for the N clusters kinc deployed last: capture kinc's files, purge, deploy them
# bare and time it, then (when asked) time the bare check of an unchanged state; purges again.
bare() { # MODE N CHECK(true|false); prints: deploy_s deploy_calls [check_s check_calls]
  local mode=$1 n=$2 t0 t1 deploy_s deploy_calls
  # shellcheck disable=SC2046
  as_kinc "$H1" kinc-bench-bare capture $(names "$n")
  pb "$mode" "$n" kinc.kinc.cleanup -e kinc_purge=true >/dev/null
  reset_calls "$H1"; t0=$(now)
  # shellcheck disable=SC2046
  as_kinc "$H1" kinc-bench-bare deploy $(names "$n")
  t1=$(now); deploy_s=$(elapsed "$t0" "$t1"); deploy_calls=$(calls "$H1")
  printf '%s %s' "$deploy_s" "$deploy_calls"
  if "$3"; then
    reset_calls "$H1"; t0=$(now)
    # shellcheck disable=SC2046
    as_kinc "$H1" kinc-bench-bare check $(names "$n")
    t1=$(now); printf ' %s %s' "$(elapsed "$t0" "$t1")" "$(calls "$H1")"
  fi
  echo
  pb "$mode" "$n" kinc.kinc.cleanup -e kinc_purge=true >/dev/null
}

prepare_host() { # MODE: boot H1 and prepare it (kinc_host) in that mode; records the host preparation
  local mode=$1 first rerun
  log "booting $H1 ($mode connection)"
  boot "$H1"
  [ "$mode" = podman ] || install_ansible_in_host "$H1"
  [ "$mode" = podman ] || podman cp "$HERE/host.yml" "$H1:$IN_HOST/host.yml"
  local host_playbook=$HERE/host.yml; [ "$mode" = podman ] || host_playbook=$IN_HOST/host.yml
  first=$(pb "$mode" 1 "$host_playbook")
  reset_calls "$H1"
  rerun=$(pb "$mode" 1 "$host_playbook")
  record host_preparation "{\"connection\": \"$mode\", \"ansible_core\": \"$(ansible_core "$mode")\",
    \"first_run_s\": $first, \"rerun_s\": $rerun,
    \"rerun_podman_calls\": $(calls "$H1")}"
}

# Deploy from scratch, unchanged re-run, podman calls of each, and (Podman connection) the bare commands.
suite_connection() { # MODE
  local mode=$1 n deploy_s deploy_calls rerun figures bare_figures core
  prepare_host "$mode"
  core=$(ansible_core "$mode")
  for n in "${CLUSTERS[@]}"; do
    log "$mode connection: $n cluster(s)"
    reset_calls "$H1"; deploy_s=$(pb "$mode" "$n" kinc.kinc.deploy); deploy_calls=$(calls "$H1")
    rerun=$(reruns "$mode" "$n")
    # Which podman calls an unchanged run still makes (uid and arguments), for whoever trims them next.
    podman exec "$H1" cat /var/tmp/kinc-bench/podman-calls.log > "$RESULTS/podman-calls-$mode-$n-rerun.log"
    figures="{\"connection\": \"$mode\", \"clusters\": $n, \"init_delay_s\": 0, \"ansible_core\": \"$core\",
      \"deploy_s\": $deploy_s, \"deploy_podman_calls\": $deploy_calls}"
    if [ "$mode" = podman ]; then
      read -r -a bare_figures <<< "$(bare "$mode" "$n" true)"
      record deploy "$figures" "$rerun" "{\"bare_deploy_s\": ${bare_figures[0]},
        \"bare_deploy_podman_calls\": ${bare_figures[1]}, \"bare_check_s\": ${bare_figures[2]},
        \"bare_check_podman_calls\": ${bare_figures[3]}}"
    else
      pb "$mode" "$n" kinc.kinc.cleanup -e kinc_purge=true >/dev/null
      record deploy "$figures" "$rerun"
    fi
  done
}
suite_podman() { suite_connection podman; }
suite_local() { suite_connection local; }

# Every node's init takes DELAY seconds, as a real node's does: N clusters should take about one's time.
suite_delay() {
  local n deploy_s deploy_calls figures bare_figures journal
  KINC_BENCH_INIT_DELAY=$DELAY prepare_host podman
  for n in "${DELAY_CLUSTERS[@]}"; do
    log "init delay ${DELAY}s: $n cluster(s)"
    reset_calls "$H1"; deploy_s=$(pb podman "$n" kinc.kinc.deploy); deploy_calls=$(calls "$H1")
    # The knob reached the node: its kubelet-start phase said so (and a mistake here would void the figures).
    journal=$(as_kinc "$H1" podman exec kinc-b1-control-plane journalctl -q -u kinc-kubeadm-init.service)
    grep -q "waiting ${DELAY}s as KINC_STANDIN_INIT_DELAY asks" <<< "$journal" \
      || { echo "the stand-in init delay did not reach kinc-b1-control-plane:" >&2; echo "$journal" >&2; return 1; }
    figures=$(bare podman "$n" false); read -r -a bare_figures <<< "$figures"
    record deploy "{\"connection\": \"podman\", \"clusters\": $n, \"init_delay_s\": $DELAY, \"deploy_s\": $deploy_s,
      \"deploy_podman_calls\": $deploy_calls, \"bare_deploy_s\": ${bare_figures[0]},
      \"bare_deploy_podman_calls\": ${bare_figures[1]}}"
  done
}

# Ansible's forks converge the hosts at once: three hosts should take about one host's time.
suite_fleet() {
  local hosts=() pids=() h pid count deploy_s rerun_s
  for count in 1 3; do
    remove_hosts
    hosts=()
    for h in $(seq 1 "$count"); do hosts+=("$HOST_PREFIX-$h"); done
    log "fleet: booting ${hosts[*]}"
    pids=()
    for h in "${hosts[@]}"; do boot "$h" & pids+=($!); done
    for pid in "${pids[@]}"; do wait "$pid"; done
    podman_inventory 2 "${hosts[@]}" > "$work/fleet-$count.yml"
    log "fleet: $count host(s) with 2 clusters each"
    deploy_s=$(playbook "$work/fleet-$count.yml" kinc.kinc.deploy)
    rerun_s=$(playbook "$work/fleet-$count.yml" kinc.kinc.deploy)
    record fleet "{\"connection\": \"podman\", \"hosts\": $count, \"clusters_per_host\": 2,
      \"deploy_s\": $deploy_s, \"rerun_s\": $rerun_s}"
  done
}

# kinc_allocate run by itself in the host as the user kinc (python3 and the module, no Ansible around it).
suite_allocate() {
  local args t check_s create_s unchanged_s
  # A prepared host: kinc_host creates what the allocation needs host-wide.
  prepare_host podman
  install_ansible_in_host "$H1"
  args=$(python3 -c 'import json, sys; print(json.dumps({"ANSIBLE_MODULE_ARGS": {
    "clusters": [{"name": "a%d" % i} for i in range(1, int(sys.argv[1]) + 1)], "_ansible_check_mode": sys.argv[2] == "check"}}))' \
    "$ALLOCATE" check)
  echo "$args" | as_kinc "$H1" sh -c 'cat > /tmp/allocate-check.json'
  echo "${args/\"_ansible_check_mode\": true/\"_ansible_check_mode\": false}" | as_kinc "$H1" sh -c 'cat > /tmp/allocate.json'
  allocate() { # ARGS_FILE: prints the module's wall time
    # shellcheck disable=SC2016 # the in-host bash expands them
    as_kinc "$H1" env PYTHONPATH="$IN_HOST/ansible:$IN_HOST/collections" bash -c 'TIMEFORMAT=%R
      { time python3 "$0/ansible_collections/kinc/kinc/plugins/modules/kinc_allocate.py" "$1" > /tmp/allocate.out; } 2>&1
      grep -q "\"failed\": true" /tmp/allocate.out && { cat /tmp/allocate.out >&2; exit 1; }; true' "$IN_HOST/collections" "$1"
  }
  check_s=$(allocate /tmp/allocate-check.json)
  create_s=$(allocate /tmp/allocate.json)
  unchanged_s=$(allocate /tmp/allocate.json)
  t=$(as_kinc "$H1" python3 -c 'import json; print(len(json.load(open("/tmp/allocate.out"))["clusters"]))')
  [ "$t" = "$ALLOCATE" ] || { echo "kinc_allocate returned $t clusters, not $ALLOCATE" >&2; return 1; }
  record allocate "{\"clusters\": $ALLOCATE, \"check_mode_s\": $check_s, \"create_s\": $create_s,
    \"unchanged_s\": $unchanged_s}"
}

for suite in "${SUITES[@]}"; do
  log "suite $suite"
  "suite_$suite"
  remove_hosts
done
python3 "$HERE/report.py" "$RESULTS/results.jsonl" > "$RESULTS/results.md"
cat "$RESULTS/results.md"

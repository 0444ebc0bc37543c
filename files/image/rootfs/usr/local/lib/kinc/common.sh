# Shared by the kinc node scripts; sourced, never run.
# shellcheck shell=bash
KINC_CONFIG_DIR=/etc/kinc/config
KINC_CLUSTER_ENV=$KINC_CONFIG_DIR/cluster.env
KINC_MOUNTED_KUBEADM_CONF=$KINC_CONFIG_DIR/kubeadm.conf
KINC_IMAGE_ENV=/etc/kinc/image.env
KINC_STATE_DIR=/var/lib/kinc
KINC_KUBEADM_CONF=$KINC_STATE_DIR/kubeadm.yaml
KINC_INITIALIZED=$KINC_STATE_DIR/initialized
# The API server certificate's SANs as last issued (kinc-kubeadm-init), to re-issue it when they change.
KINC_ISSUED_SANS=$KINC_STATE_DIR/apiserver-sans
KINC_ADMIN_CONF=/etc/kubernetes/admin.conf
KINC_CRIO_ENDPOINT=unix:///var/run/crio/crio.sock
# The node's own, stable address (on lo, set up by kinc-entrypoint): the API server advertises
# it and etcd listens on it, so a container that Podman recreates with another IP keeps working.
# config_render.NODE_IP in the collection must equal it.
KINC_NODE_IP=10.255.255.254
# The image of the datapath step's probe pod (nslookup, wget); the one playbooks/verify.yml uses too.
KINC_PROBE_IMAGE=registry.k8s.io/e2e-test-images/busybox:1.36.1-1
export KINC_CONFIG_DIR KINC_NODE_IP KINC_PROBE_IMAGE KINC_CLUSTER_ENV KINC_MOUNTED_KUBEADM_CONF KINC_IMAGE_ENV KINC_STATE_DIR \
  KINC_KUBEADM_CONF KINC_INITIALIZED KINC_ISSUED_SANS KINC_ADMIN_CONF KINC_CRIO_ENDPOINT

# Loads the image's facts (the image's own file), then the cluster's settings (the config volume) into the
# environment. cluster.env is read as data, never run as shell: only KINC_*=<plain value> lines count, so a
# value such as "1.2.3.4 $(cmd)" cannot run anything as the node's root; any other line is named and skipped.
kinc_load_env() {
  set -a
  # shellcheck source=/dev/null
  [ -r "$KINC_IMAGE_ENV" ] && . "$KINC_IMAGE_ENV"
  set +a
  [ -r "$KINC_CLUSTER_ENV" ] && kinc_read_env "$KINC_CLUSTER_ENV"
  return 0
}

# Exports each KINC_NAME=value line of FILE whose value holds only [A-Za-z0-9_.:/,@+=-]; comments and blank
# lines are skipped silently, any other line with a message on stderr.
kinc_read_env() { # FILE
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    if [[ $line =~ ^(KINC_[A-Z0-9_]+)=([A-Za-z0-9_.:/,@+=-]*)$ ]]; then
      export "${BASH_REMATCH[1]}=${BASH_REMATCH[2]}"
    elif [[ -n $line && $line != \#* ]]; then
      echo "kinc: $1: ignored a line that is not KINC_<NAME>=<plain value>: ${line//[^[:print:]]/?}" >&2
    fi
  done < "$1"
}

# True in a user namespace that does not map the whole id range (rootless Podman).
kinc_in_userns() {
  ! grep -Eq '^[[:space:]]*0[[:space:]]+0[[:space:]]+4294967295[[:space:]]*$' /proc/self/uid_map
}

# The node's runtime route (files/image/README.md, "cgroups and the runtime route"), from whether it runs in
# a user namespace (1/0) and the cgroup controllers it was given:
#   root           not in a user namespace: CRI-O's crun as it is
#   crun-wrapper   rootless with cpu, memory and pids delegated: runtime kinc-crun, cgroup paths kept
#   crio-rootless  rootless without them: CRI-O's _CRIO_ROOTLESS=1, which also drops every cgroup path
kinc_runtime_route() { # IN_USERNS CONTROLLER...
  local in_userns=$1 controller; shift
  if [ "$in_userns" != 1 ]; then echo root; return; fi
  for controller in cpu memory pids; do
    [[ " $* " == *" $controller "* ]] || { echo crio-rootless; return; }
  done
  echo crun-wrapper
}

# Enables each CONTROLLER in DIR/cgroup.subtree_control and checks that the kernel took it; prints those it
# could not enable and fails. A process that joins DIR meanwhile (a `podman exec` lands in the node's root
# cgroup) makes the kernel refuse with EBUSY for a moment, so it tries for about two seconds.
kinc_enable_controllers() { # DIR CONTROLLER...
  local dir=$1 controller attempt missing=()
  shift
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    missing=()
    for controller in "$@"; do
      grep -qw -- "$controller" "$dir/cgroup.subtree_control" 2>/dev/null && continue
      { echo "+$controller" > "$dir/cgroup.subtree_control"; } 2>/dev/null || true
      grep -qw -- "$controller" "$dir/cgroup.subtree_control" 2>/dev/null || missing+=("$controller")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    [ "$attempt" -lt 10 ] && sleep 0.2
  done
  echo "${missing[*]}"
  return 1
}

# kubelet's --system-reserved value that makes its allocatable equal the node container's limits: kubelet's
# capacity is the host's (cadvisor reads /proc/meminfo and the CPUs it may run on, not the cgroup), so it
# reserves capacity minus limit. Arguments: the host's MemTotal in kB, the node cgroup's memory.max, the CPUs
# kubelet counts, the node cgroup's cpu.max ("max 100000" or "<quota> <period>"). Prints nothing without
# a limit below the capacity.
kinc_system_reserved() { # MEMTOTAL_KB MEMORY_MAX CPUS CPU_MAX
  local total=$(( $1 * 1024 )) memory_max=$2 cpus=$3 quota period reserved=()
  read -r quota period <<< "$4"
  if [[ $memory_max =~ ^[0-9]+$ ]] && [ "$memory_max" -lt "$total" ]; then
    reserved+=("memory=$(( total - memory_max ))")
  fi
  if [[ $quota =~ ^[0-9]+$ ]] && [[ $period =~ ^[1-9][0-9]*$ ]] && [ $(( quota * 1000 / period )) -lt $(( cpus * 1000 )) ]; then
    reserved+=("cpu=$(( cpus * 1000 - quota * 1000 / period ))m")
  fi
  local IFS=,
  echo "${reserved[*]}"
}

# Copies stdin (a kubeadm configuration of kinc's template) to stdout with kubelet's node-labels argument
# after its first kubeletExtraArgs line; fails when there is none.
kinc_with_node_labels() { # LABELS
  awk -v labels="$1" '
    !done && $0 == "  kubeletExtraArgs:" {print; print "    - name: node-labels"; print "      value: \"" labels "\""; done = 1; next}
    {print}
    END {if (!done) {print "kinc: the kubeadm configuration has no kubeletExtraArgs line for KINC_NODE_LABELS" > "/dev/stderr"; exit 1}}'
}

kinc_kubectl() {
  kubectl --kubeconfig "$KINC_ADMIN_CONF" "$@"
}

# The apiServer.certSANs entries of a kubeadm configuration file, one per line, quotes removed.
kinc_cert_sans() { # FILE
  awk '/^[[:space:]]*certSANs:/ {on = 1; next}
       on && /^[[:space:]]*-[[:space:]]/ {v = $0; sub(/^[[:space:]]*-[[:space:]]*/, "", v); gsub(/"/, "", v); print v; next}
       on {on = 0}' "$1"
}

# Runs "$@" until it succeeds or $1 seconds have passed; the last attempt's output is kept.
kinc_retry() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 2
  done
}

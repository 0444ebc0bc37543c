# Shared by the kinc node scripts; sourced, never run.
# shellcheck shell=bash
KINC_CONFIG_DIR=/etc/kinc/config
KINC_CLUSTER_ENV=$KINC_CONFIG_DIR/cluster.env
KINC_MOUNTED_KUBEADM_CONF=$KINC_CONFIG_DIR/kubeadm.conf
KINC_IMAGE_ENV=/etc/kinc/image.env
KINC_STATE_DIR=/var/lib/kinc
KINC_KUBEADM_CONF=$KINC_STATE_DIR/kubeadm.yaml
KINC_INITIALIZED=$KINC_STATE_DIR/initialized
KINC_ADMIN_CONF=/etc/kubernetes/admin.conf
KINC_CRIO_ENDPOINT=unix:///var/run/crio/crio.sock
# The node's own, stable address (on lo, set up by kinc-entrypoint): the API server advertises
# it and etcd listens on it, so a container that Podman recreates with another IP keeps working.
# kubeadm_config.NODE_IP in the collection must equal it.
KINC_NODE_IP=10.255.255.254
export KINC_CONFIG_DIR KINC_NODE_IP KINC_CLUSTER_ENV KINC_MOUNTED_KUBEADM_CONF KINC_IMAGE_ENV KINC_STATE_DIR \
  KINC_KUBEADM_CONF KINC_INITIALIZED KINC_ADMIN_CONF KINC_CRIO_ENDPOINT

# Loads the image's facts, then the cluster's settings (the config volume) into the environment.
kinc_load_env() {
  set -a
  # shellcheck source=/dev/null
  [ -r "$KINC_IMAGE_ENV" ] && . "$KINC_IMAGE_ENV"
  # shellcheck source=/dev/null
  [ -r "$KINC_CLUSTER_ENV" ] && . "$KINC_CLUSTER_ENV"
  set +a
}

# True in a user namespace that does not map the whole id range (rootless Podman).
kinc_in_userns() {
  ! grep -Eq '^[[:space:]]*0[[:space:]]+0[[:space:]]+4294967295[[:space:]]*$' /proc/self/uid_map
}

kinc_kubectl() {
  kubectl --kubeconfig "$KINC_ADMIN_CONF" "$@"
}

# Runs "$@" until it succeeds or $1 seconds have passed; the last attempt's output is kept.
kinc_retry() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 2
  done
}

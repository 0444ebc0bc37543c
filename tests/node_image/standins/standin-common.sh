# STAND-IN support for kinc's node test image (tests/node_image): shared by the stand-ins of
# kubeadm, kubelet and kubectl. Sourced, never run. Not part of the real node image.
# shellcheck shell=bash
STANDIN_LOG_DIR=/var/log/kinc-standin
STANDIN_STATE=/var/lib/kinc-standin
export STANDIN_LOG_DIR STANDIN_STATE

# Appends one line per invocation to $STANDIN_LOG_DIR/<tool>.log (on the node's /var volume).
standin_log() {
  mkdir -p "$STANDIN_LOG_DIR"
  echo "$(date -u +%FT%TZ) $*" >> "$STANDIN_LOG_DIR/$1.log"
}

# The value of a stand-in knob (KINC_STANDIN_*) in the node's cluster.env, empty when unset.
standin_setting() { # NAME
  [ -r /etc/kinc/config/cluster.env ] || return 0
  sed -n "s/^$1=//p" /etc/kinc/config/cluster.env | tr -d '"' | tail -n 1
}

# Fails like the real tool would when cluster.env sets KINC_STANDIN_FAIL_AT to this kinc step.
standin_fail_at() { # TOOL STEP
  local fail_at
  fail_at=$(standin_setting KINC_STANDIN_FAIL_AT)
  if [ "$fail_at" = "$2" ]; then
    echo "stand-in $1: failing at step $2 as KINC_STANDIN_FAIL_AT asks" >&2
    exit 1
  fi
}

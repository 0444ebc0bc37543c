#!/usr/bin/env bash
# The bare commands that do a kinc deploy's work, run inside the test host as the cluster user:
#   bare.sh capture NAME...   save the cluster's Quadlet files, volume labels and node config (made by kinc)
#   bare.sh deploy NAME...    after a purge: create the labelled volumes, write the node config and the Quadlet
#                             files, daemon-reload, start, wait until status.json says ready, export kubeconfig
#   bare.sh check NAME...     what an unchanged re-run must establish: files equal, services active, nodes ready
set -euo pipefail
action=$1; shift
store=/var/tmp/kinc-bench/capture
units=$HOME/.config/containers/systemd

capture() {
  local name dir volume
  for name in "$@"; do
    dir=$store/$name
    rm -rf "$dir"; mkdir -p "$dir/units" "$dir/config"
    cp "$units/kinc-$name-"*.volume "$units/kinc-$name-control-plane.container" "$dir/units/"
    for volume in "kinc-$name-var-data" "kinc-$name-config"; do
      podman volume inspect --format json "$volume" | jq -r '.[0].Labels | to_entries[] | "\(.key)=\(.value)"' \
        > "$dir/$volume.labels"
    done
    cp -r "$(podman volume inspect --format '{{.Mountpoint}}' "kinc-$name-config")/." "$dir/config/"
  done
}

deploy() {
  local name volume mountpoint args label
  for name in "$@"; do
    for volume in "kinc-$name-var-data" "kinc-$name-config"; do
      args=()
      while IFS= read -r label; do args+=(--label "$label"); done < "$store/$name/$volume.labels"
      podman volume create "${args[@]}" "$volume" >/dev/null
    done
    mountpoint=$(podman volume inspect --format '{{.Mountpoint}}' "kinc-$name-config")
    cp -r "$store/$name/config/." "$mountpoint/"
    mkdir -p "$units"
    cp "$store/$name/units/"* "$units/"
  done
  systemctl --user daemon-reload
  for name in "$@"; do systemctl --user start "kinc-$name-control-plane.service"; done
  for name in "$@"; do
    until [ "$(podman exec "kinc-$name-control-plane" cat /var/lib/kinc/status.json 2>/dev/null | jq -r .phase)" = ready ]; do
      sleep 0.5
    done
    mkdir -p "$HOME/.kube"
    podman exec "kinc-$name-control-plane" kubectl --kubeconfig /etc/kubernetes/admin.conf config view --raw -o json \
      > "$HOME/.kube/kinc-$name.conf"
    chmod 600 "$HOME/.kube/kinc-$name.conf"
  done
}

check() {
  local name file
  for name in "$@"; do
    for file in "$store/$name/units/"*; do cmp -s "$file" "$units/$(basename "$file")"; done
    systemctl --user is-active -q "kinc-$name-control-plane.service"
    [ "$(podman exec "kinc-$name-control-plane" cat /var/lib/kinc/status.json | jq -r .phase)" = ready ]
  done
}

"$action" "$@"

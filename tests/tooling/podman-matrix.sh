#!/usr/bin/env bash
# Each Podman of podman-matrix.txt, built from upstream source (cached): its Quadlet generator checks kinc's
# units (tests/unit/plugins/action/test_quadlet_of_each_podman.py), then the lifecycle runs on a test host with
# that Podman (Molecule's clusters scenario: deploy, unchanged re-run, an option change, a reboot, absent and
# purge, cleanup). Needs the test host and node test images (tests/run.sh prepares them).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/tooling/lib.sh
. "$HERE/lib.sh"
versions=() lifecycles=() builds=() failed=0 summary=()
while read -r version lifecycle _; do
  case "$version" in ''|\#*) continue ;; esac
  dir=$(bash "$HERE/build-podman.sh" "$version" | tail -1) || { echo "Podman $version did not build" >&2; exit 1; }
  versions+=("$version"); lifecycles+=("$lifecycle"); builds+=("$version=$dir")
done < "$HERE/podman-matrix.txt"
# A host that mounts cgroup v1 hierarchies besides cgroup2 lists them in /proc/self/cgroup.
cgroup2_only=true
grep -qv '^0::' /proc/self/cgroup && cgroup2_only=false
cd "$KINC_REPO" || exit 1
KINC_PODMAN_BUILDS="${builds[*]}" KINC_PODMAN_BUILDS_REQUIRED=1 \
  python -m pytest -q -p no:cacheprovider tests/unit/plugins/action/test_quadlet_of_each_podman.py || failed=1
for i in "${!versions[@]}"; do
  version=${versions[$i]}
  ts=$(date +%s); result=passed
  if [ "${lifecycles[$i]}" = cgroup2-only ] && [ "$cgroup2_only" = false ]; then
    result="skipped (cgroup2-only, this host also mounts cgroup v1: see podman-matrix.txt)"
  elif ! image=$(bash "$HERE/build-testhost-podman.sh" "$version" | tail -1); then
    result="FAILED (no test host image)"
  else
    log "molecule scenario clusters on Podman $version ($image)"
    (cd extensions && KINC_TESTHOST_IMAGE=$image molecule test -s clusters) || result=FAILED
  fi
  case "$result" in passed|skipped*) ;; *) failed=1 ;; esac
  summary+=("$(printf 'Podman %-20s lifecycle %-7s %4ss' "$version" "$result" "$(( $(date +%s) - ts ))")")
done
printf '  %s\n' "${summary[@]}" >&2
exit "$failed"

#!/usr/bin/env bash
# Runs kinc's whole test suite on a Debian machine as root: prepares the machine, builds the test images,
# then static checks, unit tests, integration tests against real Podman, the node image's init chain under
# real systemd, and the Molecule scenarios on the systemd test host.
#   tests/run.sh                 every stage
#   tests/run.sh unit molecule   only the named stages (setup and images run first when a stage needs them)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
cd "$REPO" || exit 1

ALL_STAGES=(sanity lint unit core_matrix galaxy podman_matrix integration runtime node_image molecule)
MOLECULE_SCENARIOS=()
while IFS= read -r scenario; do MOLECULE_SCENARIOS+=("$scenario"); done < <(
  find extensions/molecule -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' 2>/dev/null | xargs -rn1 basename | sort)

stage_sanity() { bash tests/tooling/sanity.sh; }
stage_lint() {
  ansible-lint --offline || return 1
  # The GitHub workflows (.github/workflows/e2e.yml): actionlint (shellcheck of run: steps included), zizmor.
  actionlint && zizmor --offline --no-progress .github/workflows
}
stage_unit() { python -m pytest -q -p no:cacheprovider tests/unit; }
# Sanity and unit again on the older ansible-core releases kinc supports (tests/tooling/ansible-core-matrix.txt).
stage_core_matrix() { bash tests/tooling/core-matrix.sh; }
# Changelog fragments, documentation lint, the docsite and galaxy-importer on the built tarball.
stage_galaxy() { bash tests/tooling/galaxy.sh; }
# Podman 4.9.3 and the 6.0 snapshot built from upstream source (cached): their Quadlet generators check kinc's units,
# and Molecule's clusters scenario runs on a test host with each (tests/tooling/podman-matrix.txt).
stage_podman_matrix() { bash tests/tooling/podman-matrix.sh; }
stage_integration() { python -m pytest -q -p no:cacheprovider -m 'not runtime' tests/integration; }
# The node's real CRI-O (built from upstream source) in a rootless node on the test host.
stage_runtime() { python -m pytest -q -p no:cacheprovider -m runtime tests/integration; }
stage_node_image() { python -m pytest -q -p no:cacheprovider tests/node_image; }
# Not in ALL_STAGES (about 4 minutes): the benchmark once in its small mode, so that it keeps working.
stage_bench() { bash bench/run.sh --small --label ci; }
stage_molecule() {
  local failed=0 s
  for s in "${MOLECULE_SCENARIOS[@]}"; do
    log "molecule scenario $s"
    (cd extensions && molecule test -s "$s") || { echo "molecule scenario $s FAILED"; failed=1; }
  done
  return $failed
}

prepare() {
  bash tests/tooling/setup-machine.sh || return 1
  # shellcheck source=tests/tooling/lib.sh
  . tests/tooling/lib.sh
  bash tests/tooling/build-testhost.sh || return 1
  bash tests/node_image/build-test-image.sh || return 1
}

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=("${ALL_STAGES[@]}")
for s in "${stages[@]}"; do
  declare -F "stage_$s" >/dev/null || { echo "unknown stage '$s'; stages: ${ALL_STAGES[*]}" >&2; exit 2; }
done

t0=$(date +%s)
# shellcheck source=tests/tooling/lib.sh
. tests/tooling/lib.sh
prepare || { log "machine preparation failed"; exit 1; }
log "prepared in $(( $(date +%s) - t0 ))s"

passed=0; failed=0; summary=()
for s in "${stages[@]}"; do
  log "stage $s"
  ts=$(date +%s)
  if "stage_$s"; then passed=$((passed + 1)); result=passed; else failed=$((failed + 1)); result=FAILED; fi
  summary+=("$(printf '%-12s %-7s %4ss' "$s" "$result" "$(( $(date +%s) - ts ))")")
done

echo
echo "kinc test stages (total $(( $(date +%s) - t0 ))s):"
printf '  %s\n' "${summary[@]}"
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# ansible-test sanity and the unit tests on each ansible-core of ansible-core-matrix.txt, each in a virtualenv
# of its own with the controller Python the row names, cached under $KINC_CACHE like the test virtualenv.
#   tests/tooling/core-matrix.sh             every row
#   tests/tooling/core-matrix.sh 2.20.10     the named rows
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/tooling/lib.sh
. "$HERE/lib.sh"

row_venv() { # VERSION PYTHON: the row's virtualenv, created when missing; prints its path
  local venv
  venv=$(kinc_cached_venv "core-$1-py$2" "$2" "$HERE/requirements-core-matrix.txt" "ansible-core==$1") || return 1
  kinc_ansible_test_pip "$venv"
  echo "$venv"
}

failed=0; summary=()
while read -r version python _; do
  case "$version" in ''|\#*) continue ;; esac
  if [ $# -gt 0 ] && [[ " $* " != *" $version "* ]]; then continue; fi
  ts=$(date +%s); result=passed
  if ! venv=$(row_venv "$version" "$python"); then
    result="FAILED (no virtualenv)"
  else
    log "ansible-core $version on Python $python: sanity"
    KINC_VENV=$venv bash "$HERE/sanity.sh" || result=FAILED
    log "ansible-core $version on Python $python: unit"
    (cd "$KINC_REPO" && "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit) || result=FAILED
  fi
  [ "$result" = passed ] || failed=1
  summary+=("$(printf 'ansible-core %-8s Python %-5s %-7s %4ss' "$version" "$python" "$result" "$(( $(date +%s) - ts ))")")
done < "$HERE/ansible-core-matrix.txt"
printf '  %s\n' "${summary[@]}" >&2
exit "$failed"

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
  local key venv python
  key=$( (cat "$HERE/requirements-core-matrix.txt"; echo "ansible-core $1 python $2") | sha256sum | cut -c1-12)
  venv="$KINC_CACHE/venv-core-$1-py$2-$key"
  if [ ! -x "$venv/bin/ansible-test" ]; then
    python=$(kinc_python "$2") || return 1
    log "creating $venv"
    rm -rf "$venv"
    if ! { "$python" -m venv "$venv" && "$venv/bin/pip" install -q --upgrade pip &&
           "$venv/bin/pip" install -q -r "$HERE/requirements-core-matrix.txt" "ansible-core==$1"; }; then
      rm -rf "$venv"; return 1
    fi
  fi
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

#!/usr/bin/env bash
# The collection the Galaxy way, in a virtualenv of its own (requirements-galaxy.txt), offline (no Galaxy, no
# containers): changelog fragments (antsibull-changelog lint, a fragment for each code change, the changelog
# the next release would write), antsibull-docs lint-collection-docs, the docsite built from the collection,
# and galaxy-importer on the tarball `ansible-galaxy collection build` makes.
# Results in tests/output/galaxy/: the tarball, importer.log, CHANGELOG-preview.rst, docsite/build/html.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/tooling/lib.sh
. "$HERE/lib.sh"
venv=$(kinc_cached_venv galaxy "$KINC_PYTHON_VERSION" "$HERE/requirements-galaxy.txt") || exit 1
export PATH="$venv/bin:$PATH"
out="$KINC_REPO/tests/output/galaxy"
rm -rf "$out"; mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The tracked files (and new untracked ones) at a path ending in ansible_collections/kinc/kinc, as
# antsibull-docs and ansible-doc find a collection.
coll="$work/ansible_collections/kinc/kinc"
mkdir -p "$coll"
(cd "$KINC_REPO" && git ls-files -z --cached --others --exclude-standard |
  xargs -0 -I{} cp --parents -P {} "$coll/" 2>/dev/null) || true
export ANSIBLE_COLLECTIONS_PATH="$work"
version=$(sed -n 's/^version: *//p' "$coll/galaxy.yml")

failed=()
check() { # NAME COMMAND...
  local name=$1; shift
  log "galaxy: $name"
  "$@" || { echo "galaxy: $name FAILED" >&2; failed+=("$name"); }
}

changelog_preview() { # what the release of $version would write, in a copy (the checkout keeps its fragments)
  cp -a "$coll" "$work/release" && (cd "$work/release" &&
    antsibull-changelog release --version "$version" --date "$(date +%F)" &&
    antsibull-changelog generate && cp CHANGELOG.rst "$out/CHANGELOG-preview.rst")
}

# Offline, Sphinx cannot fetch the Ansible docsite's inventories: references into it (labels the module pages
# of every collection use) are the only warnings allowed.
docsite() {
  mkdir -m 755 "$out/docsite" || return 1
  antsibull-docs sphinx-init --use-current --fail-on-error --lenient --dest-dir "$out/docsite" kinc.kinc >/dev/null || return 1
  if ! "$out/docsite/build.sh" >"$out/docsite.log" 2>&1; then tail -20 "$out/docsite.log"; return 1; fi
  local unexpected
  unexpected=$(grep 'WARNING' "$out/docsite.log" | grep -vE "failed to reach any of the inventories|undefined label: '(common_return_values|action_plugins|ansible_configuration_settings)'")
  [ -z "$unexpected" ] || { echo "$unexpected"; return 1; }
}

importer() {
  # Galaxy requires a repository link, and kinc has no public repository yet (galaxy.yml leaves it out rather than
  # invent one): the tarball checked here gets a reserved, never-resolving stand-in. Set the real one to publish.
  if ! grep -q '^repository:' "$coll/galaxy.yml"; then
    echo "galaxy: galaxy.yml has no repository, which Galaxy requires; checking with a stand-in (example.invalid)" >&2
    echo 'repository: https://example.invalid/kinc/kinc' >> "$coll/galaxy.yml"
  fi
  ansible-galaxy collection build --force --output-path "$out" "$coll" >/dev/null || return 1
  local tarball="$out/kinc-kinc-$version.tar.gz"
  # (it writes importer_result.json into the current directory)
  (cd "$out" && GALAXY_IMPORTER_CONFIG="$HERE/galaxy-importer.cfg" python -m galaxy_importer.main "$tarball") \
    >"$out/importer.log" 2>&1 || { tail -20 "$out/importer.log"; return 1; }
  # The importer passes what Galaxy would show the collection's users as warnings: none are expected.
  ! grep -E '^(WARNING|ERROR)' "$out/importer.log" && grep -q 'Importer processing completed successfully' "$out/importer.log"
}

fragments_lint() { (cd "$coll" && antsibull-changelog lint && antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml); }
docs_lint() { (cd "$coll" && antsibull-docs lint-collection-docs --plugin-docs .); }

check "changelog fragments lint" fragments_lint
check "a fragment for each code change" bash "$HERE/changelog-check.sh" "$KINC_REPO"
check "changelog preview" changelog_preview
check "antsibull-docs lint-collection-docs" docs_lint
check "docsite" docsite
check "galaxy-importer" importer
[ ${#failed[@]} -eq 0 ] || { echo "galaxy: failed: ${failed[*]}" >&2; exit 1; }
log "galaxy: all passed ($out)"

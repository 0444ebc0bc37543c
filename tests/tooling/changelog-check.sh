#!/usr/bin/env bash
# A change to the code users get comes with a changelog fragment (changelogs/fragments/*.yml, antsibull-changelog;
# a `trivial:` one for what users do not see). Run in a git checkout (CI: a fresh clone of main):
# - when the code changed since the last release in changelogs/changelog.yaml (or nothing is released yet),
#   there is at least one fragment;
# - every change on the first-parent history since changelogs/ came in (a commit, or a merge as one change) that
#   touches the code adds or changes a fragment, or is a release (it moved the fragments into changelog.yaml);
# - uncommitted changes to the code come with an uncommitted fragment.
#   tests/tooling/changelog-check.sh [REPO]
set -euo pipefail
cd "${1:-$(dirname "$0")/../..}"
CODE='^(plugins|roles|playbooks|meta|files)/|^deploy\.sh$'
DOCS='\.md$'  # a README beside the code is documentation
FRAGMENT='^changelogs/fragments/[^/]+\.ya?ml$|^changelogs/changelog\.yaml$'
code_files() { grep -E "$CODE" | grep -vE "$DOCS"; }
failed=0
fail() { echo "changelog: $*" >&2; failed=1; }

# The newest release: the last change of changelog.yaml once it names a release.
last_release=""
if grep -qE '^  [0-9]+\.[0-9]+\.[0-9]+' changelogs/changelog.yaml 2>/dev/null; then
  last_release=$(git log -1 --first-parent --format=%H -- changelogs/changelog.yaml)
fi
# (git keeps no empty directory: after a release, a fresh clone may have no changelogs/fragments/)
fragments=$({ find changelogs/fragments -maxdepth 1 -type f \( -name '*.yml' -o -name '*.yaml' \) 2>/dev/null || true; } | wc -l)
if [ -z "$last_release" ]; then
  [ "$fragments" -gt 0 ] || fail "nothing is released yet, so the code's changes need fragments in changelogs/fragments/"
elif ! git diff --quiet "$last_release" HEAD -- plugins roles playbooks meta files deploy.sh && [ "$fragments" -eq 0 ]; then
  fail "the code changed since the release of $(git log -1 --format=%h "$last_release") and changelogs/fragments/ is empty"
fi

start=""
while read -r commit; do
  if git cat-file -e "$commit:changelogs/config.yaml" 2>/dev/null; then start=$commit; break; fi
done < <(git rev-list --first-parent --reverse HEAD)
[ "$(git rev-parse --is-shallow-repository)" = false ] || [ -z "$start" ] ||
  echo "changelog: a shallow clone: only the changes since $(git log -1 --format=%h "$start") are checked" >&2
checked=0
[ -z "$start" ] || while read -r commit; do
  changed=$(git diff --name-only "$commit^1" "$commit")
  checked=$((checked + 1))
  if [ -n "$(code_files <<<"$changed")" ] && ! grep -qE "$FRAGMENT" <<<"$changed"; then
    fail "$(git log -1 --format='%h "%<(60,trunc)%s"' "$commit") changes $(code_files <<<"$changed" | head -3 | paste -sd' ') without a fragment"
  fi
done < <(git rev-list --first-parent "$start..HEAD")

pending=$( (git diff --name-only HEAD; git ls-files --others --exclude-standard) | sort -u)
if [ -n "$(code_files <<<"$pending")" ] && ! grep -qE "$FRAGMENT" <<<"$pending"; then
  fail "uncommitted changes to $(code_files <<<"$pending" | head -3 | paste -sd' ') without a fragment"
fi
[ "$failed" -eq 1 ] || echo "changelog: $fragments fragment(s); $checked change(s) since changelogs/ came in, each with its fragment" >&2
exit "$failed"

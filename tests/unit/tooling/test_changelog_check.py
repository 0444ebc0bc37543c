# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/tooling/changelog-check.sh on small git histories: a change to the code on main's first-parent history
since changelogs/ came in needs a fragment; a merge counts as one change; history before it is not judged."""

import os
import subprocess

import pytest

SCRIPT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', 'tooling', 'changelog-check.sh'))


class Repo:
    def __init__(self, path):
        self.path = str(path)
        self.git('init', '-q', '-b', 'main')

    def git(self, *args):
        env = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@example.org', GIT_COMMITTER_NAME='t',
                   GIT_COMMITTER_EMAIL='t@example.org')
        return subprocess.run(['git', '-C', self.path] + list(args), env=env, check=True,
                              stdout=subprocess.PIPE).stdout.decode()

    def write(self, name, text='x\n'):
        path = os.path.join(self.path, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'a') as handle:
            handle.write(text)

    def commit(self, message, *names):
        for name in names:
            self.write(name)
        self.git('add', '-A')
        self.git('commit', '-q', '-m', message)

    def check(self):
        return subprocess.run(['bash', SCRIPT, self.path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              check=False)


@pytest.fixture
def repo(tmp_path):
    """History before the fragments (judged by nobody), then the commit that brings changelogs/ in."""
    repo = Repo(tmp_path)
    repo.commit('old code without fragments', 'plugins/modules/a.py', 'roles/r/tasks/main.yml')
    repo.write('changelogs/config.yaml', 'title: t\n')
    repo.write('changelogs/changelog.yaml', '---\nancestor: null\nreleases: {}\n')
    repo.commit('changelog fragments', 'changelogs/fragments/history.yml')
    return repo


def test_the_history_converted_passes(repo):
    result = repo.check()
    assert result.returncode == 0, result.stderr


def test_a_code_change_without_a_fragment_fails_naming_it(repo):
    repo.commit('a change users see', 'plugins/modules/a.py')
    result = repo.check()
    assert result.returncode == 1
    assert b'"a change users see' in result.stderr and b'plugins/modules/a.py' in result.stderr


def test_a_code_change_with_a_fragment_and_a_change_beside_the_code_pass(repo):
    repo.commit('a change users see', 'plugins/modules/a.py', 'changelogs/fragments/a.yml')
    repo.commit('docs and tests only', 'README.md', 'tests/unit/test_a.py', 'roles/r/README.md',
                'files/image/README.md')
    assert repo.check().returncode == 0


def test_a_merge_is_one_change(repo):
    repo.git('checkout', '-q', '-b', 'topic')
    repo.commit('topic 1', 'roles/r/tasks/main.yml')
    repo.commit('topic 2', 'deploy.sh')
    repo.git('checkout', '-q', 'main')
    repo.git('merge', '-q', '--no-ff', '--no-commit', 'topic')
    repo.git('commit', '-q', '-m', 'merge topic without a fragment')
    result = repo.check()
    assert result.returncode == 1 and b'merge topic without a fragment' in result.stderr
    assert b'topic 1' not in result.stderr
    repo.git('reset', '-q', '--hard', 'HEAD^')
    repo.git('merge', '-q', '--no-ff', '--no-commit', 'topic')
    repo.write('changelogs/fragments/topic.yml')
    repo.git('add', '-A')
    repo.git('commit', '-q', '-m', 'merge topic with its fragment')
    assert repo.check().returncode == 0


def test_uncommitted_code_needs_an_uncommitted_fragment(repo):
    repo.write('files/image/Containerfile')
    result = repo.check()
    assert result.returncode == 1 and b'uncommitted changes to files/image/Containerfile' in result.stderr
    repo.write('changelogs/fragments/image.yml')
    assert repo.check().returncode == 0


def test_unreleased_code_needs_fragments(repo):
    repo.git('rm', '-q', 'changelogs/fragments/history.yml')
    repo.git('commit', '-q', '-m', 'fragments gone')
    result = repo.check()
    assert result.returncode == 1 and b'nothing is released yet' in result.stderr

# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection claims about ansible-core is what its tests run: requires_ansible starts at the oldest
release of the matrix (tests/tooling/ansible-core-matrix.txt plus the test virtualenv's requirements.txt),
deploy.sh accepts the same minimum, and the ansible-core its virtualenv installs is a tested release."""

import glob
import os
import re

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
TOOLING = os.path.join(ROOT, 'tests', 'tooling')


def read(*path):
    with open(os.path.join(ROOT, *path)) as handle:
        return handle.read()


def minor(version):
    return tuple(int(part) for part in version.split('.')[:2])


def matrix_versions():
    rows = [line.split()[0] for line in read('tests', 'tooling', 'ansible-core-matrix.txt').splitlines()
            if line.strip() and not line.startswith('#')]
    assert rows, 'ansible-core-matrix.txt has no rows'
    return rows


def venv_version():
    return re.search(r'^ansible-core==(\S+)$', read('tests', 'tooling', 'requirements.txt'), re.M).group(1)


def minors_tested():
    return sorted(set(minor(v) for v in matrix_versions() + [venv_version()]))


def test_the_test_virtualenv_has_the_newest_release():
    assert minor(venv_version()) == minors_tested()[-1]


def test_requires_ansible_starts_at_the_oldest_tested_release():
    runtime = yaml.safe_load(read('meta', 'runtime.yml'))
    assert runtime['requires_ansible'] == '>=%d.%d.0' % minors_tested()[0]


def test_deploy_sh_minimum_is_the_oldest_tested_release():
    oldest = minors_tested()[0]
    assert oldest[0] == 2
    assert re.search(r'^MIN_MINOR=(\d+)$', read('deploy.sh'), re.M).group(1) == str(oldest[1])


def test_deploy_sh_virtualenvs_get_tested_releases():
    """Each range deploy.sh installs into a virtualenv, '>=2.A,<2.B', spans tested minor releases only."""
    ranges = re.findall(r"^VENV_CORE\w*='ansible-core>=2\.(\d+),<2\.(\d+)'$", read('deploy.sh'), re.M)
    assert len(ranges) == 2, ranges
    for low, high in ranges:
        assert set((2, m) for m in range(int(low), int(high))) <= set(minors_tested()), (low, high)
    assert max(int(high) for _low, high in ranges) == minors_tested()[-1][1] + 1


def requirements(name):
    """{package name, lower case: the requirement line} of tests/tooling/<name>."""
    lines = [line.strip() for line in read('tests', 'tooling', name).splitlines()]
    return dict((re.split(r'[=<>\[ ]', line, maxsplit=1)[0].lower(), line) for line in lines
                if line and not line.startswith('#'))


def test_the_matrix_virtualenvs_have_what_the_unit_tests_import():
    """Each package of requirements.txt that tests/unit imports is in the matrix's requirements, pinned alike."""
    imported = set()
    for path in glob.glob(os.path.join(ROOT, 'tests', 'unit', '**', '*.py'), recursive=True):
        with open(path) as handle:
            imported.update(re.findall(r'^\s*(?:import|from) (\w+)', handle.read(), re.M))
    module_of = {'pyyaml': 'yaml', 'kubernetes-validate': 'kubernetes_validate'}
    main, matrix = requirements('requirements.txt'), requirements('requirements-core-matrix.txt')
    needed = [name for name in main if module_of.get(name, name.replace('-', '_')) in imported]
    assert 'pytest' in needed and 'pyyaml' in needed
    for name in needed:
        if name != 'ansible-core':
            assert matrix.get(name) == main[name], name

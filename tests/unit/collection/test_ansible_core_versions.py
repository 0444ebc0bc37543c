# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection claims about ansible-core is what its tests run: requires_ansible starts at the oldest
release of the matrix (tests/tooling/ansible-core-matrix.txt plus the test virtualenv's requirements.txt),
deploy.sh accepts the same minimum, and the ansible-core its virtualenv installs is a tested release."""

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

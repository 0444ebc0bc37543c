# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""deploy.sh's way to a working ansible-core on a fresh Debian trixie host (the test host: python3 without
venv, no ansible, empty apt lists), as the user kinc: each branch is taken for real where the host reaches
Debian (and PyPI, for the virtualenv); the choice itself (KINC_DEPLOY_DRY_RUN=1) is checked in any case.
Real runs end in `ansible-playbook --syntax-check` of playbooks/deploy.yml, which needs the whole collection."""

import subprocess

import pytest

from conftest import REPO

CHECKOUT = '/home/kinc/kinc'
SHIPPED = ['deploy.sh', 'galaxy.yml', 'meta', 'playbooks', 'plugins', 'roles', 'files']


def deploy(host, *args, dry_run=False, path=None):
    env = ['KINC_DEPLOY_DRY_RUN=1'] if dry_run else []
    if path:
        env.append('PATH=%s' % path)
    return host.as_user(*(env + ['%s/deploy.sh' % CHECKOUT] + list(args)), check=False)


def reaches(host, url):
    return host.exec('curl', '-sSf', '-o', '/dev/null', '--max-time', '20', url, check=False).returncode == 0


@pytest.fixture(scope='module')
def checkout(testhost):
    tar = subprocess.run(['tar', '-C', REPO, '-cf', '-'] + SHIPPED, stdout=subprocess.PIPE, check=True).stdout
    testhost.as_user('mkdir', '-p', CHECKOUT)
    testhost.as_user('tar', '-C', CHECKOUT, '-xf', '-', input=tar)
    return testhost


def test_without_any_way_it_names_the_package_and_changes_nothing(checkout):
    for dry_run in (True, False):
        result = deploy(checkout, dry_run=dry_run)
        message = result.stderr.decode()
        assert result.returncode == 1, message
        assert 'deploy.sh needs ansible-core >= 2.16' in message
        assert 'sudo apt-get update && sudo apt-get install ansible-core' in message
        assert 'python3.13-venv' in message
    assert checkout.exec('ls', '-A', CHECKOUT).stdout.split() == sorted(s.encode() for s in SHIPPED)


def test_the_choice_follows_what_apt_offers(checkout):
    """The decision with apt answering as Debian 12 (too old) and Debian 13 would (a stub apt-cache)."""
    checkout.as_user('mkdir', '-p', '/home/kinc/stub')
    for candidate, expected in (('2.14.18-0+deb12u2', 'ansible-core 2.14.18-0+deb12u2 is older than 2.16'),
                                ('2.19.4-1', 'kinc: ansible-core from: package apt ansible-core 2.19.4-1')):
        checkout.as_user('tee', '/home/kinc/stub/apt-cache', input=(
            '#!/bin/sh\necho "ansible-core:"\necho "  Installed: (none)"\necho "  Candidate: %s"\n' % candidate).encode())
        checkout.as_user('chmod', '+x', '/home/kinc/stub/apt-cache')
        result = deploy(checkout, dry_run=True, path='/home/kinc/stub:/usr/bin:/bin')
        assert expected in (result.stdout + result.stderr).decode()


def test_distribution_package_then_path_then_virtualenv(checkout):
    if not reaches(checkout, 'http://deb.debian.org/debian/dists/trixie/Release'):
        pytest.skip('the test host does not reach deb.debian.org: only the choice is tested')
    checkout.exec('apt-get', 'update', '-q')
    chosen = deploy(checkout, dry_run=True)
    assert chosen.stdout.decode().startswith('kinc: ansible-core from: package apt ansible-core 2.'), chosen

    installed = deploy(checkout, '--syntax-check')
    assert installed.returncode == 0, installed
    assert b"installing Debian GNU/Linux 13 (trixie)'s ansible-core" in installed.stderr
    assert b'playbook: %s/playbooks/deploy.yml' % CHECKOUT.encode() in installed.stdout
    assert deploy(checkout, dry_run=True).stdout.decode().strip() == \
        'kinc: ansible-core from: path /usr/bin/ansible-playbook'

    # Without the package and with apt unable to offer one, but with python3-venv: a virtualenv.
    checkout.exec('apt-get', 'install', '-y', '-q', 'python3-venv')
    checkout.exec('apt-get', 'purge', '-y', '-q', 'ansible-core', 'ansible')
    checkout.exec('sh', '-c', 'rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin')
    assert deploy(checkout, dry_run=True).stdout.decode().strip() == \
        'kinc: ansible-core from: venv %s/.venv' % CHECKOUT
    if not reaches(checkout, 'https://pypi.org/simple/ansible-core/'):
        pytest.skip('the test host does not reach PyPI: the virtualenv branch is tested as a choice only')
    in_venv = deploy(checkout, '--syntax-check')
    assert in_venv.returncode == 0, in_venv
    assert b'installing ansible-core into %s/.venv' % CHECKOUT.encode() in in_venv.stderr
    assert deploy(checkout, dry_run=True).stdout.decode().strip() == \
        'kinc: ansible-core from: existing-venv %s/.venv' % CHECKOUT

# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""deploy.sh's way to a working ansible-core on a fresh Debian trixie host (the test host: python3 without
venv, no ansible, apt lists never fetched, as cloud and container images ship), as the user kinc (password-less
sudo) and as a user without sudo: each branch is taken for real where the host reaches Debian (and PyPI, for the
virtualenv); the choice itself (KINC_DEPLOY_DRY_RUN=1) is checked in any case. Real runs end in
`ansible-playbook --syntax-check` of playbooks/deploy.yml, which needs the whole collection."""

import os
import subprocess

import pytest

from conftest import REPO

SHIPPED = ['deploy.sh', 'galaxy.yml', 'meta', 'playbooks', 'plugins', 'roles', 'files']
GUEST = 'guest'  # a user without sudo rights
TRIXIE = "Debian GNU/Linux 13 (trixie)"
# The outer machine's CA bundle: where its network intercepts TLS, the test host needs it to reach PyPI.
OUTER_CA = '/etc/ssl/certs/ca-certificates.crt'
HOST_CA = '/usr/local/share/kinc-outer-ca.crt'


def checkout_dir(user):
    return '/home/%s/kinc' % user


def as_(host, user, *argv, check=True, input=None):
    return host.exec('runuser', '-u', user, '--', *argv, check=check, input=input)


def deploy(host, *args, user='kinc', dry_run=False, path=None, env=()):
    env = list(env) + (['KINC_DEPLOY_DRY_RUN=1'] if dry_run else [])
    if path:
        env.append('PATH=%s' % path)
    return as_(host, user, 'env', *(env + ['%s/deploy.sh' % checkout_dir(user)] + list(args)), check=False)


def choice(result):
    return result.stdout.decode().strip()


def reaches(host, url, cacert=None):
    return host.exec('curl', '-sSf', '-o', '/dev/null', '--max-time', '20', *(['--cacert', cacert] if cacert else []),
                     url, check=False).returncode == 0


def apt_lists(host):
    """The package lists apt has fetched (none on a fresh image)."""
    return host.exec('sh', '-c', 'ls /var/lib/apt/lists | grep _Packages || true').stdout.split()


def listing(host, user):
    return host.exec('ls', '-A', checkout_dir(user)).stdout.split()


@pytest.fixture(scope='module')
def checkout(testhost):
    """The shipped files of this checkout in the home of kinc and of a user without sudo."""
    tar = subprocess.run(['tar', '-C', REPO, '-cf', '-'] + SHIPPED, stdout=subprocess.PIPE, check=True).stdout
    testhost.exec('useradd', '-m', '-s', '/bin/bash', GUEST)
    for user in ('kinc', GUEST):
        as_(testhost, user, 'mkdir', '-p', checkout_dir(user))
        as_(testhost, user, 'tar', '-C', checkout_dir(user), '-xf', '-', input=tar)
    assert apt_lists(testhost) == [], 'the test host image should ship without apt lists'
    return testhost


def test_without_sudo_or_venv_it_names_the_package_and_changes_nothing(checkout):
    for dry_run in (True, False):
        result = deploy(checkout, user=GUEST, dry_run=dry_run)
        message = result.stderr.decode()
        assert result.returncode == 1, message
        assert 'deploy.sh needs ansible-core >= 2.19' in message
        assert 'sudo apt-get update && sudo apt-get install ansible-core' in message
        assert 'python3.13-venv' in message
    assert listing(checkout, GUEST) == sorted(s.encode() for s in SHIPPED)
    assert apt_lists(checkout) == []


def test_with_sudo_on_a_fresh_host_the_choice_is_to_refresh_the_lists(checkout):
    """The dry run says what a real run does first, and changes nothing (no apt-get update)."""
    result = deploy(checkout, dry_run=True)
    assert result.returncode == 0, result
    assert choice(result) == ("kinc: ansible-core from: apt-refresh apt-get update, then %s's ansible-core where "
                              "it is >= 2.19, else a virtualenv" % TRIXIE)
    assert apt_lists(checkout) == []
    assert listing(checkout, 'kinc') == sorted(s.encode() for s in SHIPPED)


def test_the_choice_follows_what_apt_offers(checkout):
    """The decision with apt answering as Debian 12 and Ubuntu 24.04 (too old) and Debian 13 would (a stub)."""
    as_(checkout, 'kinc', 'mkdir', '-p', '/home/kinc/stub')
    for candidate, expected in (('2.14.18-0+deb12u2', 'ansible-core 2.14.18-0+deb12u2 is older than 2.19'),
                                ('2.16.3-0ubuntu2', 'ansible-core 2.16.3-0ubuntu2 is older than 2.19'),
                                ('2.19.4-1', 'kinc: ansible-core from: package apt ansible-core 2.19.4-1')):
        as_(checkout, 'kinc', 'tee', '/home/kinc/stub/apt-cache', input=(
            '#!/bin/sh\necho "ansible-core:"\necho "  Installed: (none)"\necho "  Candidate: %s"\n' % candidate).encode())
        as_(checkout, 'kinc', 'chmod', '+x', '/home/kinc/stub/apt-cache')
        result = deploy(checkout, dry_run=True, path='/home/kinc/stub:/usr/bin:/bin')
        assert expected in (result.stdout + result.stderr).decode()


def test_a_first_run_refreshes_the_lists_and_takes_the_distribution_package(checkout):
    if not reaches(checkout, 'http://deb.debian.org/debian/dists/trixie/Release'):
        pytest.skip('the test host does not reach deb.debian.org: only the choice is tested')
    installed = deploy(checkout, '--syntax-check')
    assert installed.returncode == 0, installed
    assert b"refreshing %s's package lists (apt-get update)" % TRIXIE.encode() in installed.stderr
    assert b"installing %s's ansible-core 2.19." % TRIXIE.encode() in installed.stderr
    assert b'playbook: %s/playbooks/deploy.yml' % checkout_dir('kinc').encode() in installed.stdout
    assert apt_lists(checkout) != []
    assert choice(deploy(checkout, dry_run=True)) == 'kinc: ansible-core from: path /usr/bin/ansible-playbook'


def test_without_sudo_but_with_venv_a_maintained_ansible_core(checkout):
    """A user without sudo on a host with python3-venv (Python 3.13) gets a virtualenv with 2.20 or 2.21."""
    if not reaches(checkout, 'http://deb.debian.org/debian/dists/trixie/Release'):
        pytest.skip('the test host does not reach deb.debian.org: python3-venv cannot be installed')
    checkout.exec('apt-get', 'update', '-q')
    checkout.exec('apt-get', 'install', '-y', '-q', 'python3-venv')
    checkout.exec('apt-get', 'purge', '-y', '-q', 'ansible-core', 'ansible')
    venv = '%s/.venv' % checkout_dir(GUEST)
    assert choice(deploy(checkout, user=GUEST, dry_run=True)) == \
        'kinc: ansible-core from: venv %s ansible-core>=2.20,<2.22' % venv
    env = []
    if os.path.exists(OUTER_CA):
        with open(OUTER_CA, 'rb') as bundle:
            checkout.exec('tee', HOST_CA, input=bundle.read())
        env = ['PIP_CERT=%s' % HOST_CA]
    if not reaches(checkout, 'https://pypi.org/simple/ansible-core/', cacert=HOST_CA if env else None):
        pytest.skip('the test host does not reach PyPI: the virtualenv branch is tested as a choice only')
    in_venv = deploy(checkout, '--syntax-check', user=GUEST, env=env)
    assert in_venv.returncode == 0, in_venv
    assert b'installing ansible-core>=2.20,<2.22 into %s' % venv.encode() in in_venv.stderr
    version = as_(checkout, GUEST, '%s/bin/ansible-playbook' % venv, '--version').stdout.decode()
    assert version.startswith(('ansible-playbook [core 2.20.', 'ansible-playbook [core 2.21.')), version
    assert choice(deploy(checkout, user=GUEST, dry_run=True)) == \
        'kinc: ansible-core from: existing-venv %s' % venv

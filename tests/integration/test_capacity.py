# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Capacity through the real deploy on a booted test host: a declaration that cannot fit is refused before
anything changes, naming the resource, its numbers and the fix; playbooks/status.yml shows the capacity.

The resource made short is the tasks limit of the user's slice, set by an owner's drop-in that sorts after
kinc's own (so kinc_host cannot raise it): the test host's sysctls are this machine's and are left alone."""

import difflib
import json
import os
import subprocess

import pytest

from conftest import REPO, booted_testhost

OWNER_DROPIN = '/etc/systemd/system/user-1000.slice.d/99-owner.conf'


@pytest.fixture(scope='module')
def host():
    with booted_testhost('capacity') as booted:
        booted.exec('mkdir', '-p', os.path.dirname(OWNER_DROPIN))
        booted.exec('sh', '-c', 'printf "[Slice]\\nTasksMax=3000\\n" > %s && systemctl daemon-reload' % OWNER_DROPIN)
        yield booted


def playbook(host, tmp_path, name, clusters):
    """ansible-playbook kinc.kinc.<name> on the test host (as root through Podman, clusters for user kinc)."""
    path = str(tmp_path / ('inventory-%s.yml' % name))
    with open(path, 'w') as handle:
        handle.write(json.dumps({'all': {'hosts': {host.name: {
            'ansible_connection': 'containers.podman.podman', 'ansible_python_interpreter': '/usr/bin/python3'}},
            'vars': {'kinc_user': 'kinc', 'kinc_node_image': 'localhost/kinc-node-test:latest',
                     'kinc_clusters': [{'name': cluster} for cluster in clusters],
                     # A nested test host: no controllers to delegate, and its sysctls are this machine's.
                     'kinc_host_preflight_ignore': ['cgroup_controllers'],
                     'kinc_host_sysctl_base': {}, 'kinc_host_sysctl_per_cluster': {}}}}))
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_PIPELINING='false')
    proc = subprocess.run(['ansible-playbook', '-i', path, '-e', 'kinc_hosts=%s' % host.name, 'kinc.kinc.%s' % name],
                          cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900, check=False)
    return proc.returncode, proc.stdout.decode(errors='replace')


def host_state(host):
    """What a deploy would change: kinc's and the user's files, the user's Podman objects and units (Podman
    asked first: it makes the user's ~/.config the first time it runs)."""
    volumes = host.as_user('podman', 'volume', 'ls', '-q').stdout
    containers = host.as_user('podman', 'ps', '-aq').stdout
    units = host.as_user('systemctl', '--user', 'list-units', '--all', '--no-legend', 'kinc-*').stdout
    files = host.exec('sh', '-c', 'find /etc /var/lib/kinc /home/kinc/.config /home/kinc/.kube -xdev '
                      '-printf "%p %s %m %u\\n" 2>/dev/null | sort', check=False).stdout
    return files, volumes, containers, units


def test_a_declaration_beyond_capacity_is_refused_with_the_host_unchanged(host, tmp_path):
    before = host_state(host)
    code, output = playbook(host, tmp_path, 'deploy', ['big'])
    assert code != 0, output
    assert '[capacity] 1 new cluster(s) (big) for kinc do not fit: room for 0 more, limited by tasks' in output, output
    assert 'limit 3000 tasks of user-1000.slice' in output, output
    assert 'raise TasksMax in %s' % OWNER_DROPIN in output, output
    # Refused by kinc_host's preflight, before its first change and before any cluster task.
    assert 'Change what is not in force yet' not in output and 'Converge the clusters' not in output, output
    after = host_state(host)
    assert after[0] == before[0], '\n'.join(difflib.unified_diff(
        before[0].decode().splitlines(), after[0].decode().splitlines(), lineterm=''))
    assert after == before
    assert b'90-kinc-tasks.conf' not in after[0] and b'kinc-big' not in after[0]
    assert after[1:3] == (b'', b'')


def test_status_shows_how_many_more_fit_and_what_runs_out_first(host, tmp_path):
    code, output = playbook(host, tmp_path, 'status', [])
    assert code == 0, output
    assert '0 more cluster(s), limited by tasks' in output, output
    lines = [line for line in output.splitlines() if line.strip(' "').startswith(('tasks ', 'memory '))]
    assert len(lines) == 2, output

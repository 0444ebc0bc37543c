# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many hosts at once: three booted test hosts (systemd, rootless Podman for user kinc) in one inventory group
converge two clusters each with one ansible-playbook run of kinc.kinc.deploy. Ansible's forks are the
distributed engine; each host allocates its own ports. How long it takes is bench/run.sh's business."""

import json
import os
import re
import subprocess

import pytest

import conftest
from conftest import REPO, TESTHOST_IMAGE, run

NODE_ARCHIVE = os.environ.get('KINC_NODE_TEST_ARCHIVE', '/var/tmp/kinc-tests/kinc-node-test.tar')
NODE_IMAGE = 'localhost/kinc-node-test:latest'
# The first two hosts take the group's clusters, the third its own (host_vars win over group_vars).
GROUP_CLUSTERS = ['web', 'db']
OWN_CLUSTERS = {'kinc-ta-fleet-3': ['ci-1', 'ci-2']}


def clusters_of(host):
    return OWN_CLUSTERS.get(host.name, GROUP_CLUSTERS)


def inventory(hosts):
    """YAML inventory (JSON is YAML): group kinc_fleet, the Podman connection, the test host's settings."""
    members = {}
    for host in hosts:
        members[host.name] = {'ansible_connection': 'containers.podman.podman',
                              'ansible_python_interpreter': '/usr/bin/python3'}
        if host.name in OWN_CLUSTERS:
            members[host.name]['kinc_clusters'] = [{'name': name} for name in OWN_CLUSTERS[host.name]]
    return json.dumps({'kinc_fleet': {'hosts': members, 'vars': {
        'kinc_user': 'kinc', 'kinc_node_image': NODE_IMAGE,
        'kinc_clusters': [{'name': name} for name in GROUP_CLUSTERS],
        # A nested test host: no cgroup controllers to delegate, and its sysctls are this machine's.
        'kinc_host_preflight_ignore': ['cgroup_controllers'],
        'kinc_host_sysctl_base': {}, 'kinc_host_sysctl_per_cluster': {}}}})


@pytest.fixture(scope='module')
def fleet(tmp_path_factory):
    if run(['podman', 'image', 'exists', TESTHOST_IMAGE], check=False).returncode != 0:
        pytest.fail('%s is missing: run tests/tooling/build-testhost.sh' % TESTHOST_IMAGE)
    if not os.path.isfile(NODE_ARCHIVE):
        pytest.fail('%s is missing: run tests/node_image/build-test-image.sh' % NODE_ARCHIVE)
    # conftest.TestHost, not imported by name: pytest would try to collect it as a test class.
    hosts = [conftest.TestHost('kinc-ta-fleet-%d' % i) for i in (1, 2, 3)]
    try:
        for host in hosts:
            host.start()
        for host in hosts:
            host.enable_linger()
            run(['podman', 'cp', NODE_ARCHIVE, '%s:/var/tmp/node.tar' % host.name])
            host.exec('chmod', '0644', '/var/tmp/node.tar')
            host.as_user('podman', 'load', '-q', '-i', '/var/tmp/node.tar')
            host.exec('rm', '-f', '/var/tmp/node.tar')
        yield hosts
    finally:
        for host in hosts:
            host.remove()


def deploy(hosts, workdir):
    """One ansible-playbook run of kinc.kinc.deploy over the group; returns its output."""
    path = os.path.join(workdir, 'fleet.yml')
    with open(path, 'w') as handle:
        handle.write(inventory(hosts))
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_PIPELINING='false', ANSIBLE_FORKS='5')
    proc = subprocess.run(['ansible-playbook', '-i', path, '-e', 'kinc_hosts=kinc_fleet', 'kinc.kinc.deploy'],
                          cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=1200, check=False)
    output = proc.stdout.decode(errors='replace')
    assert proc.returncode == 0, output
    return output


def recap(output):
    """{host: {ok: n, changed: n, failed: n, ...}} from the PLAY RECAP."""
    return dict((host, dict((k, int(v)) for k, v in re.findall(r'(\w+)=(\d+)', rest)))
                for host, rest in re.findall(r'^(\S+)\s+: (ok=.*)$', output.split('PLAY RECAP')[-1], re.M))


def test_three_hosts_converge_two_clusters_each_in_one_run(fleet, tmp_path):
    output = deploy(fleet, str(tmp_path))
    counts = recap(output)
    assert sorted(counts) == sorted(host.name for host in fleet), output
    for host in fleet:
        assert counts[host.name]['failed'] == 0 and counts[host.name]['unreachable'] == 0, output
        assert counts[host.name]['changed'] > 0, output

    for host in fleet:
        names = clusters_of(host)
        volumes = dict((v['Name'], v['Labels']) for v in json.loads(
            host.as_user('podman', 'volume', 'ls', '--format', 'json').stdout or b'[]'))
        # Only this host's clusters, nothing of the other hosts' inventories.
        assert sorted(volumes) == sorted('kinc-%s-%s' % (n, kind) for n in names for kind in ('config', 'var-data'))
        # Ports are allocated per host: every host's first cluster gets 6443, its second 6444.
        assert [volumes['kinc-%s-config' % n]['io.kinc.api-port'] for n in names] == ['6443', '6444']
        for name in names:
            host.as_user('systemctl', '--user', 'is-active', '-q', 'kinc-%s-control-plane.service' % name)
            status = json.loads(host.as_user('podman', 'exec', 'kinc-%s-control-plane' % name,
                                             'cat', '/var/lib/kinc/status.json').stdout)
            assert status['phase'] == 'ready' and status['cluster'] == name
            kubeconfig = json.loads(host.as_user('cat', '/home/kinc/.kube/kinc-%s.conf' % name).stdout)
            assert kubeconfig['clusters'][0]['cluster']['server'].endswith(
                ':%s' % volumes['kinc-%s-config' % name]['io.kinc.api-port'])

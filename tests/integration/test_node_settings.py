# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cluster's node labels, kubeadm patches and memory/cpus limits through the real deploy (kinc.kinc.deploy:
validation, kinc_host's preflight, kinc_cluster) on a booted test host, as its rootless user kinc, with the node
test image (stand-ins for the Kubernetes binaries, kinc's own init chain): the labels and patches reach the
configuration the node used in both config modes; bad ones and limits the host cannot enforce stop the run
before anything changes; where the host delegates memory and cpu, the limits are the node container's cgroup."""

import json
import os
import re
import subprocess

import pytest
import yaml

from conftest import REPO, booted_testhost

NODE_IMAGE = os.environ.get('KINC_NODE_TEST_IMAGE', 'localhost/kinc-node-test:latest')
LABELS = {'ingress-ready': 'true', 'example.com/tier': 'edge'}
PATCHES = [{'kind': 'ClusterConfiguration', 'apiServer': {'extraArgs': [{'name': 'v', 'value': '2'}]}},
           {'kind': 'KubeletConfiguration', 'serverTLSBootstrap': True}]
CLUSTERS = [{'name': 'lab', 'node_labels': LABELS, 'kubeadm_patches': PATCHES},
            {'name': 'bake', 'config_mode': 'baked', 'node_labels': LABELS}]


@pytest.fixture(scope='module')
def host(tmp_path_factory):
    with booted_testhost('settings') as testhost:
        testhost.load_image(NODE_IMAGE, str(tmp_path_factory.mktemp('images')))
        yield testhost


def deploy(host, workdir, clusters, **role_vars):
    """kinc.kinc.deploy on the test host: (exit code, output)."""
    path = os.path.join(str(workdir), 'inventory.yml')
    with open(path, 'w') as handle:
        json.dump({'all': {'hosts': {host.name: {
            'ansible_connection': 'containers.podman.podman', 'ansible_python_interpreter': '/usr/bin/python3'}},
            'vars': {'kinc_user': host.USER, 'kinc_node_image': NODE_IMAGE, 'kinc_node_image_build': False,
                     'kinc_clusters': clusters,
                     # A nested test host: no cgroup controllers to delegate, and its sysctls are this machine's.
                     'kinc_host_preflight_ignore': ['cgroup_controllers'],
                     'kinc_host_sysctl_base': {}, 'kinc_host_sysctl_per_cluster': {}, **role_vars}}}, handle)
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_PIPELINING='false')
    proc = subprocess.run(['ansible-playbook', '-i', path, '-e', 'kinc_hosts=all', 'kinc.kinc.deploy'], cwd=REPO,
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=1200, check=False)
    return proc.returncode, proc.stdout.decode(errors='replace')


def node_file(host, cluster, path):
    return host.as_user('podman', 'exec', 'kinc-%s-control-plane' % cluster, 'cat', path).stdout.decode()


def documents(text):
    return dict((d['kind'], d) for d in yaml.safe_load_all(text) if d)


def volumes(host):
    return sorted(v['Name'] for v in json.loads(host.as_user('podman', 'volume', 'ls', '--format', 'json').stdout
                                                or b'[]'))


def test_a_patch_of_what_kinc_owns_stops_the_deploy_before_anything_changes(host, tmp_path):
    code, output = deploy(host, tmp_path, [{'name': 'lab', 'kubeadm_patches': [
        {'kind': 'ClusterConfiguration', 'networking': {'podSubnet': '10.0.0.0/16'}}]}])
    assert code != 0
    assert ('kinc_clusters[0].kubeadm_patches[0].networking.podSubnet: is set by kinc for the node to work; '
            'fix: leave it out of the patch') in output
    assert volumes(host) == []


def test_labels_and_patches_are_in_the_configuration_the_node_used_in_both_modes(host, tmp_path):
    code, output = deploy(host, tmp_path, CLUSTERS)
    assert code == 0, output
    labels = 'example.com/tier=edge,ingress-ready=true'
    for cluster in ('lab', 'bake'):
        status = json.loads(node_file(host, cluster, '/var/lib/kinc/status.json'))
        assert status['phase'] == 'ready', status
        used = documents(node_file(host, cluster, '/var/lib/kinc/kubeadm.yaml'))
        assert used['InitConfiguration']['nodeRegistration']['kubeletExtraArgs'] == [
            {'name': 'node-labels', 'value': labels}, {'name': 'node-ip', 'value': '10.255.255.254'}]
    # Mounted: the collection merged the patches into the config volume's kubeadm.conf; the node used it.
    mounted = documents(node_file(host, 'lab', '/etc/kinc/config/kubeadm.conf'))
    used = documents(node_file(host, 'lab', '/var/lib/kinc/kubeadm.yaml'))
    for docs in (mounted, used):
        assert docs['ClusterConfiguration']['apiServer']['extraArgs'] == [{'name': 'v', 'value': '2'}]
        assert docs['ClusterConfiguration']['apiServer']['certSANs'][0] == 'localhost'
        assert docs['KubeletConfiguration']['serverTLSBootstrap'] is True
        assert docs['KubeletConfiguration']['cgroupDriver'] == 'cgroupfs'
    # Baked: only cluster.env in the volume; the node put the labels into its own template's rendering.
    assert 'KINC_NODE_LABELS=%s\n' % labels in node_file(host, 'bake', '/etc/kinc/config/cluster.env')
    assert host.as_user('podman', 'exec', 'kinc-bake-control-plane', 'test', '-e', '/etc/kinc/config/kubeadm.conf',
                        check=False).returncode == 1
    # No limits declared: kubelet reserves nothing.
    assert node_file(host, 'lab', '/run/kinc/kubelet.env') == 'KUBELET_EXTRA_ARGS=\n'
    # The same declaration again changes nothing (the merged YAML is written the same way every time).
    code, output = deploy(host, tmp_path, CLUSTERS)
    assert code == 0 and re.search(r'^%s\s+: ok=\d+\s+changed=0 ' % re.escape(host.name), output, re.M), output


def user_controllers(host):
    path = '/sys/fs/cgroup/user.slice/user-%d.slice/user@%d.service/cgroup.controllers' % (host.UID, host.UID)
    return host.exec('cat', path, check=False).stdout.decode().split()


def test_limits_the_host_cannot_enforce_stop_the_deploy_at_the_preflight(host, tmp_path):
    controllers = user_controllers(host)
    if 'memory' in controllers:
        pytest.skip('the test host delegates memory to %s: its limit can be enforced' % host.USER)
    unit = host.as_user('cat', '/home/kinc/.config/containers/systemd/kinc-lab-control-plane.container').stdout
    # The role-wide default counts like a cluster's own memory.
    code, output = deploy(host, tmp_path, CLUSTERS, kinc_memory='2g')
    assert code != 0
    assert '[cgroup_limits] clusters declare memory/cpus limits, but the root cgroup lacks the controllers memory' \
        in output, output
    # Nothing changed: the node's unit is the one of the previous run.
    assert host.as_user('cat', '/home/kinc/.config/containers/systemd/kinc-lab-control-plane.container').stdout == unit


def test_the_limits_are_the_node_containers_cgroup_and_kubelets_allocatable(host, tmp_path):
    controllers = user_controllers(host)
    if not {'memory', 'cpu'} <= set(controllers):
        pytest.skip('user@%d.service in the test host has the cgroup controllers [%s], not memory and cpu: this '
                    "machine's cgroup v2 hierarchy offers none to the test host (hybrid cgroups: memory and cpu "
                    'are bound to cgroup v1), so no container there can be limited' % (host.UID, ' '.join(controllers)))
    code, output = deploy(host, tmp_path, [dict(CLUSTERS[0], memory='2g', cpus='1.5'), CLUSTERS[1]])
    assert code == 0, output
    cgroup = host.as_user('podman', 'inspect', '--format', '{{.State.CgroupPath}}',
                          'kinc-lab-control-plane').stdout.decode().strip()
    assert host.exec('cat', '/sys/fs/cgroup%s/memory.max' % cgroup).stdout == b'2147483648\n'
    assert host.exec('cat', '/sys/fs/cgroup%s/cpu.max' % cgroup).stdout == b'150000 100000\n'
    total = int(node_file(host, 'lab', '/proc/meminfo').split('MemTotal:')[1].split()[0]) * 1024
    reserved = node_file(host, 'lab', '/run/kinc/kubelet.env')
    assert reserved.startswith('KUBELET_EXTRA_ARGS=--system-reserved=memory=%d,cpu=' % (total - 2147483648))

# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node's init chain under real systemd: files/image's own units and scripts in the node test image,
with the real CRI-O and crictl (tests/node_image/build-runtime.sh) and stand-ins only for kubeadm, kubelet,
kubectl and the pause image (tests/node_image/standins, pause/)."""

import json
import os

import pytest

from conftest import ROOTFS, STEPS, cluster_env

from ansible_collections.kinc.kinc.plugins.module_utils.node import config_render

STANDIN_VERSION = 'v1.33.5'


def states(status):
    return [(step['name'], step['state']) for step in status['steps']]


def step(status, name):
    return next(s for s in status['steps'] if s['name'] == name)


def kubeadm_phases(node):
    log = node.read('/var/log/kinc-standin/kubeadm.log')
    return [line.split(' ', 2)[2] for line in log.splitlines() if ' init phase ' in line or ' reset ' in line]


def test_baked_in_config_boots_to_ready_and_comes_back_without_kubeadm_init(make_node):
    node = make_node('baked')
    node.write_config(cluster_env('baked', events=1))
    node.start()
    status = node.settle()

    assert status['schema'] == 1 and status['cluster'] == 'baked' and status['phase'] == 'ready'
    assert [s['name'] for s in status['steps']] == STEPS
    assert all(s['state'] == 'done' and s['started'] and s['finished'] >= s['started'] for s in status['steps'])
    assert step(status, 'preflight')['message'].startswith('kubeadm config: baked-in /etc/kinc/kubeadm.conf.tmpl')
    assert step(status, 'crio')['unit'] == 'crio.service'
    # Root Podman: no user namespace, so CRI-O runs crun as it is.
    assert status['runtime']['route'] == 'root'
    assert step(status, 'cgroups')['message'].endswith('; runtime route: root')
    crio_pid = node.exec_('systemctl', 'show', '-P', 'MainPID', 'crio.service').stdout.strip()
    crio_env = node.read('/proc/%s/environ' % crio_pid).split('\0')
    assert not [v for v in crio_env if v.startswith(('_CRIO_ROOTLESS=', 'CONTAINER_DEFAULT_RUNTIME=',
                                                     '_CONTAINERS_USERNS_CONFIGURED='))]
    assert 'RuntimeVersion:  1.36.3' in node.exec_('crictl', 'version').stdout
    assert step(status, 'certs')['unit'] == 'kinc-kubeadm-init.service'
    assert node.file_exists('/var/lib/kinc/initialized')
    rendered = node.read('/var/lib/kinc/kubeadm.yaml')
    assert 'podSubnet: "10.244.43.0/24"' in rendered
    assert 'kubernetesVersion: "%s"' % STANDIN_VERSION in rendered
    assert 'KubeletInUserNamespace: false' in rendered  # root Podman: no user namespace
    assert 'advertiseAddress: "%s"' % config_render.NODE_IP in rendered
    assert node.read('/proc/sys/net/ipv4/ip_forward') == '1\n'
    assert 'inet %s/32' % config_render.NODE_IP in node.exec_('ip', '-4', 'addr', 'show', 'lo').stdout
    cni = json.loads(node.read('/etc/cni/net.d/10-kinc.conflist'))
    assert [p['type'] for p in cni['plugins']] == ['ptp']
    assert cni['plugins'][0]['ipam']['ranges'] == [[{'subnet': '10.244.43.0/24'}]]
    assert step(status, 'datapath')['message'] == (
        'pod network: resolved kubernetes.default.svc.cluster.local via 10.43.0.10; '
        'the API answered through 10.43.0.1')
    probe = [line for line in node.read('/var/log/kinc-standin/kubectl.log').splitlines() if 'kinc-datapath' in line]
    assert probe and 'delete pod kinc-datapath' in probe[-1], 'the probe pod was not removed'
    kubeconfig = json.loads(node.exec_('kubectl', '--kubeconfig', '/etc/kubernetes/admin.conf', 'config', 'view',
                                       '--raw', '-o', 'json').stdout)
    assert kubeconfig['clusters'][0]['cluster']['server'] == 'https://%s:6443' % node.name
    events = [json.loads(line) for line in node.read('/var/log/kinc/events.jsonl').splitlines()]
    assert {e['reason'] for e in events} == {'Starting', 'RegisteredNode'}
    first_phases = kubeadm_phases(node)
    assert [p.split(' --config')[0] for p in first_phases] == [
        'init phase preflight', 'init phase certs all', 'init phase kubeconfig all', 'init phase etcd local',
        'init phase control-plane all', 'init phase kubelet-start', 'init phase upload-config all',
        'init phase mark-control-plane', 'init phase bootstrap-token', 'init phase kubelet-finalize all',
        'init phase addon all']

    # A restart recreates the container on the same /var volume (Quadlet runs it with --rm).
    node.start()
    again = node.settle()
    assert again['phase'] == 'ready', again
    assert step(again, 'certs')['message'].startswith('kept from the first boot')
    assert step(again, 'kubelet')['state'] == 'done' and step(again, 'apiserver')['state'] == 'done'
    assert kubeadm_phases(node) == first_phases, 'kubeadm ran again on an initialised node'
    lines = node.read('/var/log/kinc/events.jsonl').splitlines()
    assert len(lines) == len(events), 'events were written twice after the restart'

    # A new api_address re-issues the API server certificate at the next start (only that certificate).
    node.write_config(cluster_env('baked', events=1, KINC_API_ADDRESS='192.0.2.10'))
    node.start()
    moved = node.settle()
    assert moved['phase'] == 'ready', moved
    assert step(moved, 'certs')['message'] == (
        'API server certificate re-issued for the SANs localhost 127.0.0.1 %s 192.0.2.10' % node.name)
    assert [p.split(' --')[0] for p in kubeadm_phases(node)[len(first_phases):]] == ['init phase certs apiserver']
    node.start()
    assert step(node.settle(), 'certs')['message'].startswith('kept from the first boot')
    assert len(kubeadm_phases(node)) == len(first_phases) + 1


def test_mounted_config_is_used_and_events_stay_off(make_node):
    node = make_node('mounted')
    with open(os.path.join(ROOTFS, 'etc/kinc/kubeadm.conf.tmpl')) as handle:
        template = handle.read()
    mounted = config_render.render_kubeadm_config(template, 'mounted', '10.244.77.0/24', '10.77.0.0/16',
                                                  rootless=True)
    node.write_config(cluster_env('mounted', events=0), mounted)
    node.start()
    status = node.settle()

    assert status['phase'] == 'ready', status
    assert step(status, 'preflight')['message'] == 'kubeadm config: mounted /etc/kinc/config/kubeadm.conf'
    # The node fills only what the collection left to it: the image's Kubernetes version.
    assert node.read('/var/lib/kinc/kubeadm.yaml') == (
        mounted.replace('${KINC_KUBERNETES_VERSION}', STANDIN_VERSION)
        .replace('${KINC_NODE_IP}', config_render.NODE_IP))
    # The pod CIDR comes from the configuration the node used, not from cluster.env (10.244.43.0/24).
    cni = json.loads(node.read('/etc/cni/net.d/10-kinc.conflist'))
    assert cni['plugins'][0]['ipam']['ranges'] == [[{'subnet': '10.244.77.0/24'}]]
    assert step(status, 'cni')['message'].startswith('pod network: ptp, pod CIDR 10.244.77.0/24')
    assert not node.file_exists('/var/log/kinc/events.jsonl')
    assert 'exec-condition' in node.exec_('journalctl', '-u', 'kinc-events.service', '--no-pager').stdout


@pytest.mark.parametrize('failing', ['preflight', 'certs', 'kubelet', 'addons', 'storage', 'dns', 'network-policy'])
def test_a_failing_step_stops_the_chain(make_node, failing):
    node = make_node('fail-' + failing)
    node.write_config(cluster_env('failing', KINC_STANDIN_FAIL_AT=failing))
    node.start()
    status = node.settle()

    at = STEPS.index(failing)
    assert status['phase'] == 'failed'
    assert states(status) == ([(s, 'done') for s in STEPS[:at]] + [(failing, 'failed')]
                              + [(s, 'pending') for s in STEPS[at + 1:]])
    assert 'KINC_STANDIN_FAIL_AT' in step(status, failing)['message']
    assert not node.file_exists('/var/lib/kinc/initialized')


def test_a_crio_that_cannot_start_fails_the_crio_step(make_node, tmp_path):
    # The real CRI-O refuses a configuration whose default runtime does not exist.
    broken = tmp_path / '99-broken.conf'
    broken.write_text('[crio.runtime]\ndefault_runtime = "kinc-missing"\n')
    node = make_node('fail-crio')
    node.write_config(cluster_env('failing'))
    node.start('-v', '%s:/etc/crio/crio.conf.d/99-broken.conf:ro' % broken)
    status = node.settle()

    assert status['phase'] == 'failed'
    assert states(status) == ([('cgroups', 'done'), ('crio', 'failed')] + [(s, 'pending') for s in STEPS[2:]])
    assert 'crio.service' in step(status, 'crio')['message']
    assert 'kinc-missing' in node.exec_('journalctl', '-u', 'crio.service', '--no-pager').stdout
    assert not node.file_exists('/var/lib/kinc/initialized')


def test_a_broken_pod_network_fails_the_datapath_step_instead_of_ready(make_node):
    node = make_node('dns')
    node.write_config(cluster_env('dns', KINC_STANDIN_DNS='broken'))
    node.start()
    status = node.settle()

    assert status['phase'] == 'failed'
    assert states(status) == ([(s, 'done') for s in STEPS[:STEPS.index('datapath')]] + [('datapath', 'failed')]
                              + [(s, 'pending') for s in STEPS[STEPS.index('datapath') + 1:]])
    message = step(status, 'datapath')['message']
    assert message.startswith('pod network broken: a pod (phase Failed) could not resolve kubernetes.default '
                              'via the cluster DNS 10.43.0.10'), message
    assert 'did not resolve via the cluster DNS 10.43.0.10' in message
    assert step(status, 'datapath')['unit'] == 'kinc-postinit.service'
    assert not node.file_exists('/var/lib/kinc/initialized')


def test_missing_cgroup_controllers_fail_the_first_step(make_node, tmp_path):
    node = make_node('cgroups')
    node.write_config(cluster_env('cgroups'))
    image_env = tmp_path / 'image.env'
    image_env.write_text('KINC_IMAGE_KUBERNETES_VERSION=%s\nKINC_REQUIRED_CGROUP_CONTROLLERS="cpu pids"\n'
                         % STANDIN_VERSION)
    node.start('-v', '%s:/etc/kinc/image.env:ro' % image_env)
    status = node.settle()

    assert status['phase'] == 'failed'
    assert states(status) == [('cgroups', 'failed')] + [(s, 'pending') for s in STEPS[1:]]
    assert 'cgroup controllers not delegated to the node: cpu pids' in step(status, 'cgroups')['message']


def test_missing_cluster_env_fails_preflight_naming_the_file(make_node):
    node = make_node('noenv')
    node.start()
    status = node.settle()

    assert status['cluster'] == ''
    assert step(status, 'preflight')['state'] == 'failed'
    assert step(status, 'preflight')['message'] == (
        '/etc/kinc/config/cluster.env is missing; the config volume must provide it (kinc_cluster writes it)')


def test_an_interrupted_first_boot_is_reset_and_initialised_on_the_next(make_node):
    node = make_node('retry')
    node.write_config(cluster_env('retry', KINC_STANDIN_FAIL_AT='kubelet'))
    node.start()
    assert node.settle()['phase'] == 'failed'

    node.write_config(cluster_env('retry'))
    node.start()
    status = node.settle()
    assert status['phase'] == 'ready', [s for s in status['steps'] if s['state'] == 'failed']
    phases = [p.split(' --')[0] for p in kubeadm_phases(node)]
    assert phases.count('init phase certs all') == 2
    first_certs, second_certs = [i for i, p in enumerate(phases) if p == 'init phase certs all']
    assert first_certs < phases.index('reset') < second_certs

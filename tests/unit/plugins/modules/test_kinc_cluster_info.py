# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_cluster_info's per-cluster entry from labelled objects, the service state, the files on the cluster's
volumes and the node status, against the shared fake host (tests/unit/fake_host.py)."""

import json
import os

from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import PodmanClient
from ansible_collections.kinc.kinc.plugins.module_utils.systemd import Systemctl
from ansible_collections.kinc.kinc.plugins.modules import kinc_cluster_info

LABELS = naming.allocation_labels('dev', 6443, '10.244.43.0/24', '10.43.0.0/16')
CREATED = '2026-11-23T14:29:52.078587608Z'
NOW = 1795444192 + 3 * 3600 + 12 * 60  # CREATED + 3h12m


NODE = 'kinc-dev-control-plane'


def with_files(host, env='', kubeadm_yaml=None):
    """The cluster's two labelled volumes with cluster.env (and kubeadm.yaml) on them."""
    host.add_volume('kinc-dev-var-data', LABELS, created=CREATED)
    host.add_volume('kinc-dev-config', LABELS, created=CREATED)
    var = host.volumes['kinc-dev-var-data'][1]
    os.makedirs(os.path.join(var, 'lib', 'kinc'))
    with open(os.path.join(host.volumes['kinc-dev-config'][1], 'cluster.env'), 'w') as handle:
        handle.write(env)
    if kubeadm_yaml is not None:
        with open(os.path.join(var, 'lib', 'kinc', 'kubeadm.yaml'), 'w') as handle:
            handle.write(kubeadm_yaml)


def running(host, status, ports=()):
    """The node runs (its service active) and has written `status` to its status.json."""
    host.add_container(NODE, LABELS, ports=ports)
    host.active[NODE + '.service'] = 'active'
    with open(host.node_file(NODE, 'status.json'), 'w') as handle:
        handle.write(status)


def describe(host, tmp_path, systemctl=True, now=None, volumes=None):
    """describe() with what kinc_cluster_info's main() lists; the host's calls start afresh."""
    podman = PodmanClient(host.run)
    containers = dict((c.name, c) for c in podman.containers())
    volumes = podman.volumes() if volumes is None else volumes
    host.calls = []
    return kinc_cluster_info.describe('dev', podman, Systemctl(host.run, user=True) if systemctl else None,
                                      str(tmp_path), str(tmp_path), containers, volumes, now=now)


def test_a_running_cluster_reports_labels_service_phase_version_and_age(host, tmp_path):
    (tmp_path / 'kinc-dev-control-plane.container').write_text('x')
    (tmp_path / 'kinc-dev.conf').write_text('{}')
    steps = [{'name': 'crio', 'unit': 'crio.service', 'state': 'done', 'started': '2026-11-22T10:00:01Z',
              'finished': '2026-11-22T10:00:04Z', 'message': 'up'}]
    with_files(host, 'KINC_CLUSTER_NAME=dev\nKINC_EVENTS=0\n',
               'kind: ClusterConfiguration\nkubernetesVersion: v1.33.5\n')
    host.add_volume('kinc-other-config', dict(LABELS, **{naming.LABEL_CLUSTER: 'other'}))
    running(host, json.dumps({'schema': 1, 'cluster': 'dev', 'phase': 'ready', 'steps': steps}),
            [{'host_ip': '127.0.0.2', 'host_port': 6443, 'container_port': 6443, 'protocol': 'tcp'}])
    info = describe(host, tmp_path, now=NOW)
    assert info == {
        'name': 'dev', 'api_port': 6443, 'pod_subnet': '10.244.43.0/24', 'service_subnet': '10.43.0.0/16',
        'api_url': 'https://127.0.0.2:6443', 'container_state': 'running', 'service_active': 'active',
        'phase': 'ready', 'ready': True, 'kubernetes_version': 'v1.33.5', 'events_file': None,
        'steps': [dict(steps[0], duration=3)], 'created': CREATED, 'age': '3h12m',
        'kubeconfig': str(tmp_path / 'kinc-dev.conf'),
        'quadlet_files': [str(tmp_path / 'kinc-dev-control-plane.container')],
        'volumes': ['kinc-dev-config', 'kinc-dev-var-data'],
    }


def test_events_on_reports_the_host_path_of_events_jsonl(host, tmp_path):
    with_files(host, 'KINC_EVENTS=1\nKINC_KUBERNETES_VERSION=1.33.4\n')
    running(host, json.dumps({'schema': 1, 'cluster': 'dev', 'phase': 'initializing', 'steps': []}))
    info = describe(host, tmp_path)
    assert info['events_file'] == os.path.join(host.volumes['kinc-dev-var-data'][1], 'log', 'kinc', 'events.jsonl')
    # Not ready while initializing; the version pinned in cluster.env until kubeadm.yaml says.
    assert (info['ready'], info['kubernetes_version']) == (False, 'v1.33.4')
    assert info['api_url'] == 'https://127.0.0.1:6443'


def test_a_cluster_with_only_volumes_reads_its_allocation_from_them(host, tmp_path):
    host.add_volume('kinc-dev-var-data', LABELS, created=CREATED)
    info = describe(host, tmp_path, systemctl=False, now=NOW)
    assert (info['api_port'], info['container_state'], info['service_active'], info['phase'], info['ready']) == \
        (6443, 'absent', 'unknown', None, False)
    assert info['kubeconfig'] is None and info['kubernetes_version'] is None and info['age'] == '3h12m'
    # Nothing entered a node: only the volume was inspected.
    assert [c[1:3] for c in host.calls] == [['volume', 'inspect']]


def test_a_status_file_that_breaks_the_contract_reads_as_invalid(host, tmp_path):
    with_files(host)
    running(host, '{"schema": 7}')
    # No volume listed for the cluster: no creation time.
    info = describe(host, tmp_path, volumes=[])
    assert info['phase'] == 'invalid' and info['ready'] is False and info['created'] is None

# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_cluster_info's per-cluster entry from labelled objects, the service state, the files on the cluster's
volumes and the node status."""

import json

from ansible_collections.kinc.kinc.plugins.module_utils import naming
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import Container, PortMapping, Volume
from ansible_collections.kinc.kinc.plugins.modules import kinc_cluster_info

LABELS = naming.allocation_labels('dev', 6443, '10.244.43.0/24', '10.43.0.0/16')
CREATED = '2026-11-23T14:29:52.078587608Z'
NOW = 1795444192 + 3 * 3600 + 12 * 60  # CREATED + 3h12m


class FakePodman:
    """`podman exec ... cat status.json` answers `status`; `volume inspect` answers the creation time."""

    def __init__(self, rc, out):
        self.answer = (rc, out, '')
        self.calls = []

    def call(self, args, ok_rcs=(0,)):
        self.calls.append(args)
        if args[:2] == ['volume', 'inspect']:
            return 0, CREATED + '\n', ''
        return self.answer


class FakeSystemctl:
    def active_state(self, unit):
        return 'active' if unit == 'kinc-dev-control-plane.service' else 'inactive'


def volumes_with_files(tmp_path, env='', kubeadm_yaml=None):
    var = tmp_path / 'var'
    config = tmp_path / 'config'
    (var / 'lib' / 'kinc').mkdir(parents=True)
    config.mkdir()
    (config / 'cluster.env').write_text(env)
    if kubeadm_yaml is not None:
        (var / 'lib' / 'kinc' / 'kubeadm.yaml').write_text(kubeadm_yaml)
    return [Volume('kinc-dev-var-data', LABELS, str(var)), Volume('kinc-dev-config', LABELS, str(config))]


def running(ports=()):
    return {'kinc-dev-control-plane': Container('kinc-dev-control-plane', 'c1', 'running', LABELS, list(ports))}


def test_a_running_cluster_reports_labels_service_phase_version_and_age(tmp_path):
    (tmp_path / 'kinc-dev-control-plane.container').write_text('x')
    (tmp_path / 'kinc-dev.conf').write_text('{}')
    steps = [{'name': 'crio', 'unit': 'crio.service', 'state': 'done', 'started': '2026-11-22T10:00:01Z',
              'finished': '2026-11-22T10:00:04Z', 'message': 'up'}]
    podman = FakePodman(0, json.dumps({'schema': 1, 'cluster': 'dev', 'phase': 'ready', 'steps': steps}))
    volumes = volumes_with_files(tmp_path, 'KINC_CLUSTER_NAME=dev\nKINC_EVENTS=0\n',
                                 'kind: ClusterConfiguration\nkubernetesVersion: v1.33.5\n')
    volumes.append(Volume('kinc-other-config', dict(LABELS, **{naming.LABEL_CLUSTER: 'other'}), '/o'))
    containers = running([PortMapping('127.0.0.2', 6443, 6443, 'tcp')])
    info = kinc_cluster_info.describe('dev', podman, FakeSystemctl(), str(tmp_path), str(tmp_path), containers,
                                      volumes, now=NOW)
    assert info == {
        'name': 'dev', 'api_port': 6443, 'pod_subnet': '10.244.43.0/24', 'service_subnet': '10.43.0.0/16',
        'api_url': 'https://127.0.0.2:6443', 'container_state': 'running', 'service_active': 'active',
        'phase': 'ready', 'ready': True, 'kubernetes_version': 'v1.33.5', 'events_file': None,
        'steps': [dict(steps[0], duration=3)], 'created': CREATED, 'age': '3h12m',
        'kubeconfig': str(tmp_path / 'kinc-dev.conf'),
        'quadlet_files': [str(tmp_path / 'kinc-dev-control-plane.container')],
        'volumes': ['kinc-dev-config', 'kinc-dev-var-data'],
    }


def test_events_on_reports_the_host_path_of_events_jsonl(tmp_path):
    volumes = volumes_with_files(tmp_path, 'KINC_EVENTS=1\nKINC_KUBERNETES_VERSION=1.33.4\n')
    podman = FakePodman(0, json.dumps({'schema': 1, 'cluster': 'dev', 'phase': 'initializing', 'steps': []}))
    info = kinc_cluster_info.describe('dev', podman, FakeSystemctl(), str(tmp_path), str(tmp_path), running(), volumes)
    assert info['events_file'] == str(tmp_path / 'var' / 'log' / 'kinc' / 'events.jsonl')
    # Not ready while initializing; the version pinned in cluster.env until kubeadm.yaml says.
    assert (info['ready'], info['kubernetes_version']) == (False, 'v1.33.4')
    assert info['api_url'] == 'https://127.0.0.1:6443'


def test_a_cluster_with_only_volumes_reads_its_allocation_from_them(tmp_path):
    podman = FakePodman(125, '')
    volumes = [Volume('kinc-dev-var-data', LABELS, str(tmp_path / 'missing'))]
    info = kinc_cluster_info.describe('dev', podman, None, str(tmp_path), str(tmp_path), {}, volumes, now=NOW)
    assert (info['api_port'], info['container_state'], info['service_active'], info['phase'], info['ready']) == \
        (6443, 'absent', 'unknown', None, False)
    assert info['kubeconfig'] is None and info['kubernetes_version'] is None and info['age'] == '3h12m'
    # Nothing entered a node: only the volume was inspected.
    assert [c[:2] for c in podman.calls] == [['volume', 'inspect']]


def test_a_status_file_that_breaks_the_contract_reads_as_invalid(tmp_path):
    info = kinc_cluster_info.describe('dev', FakePodman(0, '{"schema": 7}'), FakeSystemctl(), str(tmp_path),
                                      str(tmp_path), running(), [])
    assert info['phase'] == 'invalid' and info['ready'] is False and info['created'] is None

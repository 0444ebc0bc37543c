# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_cluster_info's per-cluster entry from labelled objects, the service state and the node status."""

import json

from ansible_collections.kinc.kinc.plugins.module_utils import naming
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import Container, Volume
from ansible_collections.kinc.kinc.plugins.modules import kinc_cluster_info

LABELS = naming.allocation_labels('dev', 6443, '10.244.43.0/24', '10.43.0.0/16')


class FakePodman:
    def __init__(self, rc, out):
        self.answer = (rc, out, '')
        self.calls = []

    def call(self, args, ok_rcs=(0,)):
        self.calls.append(args)
        return self.answer


class FakeSystemctl:
    def active_state(self, unit):
        return 'active' if unit == 'kinc-dev-control-plane.service' else 'inactive'


def test_a_running_cluster_reports_labels_service_and_phase(tmp_path):
    (tmp_path / 'kinc-dev-control-plane.container').write_text('x')
    (tmp_path / 'kinc-dev.conf').write_text('{}')
    podman = FakePodman(0, json.dumps({'schema': 1, 'cluster': 'dev', 'phase': 'ready', 'steps': []}))
    containers = {'kinc-dev-control-plane': Container('kinc-dev-control-plane', 'c1', 'running', LABELS, [])}
    volumes = [Volume('kinc-dev-var-data', LABELS, '/v'), Volume('kinc-dev-config', LABELS, '/c'),
               Volume('kinc-other-config', dict(LABELS, **{naming.LABEL_CLUSTER: 'other'}), '/o')]
    info = kinc_cluster_info.describe('dev', podman, FakeSystemctl(), str(tmp_path), str(tmp_path), containers, volumes)
    assert info == {
        'name': 'dev', 'api_port': 6443, 'pod_subnet': '10.244.43.0/24', 'service_subnet': '10.43.0.0/16',
        'container_state': 'running', 'service_active': 'active', 'phase': 'ready', 'steps': [],
        'kubeconfig': str(tmp_path / 'kinc-dev.conf'),
        'quadlet_files': [str(tmp_path / 'kinc-dev-control-plane.container')],
        'volumes': ['kinc-dev-config', 'kinc-dev-var-data'],
    }


def test_a_cluster_with_only_volumes_reads_its_allocation_from_them(tmp_path):
    podman = FakePodman(125, '')
    volumes = [Volume('kinc-dev-var-data', LABELS, '/v')]
    info = kinc_cluster_info.describe('dev', podman, None, str(tmp_path), str(tmp_path), {}, volumes)
    assert (info['api_port'], info['container_state'], info['service_active'], info['phase']) == \
        (6443, 'absent', 'unknown', None)
    assert info['kubeconfig'] is None and podman.calls == []


def test_a_status_file_that_breaks_the_contract_reads_as_invalid(tmp_path):
    containers = {'kinc-dev-control-plane': Container('kinc-dev-control-plane', 'c1', 'running', LABELS, [])}
    info = kinc_cluster_info.describe('dev', FakePodman(0, '{"schema": 7}'), FakeSystemctl(), str(tmp_path),
                                      str(tmp_path), containers, [])
    assert info['phase'] == 'invalid'

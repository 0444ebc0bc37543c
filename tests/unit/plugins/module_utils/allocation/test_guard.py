# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Volumes recreated outside kinc_allocate go through the same lock and the same host-wide checks."""

import json
import os

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils.allocation import guard
from ansible_collections.kinc.kinc.plugins.module_utils.allocation import ledger
from ansible_collections.kinc.kinc.plugins.module_utils.allocation.allocator import Allocation, AllocationError
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import PodmanClient
from fake_host import plant_record

DEV = Allocation('dev', 6443, '10.244.43.0/24', '10.43.0.0/16')


@pytest.fixture
def client(host):
    return PodmanClient(host.run)


@pytest.fixture
def record_dir(host):
    return host.record_dir


def test_missing_volumes_are_created_under_the_lock_and_recorded(host, client, record_dir):
    assert guard.ensure_volumes(client, DEV, 0, record_dir=record_dir) == [
        'kinc-dev-var-data', 'kinc-dev-config']
    assert host.volume_labels()['kinc-dev-config']['io.kinc.api-port'] == '6443'
    with open(ledger.record_path(record_dir, os.geteuid())) as handle:
        assert json.load(handle)['clusters'] == {'dev': {'api_port': 6443, 'pod_subnet': '10.244.43.0/24',
                                                         'service_subnet': '10.43.0.0/16'}}
    assert guard.ensure_volumes(client, DEV, 0, record_dir=record_dir) == []


def test_check_mode_creates_nothing(host, client, record_dir):
    assert guard.ensure_volumes(client, DEV, 0, check_mode=True, record_dir=record_dir) == [
        'kinc-dev-var-data', 'kinc-dev-config']
    assert host.volumes == {} and os.listdir(ledger.user_dir(record_dir, os.geteuid())) == []


def test_a_port_taken_meanwhile_by_another_user_is_refused(host, client, record_dir):
    plant_record(record_dir, 4242, {'web': {'api_port': 6443, 'pod_subnet': '10.244.50.0/24',
                                            'service_subnet': '10.50.0.0/16'}})
    with pytest.raises(AllocationError) as err:
        guard.ensure_volumes(client, DEV, 0, record_dir=record_dir)
    assert str(err.value) == ("cluster 'dev' cannot create its volumes: api_port/networks 6443 is held by cluster "
                              "'web' of uid 4242 since they were allocated; fix: allocate again with "
                              "kinc.kinc.kinc_allocate (the kinc.kinc.kinc_cluster role does on its next run)")
    assert host.volumes == {}


def test_refresh_rewrites_the_record_from_the_labels_only_when_they_differ(client, record_dir):
    guard.ensure_volumes(client, DEV, 0, record_dir=record_dir)
    assert guard.refresh(client, client.volumes(), 0, record_dir) is False
    seen = client.volumes()
    for volume in seen:  # purged after this run looked
        client.remove_volume(volume.name)
    assert guard.refresh(client, seen, 0, record_dir) is False  # the record still matches what it saw
    assert guard.refresh(client, [], 0, record_dir) is True
    assert ledger.others(record_dir, os.geteuid() + 1) == ([], [])

# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The capacity model: room per resource, counted after kinc_host's fixes, and the refusal message."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kinc.kinc.plugins.module_utils.host.capacity_model import (
    MAX_COUNTED, Resource, capacity, clusters_more, host_resources, new_clusters, refusal)


def resource(name='memory', limit=5000, used=0, per_cluster=2048, sizing=None):
    return Resource(name, limit, used, per_cluster, sizing, 'units', 'fix %s' % name)


def test_a_limit_kinc_does_not_raise_counts_as_it_is():
    assert clusters_more(resource(limit=5000, per_cluster=2048)) == 2
    assert clusters_more(resource(limit=6000, used=300, per_cluster=2048)) == 2
    assert clusters_more(resource(limit=2000, per_cluster=2048)) == 0


def test_a_limit_kinc_raises_counts_as_kinc_sizes_it_up_to_its_ceiling():
    # In force 128, 100 in use; kinc raises it to 256 + 128 per cluster (3 on the host), at most for 64.
    raised = resource(limit=128, used=100, per_cluster=128, sizing=(256, 128, 3))
    # 100 + 128 n <= 256 + 128 min(3 + n, 64): true up to n = 65 (100 + 8320 <= 8448), false at 66.
    assert clusters_more(raised) == 65
    # Without kinc raising it: (128 - 100) / 128.
    assert clusters_more(raised._replace(sizing=None)) == 0
    # A limit raised beyond kinc's figures by the owner counts as it is.
    assert clusters_more(raised._replace(limit=100000)) == (100000 - 100) // 128


def test_unlimited_or_uncosted_resources_do_not_count():
    assert clusters_more(resource(limit=None)) is None
    assert clusters_more(resource(per_cluster=0)) is None
    assert clusters_more(resource(limit=10 ** 9, per_cluster=1)) == MAX_COUNTED


def test_capacity_is_the_smallest_room_and_names_its_resource():
    report = capacity([resource('tasks', limit=None), resource('inotify_instances', 1000, 0, 128),
                       resource('memory', 5000, 0, 2048)])
    assert (report['clusters_more'], report['limited_by']) == (2, 'memory')
    assert report['resources']['inotify_instances']['clusters_more'] == 7
    assert report['resources']['tasks']['clusters_more'] is None
    assert capacity([resource(limit=None)]) == {
        'clusters_more': None, 'limited_by': None, 'resources': {'memory': {
            'limit': None, 'limit_after_fixes': None, 'used': 0, 'per_cluster': 2048, 'unit': 'units',
            'clusters_more': None, 'fix': 'fix memory'}}}


def test_refusal_only_when_the_new_clusters_exceed_the_room():
    report = capacity([resource('memory', 5000, 0, 2048)])
    assert refusal(report, ['a', 'b'], 'alice') is None
    message, fix = refusal(report, ['a', 'b', 'c'], 'alice')
    assert message == ("3 new cluster(s) (a, b, c) for alice do not fit: room for 2 more, limited by memory "
                       "(limit 5000 units after kinc_host's fixes, 0 in use, 2048 per cluster)")
    assert fix.startswith('fix memory; ')
    assert refusal(capacity([resource(limit=None)]), ['a'] * 5000, 'alice') is None


PARAMS = {'sysctls': {'fs.inotify.max_user_instances': 256, 'kernel.keys.maxkeys': 1000},
          'sysctls_per_cluster': {'fs.inotify.max_user_instances': 128, 'kernel.keys.maxkeys': 500,
                                  'fs.inotify.max_user_watches': 131072},
          'tasks_base': 1024, 'tasks_per_cluster': 4096, 'memory_per_cluster': 2048}


def facts(**usage):
    return {'user': 'alice', 'uid': 1000, 'host_clusters': [('alice', 'dev')], 'tasks_max': 20000,
            'tasks_override': None,
            'usage': dict({'inotify_instances': 10, 'inotify_instances_max': 128, 'inotify_watches': 50,
                           'inotify_watches_max': 8192, 'tasks': 100, 'memory_available_mib': 9000}, **usage)}


def test_host_resources_take_their_costs_from_kinc_hosts_figures():
    found = dict((r.name, r) for r in host_resources(facts(keys=20, keys_max=300), PARAMS))
    assert found['inotify_instances'][1:5] == (128, 10, 128, (256, 128, 1))
    assert found['kernel_keys'][1:5] == (300, 20, 500, (1000, 500, 1))
    # max_user_watches has a cost but kinc_host does not raise it here (not among the sysctls): as it is.
    assert found['inotify_watches'].sizing is None
    assert found['kernel_key_bytes'].per_cluster == 0
    assert found['tasks'][1:5] == (20000, 100, 4096, (1024, 4096, 1))
    assert found['memory'][1:5] == (9000, 0, 2048, None)
    # Every cluster on the host, of any user, holds one of the 255 network pairs.
    assert found['networks'][1:5] == (255, 1, 1, None)


def test_the_networks_limit_the_clusters_of_a_crowded_host():
    crowded = dict(facts(), host_clusters=[('user%d' % (n % 7), 'c%d' % n) for n in range(250)])
    networks = [r for r in host_resources(crowded, PARAMS) if r.name == 'networks']
    assert capacity(networks)['resources']['networks']['clusters_more'] == 5
    assert capacity(networks + [resource(limit=10 ** 6)])['limited_by'] == 'networks'


def test_an_owners_tasks_limit_after_kincs_is_not_raised_and_its_file_is_the_fix():
    found = dict((r.name, r) for r in host_resources(
        dict(facts(), tasks_override='/etc/systemd/system/user-1000.slice.d/99-owner.conf'), PARAMS))
    assert found['tasks'].sizing is None
    assert '99-owner.conf' in found['tasks'].fix


def test_new_clusters_are_the_declared_ones_the_user_does_not_have():
    found = [('alice', 'dev'), ('bob', 'ci')]
    assert new_clusters(found, 'alice', ['dev', 'ci', 'web']) == ['ci', 'web']
    assert new_clusters(found, 'bob', ['ci']) == []

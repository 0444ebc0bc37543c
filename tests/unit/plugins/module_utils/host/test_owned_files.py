# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kinc.kinc.plugins.module_utils.host import owned_files

BASE = {'net.ipv4.ip_forward': 1, 'fs.inotify.max_user_watches': 262144, 'kernel.keys.maxkeys': 1000}
PER = {'fs.inotify.max_user_watches': 131072, 'kernel.keys.maxkeys': 500}
REQUIRED = ['cpu', 'cpuset', 'io', 'memory', 'pids']
OWNER_DELEGATE = '[Service]\nDelegate=yes\n'
LEGACY_DELEGATE = ('# Ansible managed\n# kinc.kinc.kinc_host: let rootless Podman (and the kubelets in kinc nodes) '
                   'manage these cgroup controllers.\n[Service]\nDelegate=cpu cpuset io memory pids\n')


def plan(count, file_text, in_force):
    return owned_files.sysctl_plan(owned_files.sysctl_minimums(BASE, PER, count), file_text, in_force, BASE, PER)


def test_cluster_names_come_from_units_and_volumes_only():
    entries = ['kinc-dev-control-plane.container', 'kinc-dev-var-data', 'kinc-web-1-var-data',
               'kinc-dev-config', 'other.container', 'kinc-x-control-plane.service', 'kinc--var-data']
    assert owned_files.cluster_names(entries) == {'dev', 'web-1'}


def test_cluster_count_joins_the_host_and_the_inventory_per_owner():
    found = [('alice', 'dev'), ('bob', 'dev')]
    assert owned_files.cluster_count(found, 'alice', ['dev', 'ci']) == 3
    assert owned_files.cluster_count([], 'alice', []) == 1


def test_only_keys_below_their_minimum_are_persisted_and_applied():
    in_force = {'net.ipv4.ip_forward': 1, 'fs.inotify.max_user_watches': 8192, 'kernel.keys.maxkeys': 20000}
    persisted, apply = plan(2, None, in_force)
    assert persisted == {'fs.inotify.max_user_watches': 524288}
    assert apply == {'fs.inotify.max_user_watches': 524288}
    text = owned_files.render_sysctl_file(persisted)
    assert owned_files.is_kinc_file(text)
    assert 'fs.inotify.max_user_watches = 524288\n' in text
    assert 'kernel.keys.maxkeys' not in text and 'ip_forward' not in text


def test_alternating_inventories_never_lower_nor_flip_the_file():
    first, _apply = plan(3, None, {'fs.inotify.max_user_watches': 8192})
    text = owned_files.render_sysctl_file(first)
    in_force = {'fs.inotify.max_user_watches': first['fs.inotify.max_user_watches']}
    for count in (1, 3, 2, 3):
        persisted, apply = plan(count, text, in_force)
        assert owned_files.render_sysctl_file(persisted) == text
        assert apply == {}


def test_a_value_raised_elsewhere_is_never_lowered_and_a_lowered_one_is_raised_again():
    text = owned_files.render_sysctl_file({'fs.inotify.max_user_watches': 393216})
    assert plan(1, text, {'fs.inotify.max_user_watches': 10 ** 6})[1] == {}
    assert plan(1, text, {'fs.inotify.max_user_watches': 8192})[1] == {'fs.inotify.max_user_watches': 393216}


def test_a_legacy_file_keeps_only_the_keys_kinc_raised():
    legacy = ('# Ansible managed\n# kinc.kinc.kinc_host: sized for 2 kinc cluster(s); a higher value found in force '
              'is kept.\nfs.inotify.max_user_watches = 524288\nkernel.keys.maxkeys = 20000\nnet.ipv4.ip_forward = 1\n')
    in_force = {'fs.inotify.max_user_watches': 524288, 'kernel.keys.maxkeys': 20000, 'net.ipv4.ip_forward': 1}
    persisted, apply = plan(2, legacy, in_force)
    # maxkeys 20000 was above the 2000 it was sized for: a value that merely was in force, dropped.
    assert persisted == {'fs.inotify.max_user_watches': 524288, 'net.ipv4.ip_forward': 1}
    assert apply == {}


def test_a_file_without_kincs_marker_is_not_read_as_kincs():
    assert owned_files.parse_sysctl_file('fs.inotify.max_user_watches = 1\n') == ({}, None)


def test_delegation_already_in_force_writes_nothing():
    assert owned_files.delegate_plan(REQUIRED, REQUIRED + ['hugetlb'], None, OWNER_DELEGATE) == (None, False)


def test_missing_controllers_get_kincs_own_dropin_listing_the_required_ones():
    content, legacy = owned_files.delegate_plan(REQUIRED, ['cpu', 'memory', 'pids'], None, None)
    assert not legacy
    assert content.endswith('[Service]\nDelegate=cpu cpuset io memory pids\n')
    assert owned_files.is_kinc_file(content)
    # Once written it is kept as is (no flip when the owner later delegates everything).
    assert owned_files.delegate_plan(REQUIRED, REQUIRED, content, OWNER_DELEGATE) == (None, False)


def test_a_legacy_kinc_delegate_conf_is_migrated_and_the_owners_is_never_touched():
    content, legacy = owned_files.delegate_plan(REQUIRED, REQUIRED, None, LEGACY_DELEGATE)
    assert legacy and content.endswith('Delegate=cpu cpuset io memory pids\n')
    assert owned_files.delegate_plan(REQUIRED, ['cpu'], None, OWNER_DELEGATE)[1] is False


def test_tasks_dropin_only_raises_and_stays_at_its_largest_value():
    assert owned_files.tasks_plan(1000, 5120, None, None) is None
    assert owned_files.tasks_plan(1000, 5120, 9000, None) is None
    content = owned_files.tasks_plan(1000, 5120, 4915, None)
    assert content.endswith('[Slice]\nTasksMax=5120\n')
    assert owned_files.tasks_plan(1000, 3072, 5120, content) is None
    assert owned_files.tasks_plan(1000, 7168, 5120, content).endswith('TasksMax=7168\n')


def test_modules_file_lists_what_kinc_loaded_and_keeps_it():
    load, content = owned_files.modules_plan(['iptable_nat'], None)
    assert load == ['iptable_nat'] and content.endswith('\niptable_nat\n')
    assert owned_files.modules_plan([], content) == ([], None)
    assert owned_files.modules_plan([], None) == ([], None)
    assert owned_files.modules_plan(['ip6table_nat'], content)[1].endswith('\nip6table_nat\niptable_nat\n')

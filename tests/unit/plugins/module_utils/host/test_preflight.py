# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils.host import preflight

SYSCTLS = {'net.ipv4.ip_forward': 1, 'kernel.keys.maxkeys': 1500}

# A Debian 13 workstation that kinc_host has already prepared.
GOOD = {
    'user': 'alice', 'uid': 1000, 'kernel': '6.12.48+deb13-amd64',
    'cgroup_v2': True, 'cgroup_controllers': ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids'],
    'delegated_controllers': ['cpuset', 'cpu', 'io', 'memory', 'pids'],
    'delegate_configured': ['cpu', 'cpuset', 'io', 'memory', 'pids'],
    'max_user_namespaces': 63432, 'unprivileged_userns_clone': None,
    'subuid': [(100000, 65536)], 'subgid': [(100000, 65536)], 'subuid_next_free': 165536, 'subgid_next_free': 165536,
    'id_mappers': {'newuidmap': '/usr/bin/newuidmap', 'newgidmap': '/usr/bin/newgidmap'},
    'network_helpers': {'pasta': '/usr/bin/pasta', 'slirp4netns': None},
    'podman_version': '5.4.2', 'podman_error': None, 'linger': True,
    'sysctls': {'net.ipv4.ip_forward': 1, 'kernel.keys.maxkeys': 2000},
    'os_family': 'Debian', 'missing_packages': [], 'tasks_max': None,
    'kernel_modules': {'loadable': True, 'missing': []},
}
PACKAGES = {'Debian': ['podman', 'uidmap']}
MODULES = ['ip_tables', 'iptable_nat']


def requirements(**changes):
    args = dict(sysctls=SYSCTLS, packages=PACKAGES, kernel_modules=MODULES, min_tasks=5120)
    args.update(changes)
    return preflight.requirements(**args)


def run(**changes):
    facts = dict(GOOD, **changes)
    return {check.name: check for check in preflight.evaluate(facts, requirements())}


def failed(**changes):
    return {name: check for name, check in run(**changes).items() if not check.ok}


def test_a_prepared_host_passes_every_check():
    checks = run()
    assert failed() == {}
    assert set(checks) == {'kernel', 'cgroup_v2', 'cgroup_controllers', 'user_namespaces', 'packages', 'podman',
                           'newuidmap', 'rootless_network', 'subuid', 'subgid', 'cgroup_delegation', 'cgroup_limits',
                           'linger', 'kernel_modules', 'tasks_max', 'capacity', 'sysctl:kernel.keys.maxkeys',
                           'sysctl:net.ipv4.ip_forward'}


def test_blocking_checks_come_first():
    checks = preflight.evaluate(GOOD, requirements())
    kinds = [check.blocking for check in checks]
    assert kinds == sorted(kinds, reverse=True)
    assert [check.name for check in checks if check.blocking] == [
        'kernel', 'cgroup_v2', 'cgroup_controllers', 'user_namespaces', 'capacity']


def test_old_kernel_blocks_and_names_the_minimum():
    check = failed(kernel='5.4.0-150-generic')['kernel']
    assert check.blocking
    assert check.message == 'kernel 5.4.0-150-generic is older than 5.10.0'
    assert '5.10' in check.fix
    assert 'kernel' not in failed(kernel='5.10.0-1-amd64')


def test_cgroup_v1_blocks():
    check = failed(cgroup_v2=False, cgroup_controllers=[])['cgroup_v2']
    assert check.blocking and 'systemd.unified_cgroup_hierarchy=1' in check.fix


def test_missing_root_controllers_are_named():
    check = failed(cgroup_controllers=['cpu', 'pids'])['cgroup_controllers']
    assert check.blocking
    assert check.message == 'the root cgroup lacks the controllers cpuset io memory'


def test_delegation_passes_when_configured_even_before_the_user_manager_restarts():
    check = run(delegated_controllers=['cpu', 'memory', 'pids'])['cgroup_delegation']
    assert check.ok
    assert 'lacks cpuset io until it restarts' in check.message


def test_delegation_fails_when_not_configured_and_is_fixable():
    check = failed(delegate_configured=['cpu', 'memory', 'pids'])['cgroup_delegation']
    assert not check.blocking
    assert check.message == 'user@1000.service does not delegate the cgroup controllers cpuset io'
    assert '/etc/systemd/system/user@.service.d/90-kinc-delegate.conf' in check.fix
    assert 'Delegate=cpu cpuset io memory pids (systemd adds it to what other drop-ins delegate)' in check.fix


@pytest.mark.parametrize('changes, expected', [
    ({'max_user_namespaces': 0}, 'user.max_user_namespaces is 0'),
    ({'unprivileged_userns_clone': 0}, 'kernel.unprivileged_userns_clone is 0'),
])
def test_disabled_user_namespaces_block(changes, expected):
    check = failed(**changes)['user_namespaces']
    assert check.blocking and check.message == expected
    assert 'user_namespaces' not in failed(unprivileged_userns_clone=1)


def test_missing_podman_quotes_the_error():
    check = failed(podman_version=None, podman_error="podman executable 'podman' was not found")['podman']
    assert not check.blocking
    assert "not found" in check.message and '4.7' in check.fix


def test_old_podman_fails_below_the_quadlet_minimum_4_7():
    assert failed(podman_version='4.6.2')['podman'].message == 'podman 4.6.2 is older than 4.7.0'
    assert 'podman' not in failed(podman_version='4.7.0')


def test_subuid_missing_and_too_small_ranges():
    missing = failed(subuid=[], subuid_next_free=231072)['subuid']
    assert missing.message == 'alice has no range in /etc/subuid'
    assert missing.fix.startswith('usermod --add-subuids 231072-296607 alice')
    small = failed(subgid=[(100000, 1000)])['subgid']
    assert small.message == 'alice has only 1000 subordinate ids in /etc/subgid, needs 65536'
    assert '--add-subgids' in small.fix


def test_id_mappers_network_helper_and_linger():
    assert failed(id_mappers={'newuidmap': '/usr/bin/newuidmap', 'newgidmap': None})['newuidmap'].message == \
        'newgidmap not found'
    assert 'rootless_network' not in failed(network_helpers={'pasta': None, 'slirp4netns': '/usr/bin/slirp4netns'})
    assert 'passt' in failed(network_helpers={})['rootless_network'].fix
    assert failed(linger=False)['linger'].fix.startswith('loginctl enable-linger alice')


def test_sysctl_below_minimum_is_fixable_and_missing_key_blocks():
    low = failed(sysctls={'net.ipv4.ip_forward': 0, 'kernel.keys.maxkeys': 200})
    assert low['sysctl:kernel.keys.maxkeys'].message == 'kernel.keys.maxkeys is 200, below the minimum 1500'
    assert not low['sysctl:kernel.keys.maxkeys'].blocking
    assert 'sysctl:net.ipv4.ip_forward' in low
    absent = failed(sysctls={'net.ipv4.ip_forward': 1})['sysctl:kernel.keys.maxkeys']
    assert absent.blocking and absent.message == 'kernel.keys.maxkeys does not exist on this kernel'


def test_parse_subids_matches_name_or_uid_only():
    text = 'bob:100000:65536\nalice:165536:65536\n1000:300000:10\n# comment\nbroken line\nalice:x:1\n'
    assert preflight.parse_subids(text, 'alice', 1000) == [(165536, 65536), (300000, 10)]
    assert preflight.parse_subids('', 'alice', 1000) == []
    assert preflight.parse_subids(None, 'alice', 1000) == []


def test_next_free_subid_starts_after_every_range():
    assert preflight.next_free_subid('bob:100000:65536\nalice:300000:65536\n') == 365536
    assert preflight.next_free_subid('') == 100000
    assert preflight.next_free_subid('low:1000:10\n') == 100000


def test_failures_honour_ignore():
    checks = preflight.evaluate(dict(GOOD, cgroup_controllers=[], linger=False), requirements())
    assert [c.name for c in preflight.failures(checks)] == ['cgroup_controllers', 'linger']
    assert [c.name for c in preflight.failures(checks, ignore=['cgroup_controllers'])] == ['linger']


def test_failure_message_lists_every_failure_with_its_fix():
    checks = preflight.evaluate(dict(GOOD, kernel='4.19.0', linger=False), requirements())
    message = preflight.failure_message(preflight.failures(checks), len(checks))
    assert message.splitlines() == [
        'kinc preflight: 2 of 18 checks failed:',
        '- [kernel] kernel 4.19.0 is older than 5.10.0 (blocking: the kinc_host role cannot fix this). '
        'Fix: boot a kernel >= 5.10.0 (Debian 12+, Ubuntu 22.04+, Fedora 38+)',
        '- [linger] lingering is disabled for alice. '
        'Fix: loginctl enable-linger alice (keeps the clusters running without a login session)',
    ]


def test_missing_kernel_modules_are_fixable_and_named():
    check = failed(kernel_modules={'loadable': True, 'missing': ['iptable_nat']})['kernel_modules']
    assert not check.blocking
    assert check.message == 'kernel modules iptable_nat are not loaded (a rootless node cannot load them)'
    assert check.fix.startswith('modprobe -a iptable_nat and list them in /etc/modules-load.d/kinc.conf')


def test_a_kernel_without_loadable_modules_passes_the_module_check():
    check = run(kernel_modules={'loadable': False, 'missing': []})['kernel_modules']
    assert check.ok and 'must be built in' in check.message


def test_tasks_limit_below_what_the_clusters_need_is_fixable():
    check = failed(tasks_max=4915)['tasks_max']
    assert not check.blocking
    assert check.message == 'user-1000.slice allows 4915 tasks, below the 5120'
    assert '/etc/systemd/system/user-1000.slice.d/90-kinc-tasks.conf' in check.fix
    assert 'tasks_max' not in failed(tasks_max=5120)
    assert 'tasks_max' not in failed(tasks_max=None)


def test_missing_packages_are_fixable_and_an_unknown_family_blocks():
    missing = failed(missing_packages=['uidmap'])['packages']
    assert not missing.blocking and missing.fix == 'install them (apt-get install uidmap)'
    unknown = failed(os_family=None)['packages']
    assert unknown.blocking and unknown.message == 'OS family None has no package list (known: Debian)'


def limits_check(controllers, **changes):
    checks = preflight.evaluate(dict(GOOD, **changes), requirements(limit_controllers=controllers))
    return next(check for check in checks if check.name == 'cgroup_limits')


def test_declared_limits_need_their_controllers_delegated():
    assert limits_check([]).ok and limits_check([]).message == "the clusters' limits have their controllers " \
        '(no limits declared)'
    assert limits_check([], cgroup_controllers=[], delegated_controllers=[]).ok
    assert limits_check(['memory', 'cpu']).ok
    # Configured but not in force until the user manager restarts: the role's final check passes.
    assert limits_check(['memory'], delegated_controllers=['pids'], delegate_configured=['memory']).ok
    check = limits_check(['memory', 'cpu'], delegated_controllers=['pids'], delegate_configured=['pids', 'cpu'])
    assert (check.ok, check.blocking) == (False, False)
    assert check.message == "user@1000.service does not delegate memory, which the clusters' memory/cpus limits need"
    assert check.fix.startswith('write /etc/systemd/system/user@.service.d/90-kinc-delegate.conf with [Service] '
                                'Delegate=memory cpu')
    # A controller the kernel does not offer in cgroup v2 (a hybrid host) cannot be delegated: blocking.
    check = limits_check(['cpu'], cgroup_controllers=['pids'])
    assert (check.ok, check.blocking) == (False, True)
    assert check.message == 'clusters declare memory/cpus limits, but the root cgroup lacks the controllers cpu'

# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_preflight against a prepared file tree, with real podman/systemctl stand-in executables on PATH."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import json
import os
import pwd

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.kinc.kinc.plugins.module_utils.host import owned_files
from ansible_collections.kinc.kinc.plugins.module_utils.host import findings
from ansible_collections.kinc.kinc.plugins.modules import kinc_preflight
from fake_host import make_record_dir, plant_record

# The cluster user (root is refused, and the tests may run as root): looked up through a patched pwd.
USER = 'kinc-test-alice'
UID = 1000
SYSCTLS = {'net.ipv4.ip_forward': 1, 'fs.inotify.max_user_watches': 262144}
PER_CLUSTER = {'fs.inotify.max_user_watches': 131072}
Passwd = collections.namedtuple('Passwd', ['pw_name', 'pw_uid', 'pw_dir', 'pw_gid'], defaults=(100,))


def write(path, text, mode=0o644):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A prepared workstation: cgroup v2 with delegation, user namespaces, subids, tools, linger, sysctls."""
    root = tmp_path / 'root'
    cgroup = root / 'sys/fs/cgroup'
    write(cgroup / 'cgroup.controllers', 'cpuset cpu io memory hugetlb pids rdma misc\n')
    write(cgroup / ('user.slice/user-%d.slice/user@%d.service/cgroup.controllers' % (UID, UID)),
          'cpuset cpu io memory pids\n')
    proc = root / 'proc'
    write(proc / 'sys/kernel/osrelease', '6.12.48+deb13-amd64\n')
    write(proc / 'sys/user/max_user_namespaces', '63432\n')
    write(proc / 'sys/net/ipv4/ip_forward', '1\n')
    write(proc / 'sys/fs/inotify/max_user_watches', '524288\n')
    write(root / 'etc/subuid', 'other:100000:65536\n%s:165536:65536\n' % USER)
    write(root / 'etc/subgid', 'other:100000:65536\n%s:165536:65536\n' % USER)
    write(root / 'var/lib/systemd/linger' / USER, '')
    write(root / 'etc/os-release', 'ID=debian\nVERSION_ID="13"\n')
    write(root / 'etc/sysctl.d/90-kinc.conf', owned_files.render_sysctl_file({'fs.inotify.max_user_watches': 393216}))
    write(root / 'etc/systemd/system/user@.service.d/delegate.conf', '[Service]\nDelegate=yes\n')
    write(proc / 'modules', 'ip_tables 32768 1 iptable_filter, Live 0x0\n')
    write(root / ('lib/modules/6.12.48+deb13-amd64/modules.builtin'), 'kernel/net/ipv4/netfilter/iptable_nat.ko\n')
    bin_dir = tmp_path / 'bin'
    fake_podman(bin_dir, '5.4.2')
    fake_systemctl(bin_dir, 'cpu cpuset io memory pids', 'infinity')
    write(bin_dir / 'dpkg-query', '#!/bin/sh\nshift 2\nfor p; do echo "$p 5.4.2+ds1-2 install ok installed"; done\n', 0o755)
    for tool in ('newuidmap', 'newgidmap', 'pasta'):
        write(bin_dir / tool, '#!/bin/sh\n', 0o755)
    home = tmp_path / 'home'
    users = [Passwd('root', 0, '/root'), Passwd(USER, UID, str(home / 'me')), Passwd('bob', 4242, str(home / 'bob')),
             Passwd('nobody', 65534, '/nonexistent')]
    monkeypatch.setattr(findings.pwd, 'getpwall', lambda: users)
    real_getpwuid = pwd.getpwuid
    monkeypatch.setattr(findings.pwd, 'getpwuid',
                        lambda uid: ([u for u in users if u.pw_uid == uid] or [None])[0] or real_getpwuid(uid))
    # The host-wide allocation record, as kinc_host makes it (empty).
    record = root / 'var/lib/kinc/allocations'
    record.parent.mkdir(parents=True)
    make_record_dir(str(record))
    monkeypatch.setitem(kinc_preflight.OPTIONS['host_record_dir'], 'default', str(record))
    real_getpwnam = pwd.getpwnam
    monkeypatch.setattr(findings.pwd, 'getpwnam',
                        lambda name: users[1] if name == USER else real_getpwnam(name))
    monkeypatch.setenv('PATH', str(bin_dir))
    monkeypatch.setattr(findings, 'PROC', str(proc))
    monkeypatch.setattr(findings, 'SYS_FS_CGROUP', str(cgroup))
    monkeypatch.setattr(findings, 'SYS_MODULE', str(root / 'sys/module'))
    monkeypatch.setattr(findings, 'LIB_MODULES', str(root / 'lib/modules'))
    monkeypatch.setattr(findings, 'ETC', str(root / 'etc'))
    monkeypatch.setattr(findings, 'LINGER_DIR', str(root / 'var/lib/systemd/linger'))
    monkeypatch.setattr(findings, 'ROOTFUL_DIRS', (str(root / 'etc/containers/systemd'),))
    return root, bin_dir


def fake_systemctl(bin_dir, delegated, tasks_max, reload_needed='no', dropins=''):
    """systemctl show for user@<uid>.service and user-<uid>.slice, as one call prints them."""
    write(bin_dir / 'systemctl', '#!/bin/sh\n'
          '[ "$*" = "show --property=DelegateControllers,NeedDaemonReload,ActiveState,TasksMax,DropInPaths '
          'user@%d.service user-%d.slice" ] || exit 3\n'
          'printf "ActiveState=active\\nTasksMax=infinity\\nDelegateControllers=%s\\nNeedDaemonReload=%s\\n\\n'
          'ActiveState=active\\nTasksMax=%s\\nNeedDaemonReload=no\\nDropInPaths=%s\\n"\n'
          % (UID, UID, delegated, reload_needed, tasks_max, dropins), 0o755)


def fake_podman(bin_dir, version, name='podman'):
    write(bin_dir / name, '#!/bin/sh\n'
          '[ "$*" = "version --format json" ] || exit 125\n'
          'echo \'{"Client": {"Version": "%s", "APIVersion": "%s"}}\'\n' % (version, version), 0o755)
    return str(bin_dir / name)


def run(capsys, **args):
    args.setdefault('user', USER)
    args.setdefault('sysctls', SYSCTLS)
    args.setdefault('sysctls_per_cluster', PER_CLUSTER)
    args.setdefault('kernel_modules', ['ip_tables', 'iptable_nat'])
    args.setdefault('packages', {'Debian': ['podman', 'uidmap'], 'RedHat': ['podman']})
    args.setdefault('tasks_base', 1024)
    args.setdefault('tasks_per_cluster', 2048)
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exited:
            kinc_preflight.main()
    result = json.loads(capsys.readouterr().out)
    result['rc'] = exited.value.code
    return result


def names(checks):
    return [check['name'] for check in checks]


def test_prepared_host_passes_and_reports_its_facts(host, capsys):
    result = run(capsys)
    assert result['rc'] == 0 and not result.get('failed')
    assert result['changed'] is False
    assert result['failed_checks'] == []
    assert all(check['ok'] for check in result['checks'])
    facts = result['preflight_facts']
    assert facts['kernel'] == '6.12.48+deb13-amd64'
    assert facts['podman_version'] == '5.4.2'
    assert facts['subuid'] == [[165536, 65536]]
    assert facts['subuid_next_free'] == 231072
    assert facts['delegate_configured'] == ['cpu', 'cpuset', 'io', 'memory', 'pids']
    assert facts['sysctls'] == {'net.ipv4.ip_forward': 1, 'fs.inotify.max_user_watches': 524288}
    assert facts['linger'] is True
    assert facts['network_helpers']['slirp4netns'] is None
    assert facts['os_family'] == 'Debian' and facts['missing_packages'] == []
    assert facts['kernel_modules'] == {'loadable': True, 'missing': []}
    assert facts['tasks_max'] is None and facts['user_manager_active'] is True
    # Nothing to change: the kinc_host role skips every other task.
    assert result['plan']['changes'] == []


def test_sizing_counts_every_users_clusters_plus_the_declared_ones(host, capsys, tmp_path):
    root, _bin = host
    # Another user's clusters count from the validated record, not from names in their home.
    plant_record(str(root / 'var/lib/kinc/allocations'), 4242, {'web': {
        'api_port': 6450, 'pod_subnet': '10.244.50.0/24', 'service_subnet': '10.50.0.0/16'}})
    write(tmp_path / 'home/bob/.local/share/containers/storage/volumes/kinc-unseen-var-data/_data/x', '')
    write(tmp_path / 'home/me/.config/containers/systemd/kinc-dev-control-plane.container', '')
    write(root / 'etc/containers/systemd/kinc-ops-control-plane.container', '')
    result = run(capsys, clusters=['dev', 'ci'])
    facts = result['preflight_facts']
    assert facts['host_clusters'] == [['bob', 'web'], [USER, 'dev'], ['root', 'ops']]
    assert facts['cluster_count'] == 4
    # 262144 + 131072 * 4, above the 524288 in force: raised, persisted alone in kinc's file.
    assert facts['sysctl_minimums']['fs.inotify.max_user_watches'] == 786432
    assert names(result['failed_checks']) == ['sysctl:fs.inotify.max_user_watches']
    plan = result['plan']
    assert plan['changes'] == ['sysctl_apply', 'sysctl_file']
    assert plan['sysctl_apply'] == {'fs.inotify.max_user_watches': 786432}
    assert plan['sysctl_file'].splitlines()[-1] == 'fs.inotify.max_user_watches = 786432'
    assert 'ip_forward' not in plan['sysctl_file']


def test_no_user_can_size_the_hosts_limits_without_bound(host, capsys, tmp_path):
    root, bin_dir = host
    fake_systemctl(bin_dir, 'cpu cpuset io memory pids', '2048')
    # 20,000 empty unit files in a home used to persist max_user_watches = 2621833216, never lowered.
    units = tmp_path / 'home/bob/.config/containers/systemd'
    units.mkdir(parents=True)
    for n in range(20000):
        (units / ('kinc-x%d-control-plane.container' % n)).write_text('')
    mine = tmp_path / 'home/me/.config/containers/systemd'
    mine.mkdir(parents=True)
    for n in range(200):  # the user's own, too many: counted up to the ceiling
        (mine / ('kinc-y%d-control-plane.container' % n)).write_text('')
    os.symlink(str(units), str(tmp_path / 'home/me/.config/containers/linked'))
    result = run(capsys, tasks_base=1024, tasks_per_cluster=4096)
    facts = result['preflight_facts']
    assert facts['cluster_count'] == owned_files.MAX_SIZED_CLUSTERS == 64
    assert facts['sysctl_minimums']['fs.inotify.max_user_watches'] == 262144 + 131072 * 64
    assert '[\'bob\'' not in str(facts['host_clusters'])
    assert 'TasksMax=%d' % (1024 + 4096 * 64) in result['plan']['tasks_dropin']


def test_a_value_kinc_persisted_above_its_ceiling_is_brought_back_to_it(host, capsys):
    root, _bin = host
    (root / 'etc/sysctl.d/90-kinc.conf').write_text(
        '# Written by kinc.kinc.kinc_host: the sysctls kinc raised (never lowered).\n'
        'fs.inotify.max_user_watches = 2621833216\n')
    (root / ('etc/systemd/system/user-%d.slice.d' % UID)).mkdir(parents=True, exist_ok=True)
    (root / ('etc/systemd/system/user-%d.slice.d/90-kinc-tasks.conf' % UID)).write_text(
        '# Written by kinc.kinc.kinc_host\n[Slice]\nTasksMax=81925120\n')
    plan = run(capsys)['plan']
    ceiling = 262144 + 131072 * owned_files.MAX_SIZED_CLUSTERS
    assert plan['sysctl_file'].splitlines()[-1] == 'fs.inotify.max_user_watches = %d' % ceiling
    assert 'TasksMax=%d' % (1024 + 2048 * owned_files.MAX_SIZED_CLUSTERS) in plan['tasks_dropin']


def test_plan_of_a_fresh_host(host, capsys):
    root, bin_dir = host
    (root / 'etc/systemd/system/user@.service.d/delegate.conf').write_text(
        '# kinc.kinc.kinc_host: let rootless Podman manage these\n[Service]\nDelegate=cpu cpuset io memory pids\n')
    (root / 'etc/sysctl.d/90-kinc.conf').unlink()
    (root / 'proc/modules').write_text('')
    fake_systemctl(bin_dir, 'cpu memory pids', '2048', reload_needed='yes')
    write(bin_dir / 'dpkg-query', '#!/bin/sh\necho "podman 1:4.3.1+ds1-8 install ok installed"\n'
          'echo "uidmap 1:4.13 deinstall ok config-files"\n', 0o755)
    write(root / 'etc/subuid', '')
    result = run(capsys, fail_on='none')
    plan = result['plan']
    assert plan['changes'] == ['daemon_reload', 'delegate_dropin', 'delegate_legacy_remove', 'modules_file',
                               'modules_load', 'packages', 'podman_upgrade', 'subuid', 'tasks_dropin']
    assert plan['packages'] == ['uidmap']
    assert result['preflight_facts']['podman_package_version'] == '1:4.3.1+ds1-8'
    assert plan['subuid'] == '100000-165535'
    assert plan['modules_load'] == ['ip_tables']
    assert plan['tasks_dropin'].endswith('TasksMax=3072\n')
    assert plan['paths']['tasks_dropin'] == '/etc/systemd/system/user-%d.slice.d/90-kinc-tasks.conf' % UID
    assert plan['delegate_dropin'].endswith('Delegate=cpu cpuset io memory pids\n')
    # 524288 in force is above the minimum: nothing persisted for it.
    assert plan['sysctl_file'] is None and plan['sysctl_apply'] == {}


def test_every_fixable_failure_is_listed_with_its_fix(host, capsys):
    root, bin_dir = host
    write(root / 'etc/subuid', 'other:100000:65536\n')
    (root / 'var/lib/systemd/linger' / USER).unlink()
    old = fake_podman(bin_dir, '4.3.0', name='old-podman')
    result = run(capsys, podman_executable=old)
    assert result['failed'] is True
    assert names(result['failed_checks']) == ['podman', 'subuid', 'linger']
    lines = result['msg'].splitlines()
    assert lines[0] == 'kinc preflight: 3 of 18 checks failed:'
    assert lines[1] == ('- [podman] podman 4.3.0 is older than 4.7.0. Fix: install Podman >= 4.7.0 with Quadlet '
                        '(Debian 13 and Ubuntu 24.04 ship it)')
    assert lines[2].startswith('- [subuid] %s has no range in /etc/subuid. Fix: usermod --add-subuids 165536-231071 '
                               % USER)
    assert lines[3].startswith('- [linger] lingering is disabled for %s' % USER)
    # The package is 5.4.2: an old executable named by `executable` asks for no package upgrade.
    assert result['plan']['podman_upgrade'] is False


def test_fail_on_blocking_lets_fixable_failures_through(host, capsys):
    root, _bin = host
    write(root / 'proc/sys/fs/inotify/max_user_watches', '8192\n')
    result = run(capsys, fail_on='blocking')
    assert result['rc'] == 0
    assert names(result['failed_checks']) == ['sysctl:fs.inotify.max_user_watches']
    assert result['failed_checks'][0]['message'] == 'fs.inotify.max_user_watches is 8192, below the minimum 393216'
    assert result['plan']['sysctl_apply'] == {'fs.inotify.max_user_watches': 393216}


def test_fail_on_blocking_fails_on_cgroup_v1_and_lists_the_fixable_ones_too(host, capsys):
    root, _bin = host
    (root / 'sys/fs/cgroup/cgroup.controllers').unlink()
    (root / 'var/lib/systemd/linger' / USER).unlink()
    result = run(capsys, fail_on='blocking')
    assert result['failed'] is True
    assert names(result['failed_checks']) == ['cgroup_v2', 'cgroup_controllers', 'linger']
    assert '(blocking: the kinc_host role cannot fix this)' in result['msg'].splitlines()[1]
    assert '[linger]' in result['msg']


def test_ignored_check_only_warns(host, capsys):
    root, _bin = host
    write(root / 'sys/fs/cgroup/cgroup.controllers', '')
    result = run(capsys, ignore=['cgroup_controllers'])
    assert result['rc'] == 0
    assert result['failed_checks'] == []
    # ansible-core 2.19 wraps warnings in event objects; older releases return plain strings.
    assert 'ignored failed check [cgroup_controllers]: the root cgroup lacks the controllers' \
        in json.dumps(result['warnings'])


def test_fail_on_none_never_fails(host, capsys):
    root, _bin = host
    write(root / 'proc/sys/kernel/osrelease', '4.19.0-26-amd64\n')
    result = run(capsys, fail_on='none')
    assert result['rc'] == 0
    # The other release has no iptable_nat among its built-in modules.
    assert names(result['failed_checks']) == ['kernel', 'kernel_modules']


def test_missing_podman_is_reported_not_raised(host, capsys):
    result = run(capsys, executable='/nonexistent/podman', fail_on='none')
    assert result['preflight_facts']['podman_version'] is None
    assert "'/nonexistent/podman' was not found" in result['failed_checks'][0]['message']


@pytest.mark.parametrize('args, message', [
    ({'user': 'no-such-user-kinc'}, "user 'no-such-user-kinc' does not exist on this host"),
    ({'user': 'root'}, "user 'root' is root; kinc runs rootless clusters: set kinc_user"),
    ({'sysctls': {'fs/inotify': 1}}, "sysctls key 'fs/inotify' is not a sysctl name"),
    ({'sysctls': {'fs.inotify.max_user_watches': 'many'}},
     "sysctls['fs.inotify.max_user_watches'] must be a non-negative integer; got: 'many'"),
    ({'sysctls_per_cluster': {'fs.inotify.max_user_watches': -1}},
     "sysctls_per_cluster['fs.inotify.max_user_watches'] must be a non-negative integer; got: -1"),
    ({'min_podman_version': 'four'}, "min_podman_version must be a version such as '4.7'; got: 'four'"),
    ({'directories': [{'path': 'var/lib/kinc', 'mode': '0755'}]},
     "directories[0] needs an absolute path and an octal mode such as '0755'"),
    ({'user_directories': ['var/lib/kinc/allocations']},
     "user_directories[0] must be an absolute path such as '/var/lib/kinc/allocations'"),
    ({'ignore': ['linger', 'cgroups']}, "ignore[1] 'cgroups' is not a check name; use one of: kernel, cgroup_v2"),
])
def test_bad_input_is_rejected_naming_the_field(host, capsys, args, message):
    result = run(capsys, **args)
    assert result['failed'] is True
    assert message in result['msg']


def test_directories_missing_or_with_another_mode_are_planned(host, capsys, tmp_path):
    record = tmp_path / 'allocations'
    record.mkdir()
    record.chmod(0o755)
    wanted = [{'path': str(record), 'mode': '01777'}, {'path': str(tmp_path / 'absent'), 'mode': '0755'}]
    assert run(capsys, directories=wanted)['plan']['directories'] == wanted
    record.chmod(0o1777)
    # The tests may run as another user than root: only root's directories are right.
    expected = wanted[1:] if os.stat(str(record)).st_uid == 0 else wanted
    assert run(capsys, directories=wanted)['plan']['directories'] == expected


def test_the_user_gets_a_directory_of_its_own_in_the_record_that_nobody_else_can_take(host, capsys, tmp_path):
    record = tmp_path / 'allocations'
    record.mkdir()
    own = record / str(UID)
    planned = [{'path': str(own), 'mode': '0755', 'owner': USER}]
    assert run(capsys, user_directories=[str(record)])['plan']['directories'] == planned
    own.mkdir()
    own.chmod(0o755)
    # root's, not the user's: still planned (the user could not write its record there).
    assert run(capsys, user_directories=[str(record)])['plan']['directories'] == planned
    os.chown(str(own), UID, 100)
    assert run(capsys, user_directories=[str(record)])['plan']['directories'] == []
    own.rmdir()
    os.symlink(str(tmp_path), str(own))  # a link in its place is not the user's directory
    assert run(capsys, user_directories=[str(record)])['plan']['directories'] == planned


def test_capacity_reports_room_and_what_runs_out_first(host, capsys, tmp_path):
    root, _bin = host
    write(root / 'proc/meminfo', 'MemTotal: 16384000 kB\nMemAvailable: 10240000 kB\n')
    write(root / 'proc/key-users', '    0:     9 8/8 3/1000000 56/25000000\n %5d:     2 2/2 2/200 28/20000\n' % UID)
    write(root / 'proc/sys/fs/inotify/max_user_instances', '128\n')
    write(tmp_path / 'home/me/.config/containers/systemd/kinc-dev-control-plane.container', '')
    result = run(capsys, clusters=['dev'], sysctls=dict(SYSCTLS, **{'kernel.keys.maxkeys': 1000}),
                 sysctls_per_cluster=dict(PER_CLUSTER, **{'kernel.keys.maxkeys': 500}))
    found = result['capacity']
    # 10000 MiB available, 2048 MiB a cluster: memory runs out after 4; the declared cluster exists already.
    assert (found['clusters_more'], found['limited_by'], found['new_clusters']) == (4, 'memory', [])
    keys = found['resources']['kernel_keys']
    # The user's own quota of /proc/key-users (200), raised by kinc_host to 1000 + 500 per cluster.
    assert (keys['limit'], keys['used'], keys['per_cluster']) == (200, 2, 500)
    assert keys['clusters_more'] > 4
    assert found['resources']['tasks']['clusters_more'] is None  # TasksMax=infinity
    # In force, though kinc_host does not size it here (no cost per cluster: not counted).
    assert found['resources']['inotify_instances']['limit'] == 128
    assert found['resources']['inotify_instances']['clusters_more'] is None
    assert 'capacity' not in names(result['failed_checks'])


def test_a_declaration_that_cannot_fit_is_refused_naming_the_resource(host, capsys):
    root, _bin = host
    write(root / 'proc/meminfo', 'MemAvailable: 3145728 kB\n')
    result = run(capsys, clusters=['a', 'b'], fail_on='blocking')
    assert result['failed'] is True
    check = [c for c in result['failed_checks'] if c['name'] == 'capacity'][0]
    assert check['blocking'] is True
    assert check['message'] == (
        "2 new cluster(s) (a, b) for %s do not fit: room for 1 more, limited by memory (limit 3072 MiB available "
        "after kinc_host's fixes, 0 in use, 2048 per cluster)" % USER)
    assert 'kinc_host_memory_per_cluster' in check['fix']
    assert '[capacity]' in result['msg']


def test_a_tasks_limit_set_after_kincs_drop_in_is_not_counted_as_raised(host, capsys, tmp_path):
    root, bin_dir = host
    owner = root / 'etc/systemd/system/user-1000.slice.d/99-owner.conf'
    write(owner, '[Slice]\nTasksMax=6000\n')
    earlier = root / 'usr/lib/systemd/system/user-.slice.d/10-defaults.conf'
    write(earlier, '[Slice]\nTasksMax=33%\n')
    write(root / 'sys/fs/cgroup/user.slice/user-1000.slice/pids.current', '300\n')
    fake_systemctl(bin_dir, 'cpu cpuset io memory pids', '6000', dropins='%s %s' % (earlier, owner))
    result = run(capsys, clusters=['a', 'b'], fail_on='none', memory_per_cluster=1)
    tasks = result['capacity']['resources']['tasks']
    # The owner's 6000 stays in force: 6000 - 300 in use leaves room for two clusters of 2048 tasks.
    assert (tasks['limit'], tasks['used'], tasks['limit_after_fixes'], tasks['clusters_more']) == (6000, 300, 6000, 2)
    assert result['capacity']['limited_by'] == 'tasks'
    assert str(owner) in tasks['fix']
    assert result['preflight_facts']['tasks_override'] == str(owner)
    # Without the owner's drop-in kinc's own raises the limit: room is counted after the fix.
    fake_systemctl(bin_dir, 'cpu cpuset io memory pids', '6000', dropins=str(earlier))
    result = run(capsys, clusters=['a', 'b'], fail_on='none', memory_per_cluster=1)
    assert result['capacity']['resources']['tasks']['clusters_more'] > 2

# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_preflight against a prepared file tree, with real podman/systemctl stand-in executables on PATH."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import pwd

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.kinc.kinc.plugins.modules import kinc_preflight

USER = pwd.getpwuid(os.getuid()).pw_name
UID = os.getuid()
SYSCTLS = {'net.ipv4.ip_forward': 1, 'fs.inotify.max_user_watches': 393216}


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
    bin_dir = tmp_path / 'bin'
    fake_podman(bin_dir, '5.4.2')
    write(bin_dir / 'systemctl', '#!/bin/sh\n'
          '[ "$*" = "show --property=DelegateControllers --value user@%d.service" ] || exit 3\n'
          'echo "cpu cpuset io memory pids"\n' % UID, 0o755)
    for tool in ('newuidmap', 'newgidmap', 'pasta'):
        write(bin_dir / tool, '#!/bin/sh\n', 0o755)
    monkeypatch.setenv('PATH', str(bin_dir))
    monkeypatch.setattr(kinc_preflight, 'PROC', str(proc))
    monkeypatch.setattr(kinc_preflight, 'SYS_FS_CGROUP', str(cgroup))
    monkeypatch.setattr(kinc_preflight, 'ETC', str(root / 'etc'))
    monkeypatch.setattr(kinc_preflight, 'LINGER_DIR', str(root / 'var/lib/systemd/linger'))
    return root, bin_dir


def fake_podman(bin_dir, version, name='podman'):
    write(bin_dir / name, '#!/bin/sh\n'
          '[ "$*" = "version --format json" ] || exit 125\n'
          'echo \'{"Client": {"Version": "%s", "APIVersion": "%s"}}\'\n' % (version, version), 0o755)
    return str(bin_dir / name)


def run(capsys, **args):
    args.setdefault('user', USER)
    args.setdefault('sysctls', SYSCTLS)
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


def test_every_fixable_failure_is_listed_with_its_fix(host, capsys):
    root, bin_dir = host
    write(root / 'etc/subuid', 'other:100000:65536\n')
    (root / 'var/lib/systemd/linger' / USER).unlink()
    old = fake_podman(bin_dir, '4.3.0', name='old-podman')
    result = run(capsys, podman_executable=old)
    assert result['failed'] is True
    assert names(result['failed_checks']) == ['podman', 'subuid', 'linger']
    lines = result['msg'].splitlines()
    assert lines[0] == 'kinc preflight: 3 of 13 checks failed:'
    assert lines[1] == ('- [podman] podman 4.3.0 is older than 4.4.0. Fix: install Podman >= 4.4.0 with Quadlet '
                        '(Debian 13, Ubuntu 24.04, Fedora 38 or newer ship it)')
    assert lines[2].startswith('- [subuid] %s has no range in /etc/subuid. Fix: usermod --add-subuids 165536-231071 '
                               % USER)
    assert lines[3].startswith('- [linger] lingering is disabled for %s' % USER)


def test_fail_on_blocking_lets_fixable_failures_through(host, capsys):
    root, _bin = host
    write(root / 'proc/sys/fs/inotify/max_user_watches', '8192\n')
    result = run(capsys, fail_on='blocking')
    assert result['rc'] == 0
    assert names(result['failed_checks']) == ['sysctl:fs.inotify.max_user_watches']
    assert result['failed_checks'][0]['message'] == 'fs.inotify.max_user_watches is 8192, below the minimum 393216'


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
    assert names(result['failed_checks']) == ['kernel']


def test_missing_podman_is_reported_not_raised(host, capsys):
    result = run(capsys, podman_executable='/nonexistent/podman', fail_on='none')
    assert result['preflight_facts']['podman_version'] is None
    assert "'/nonexistent/podman' was not found" in result['failed_checks'][0]['message']


@pytest.mark.parametrize('args, message', [
    ({'user': 'no-such-user-kinc'}, "user 'no-such-user-kinc' does not exist on this host"),
    ({'sysctls': {'fs/inotify': 1}}, "sysctls key 'fs/inotify' is not a sysctl name"),
    ({'sysctls': {'fs.inotify.max_user_watches': 'many'}},
     "sysctls['fs.inotify.max_user_watches'] must be a non-negative integer minimum; got: 'many'"),
    ({'min_podman_version': 'four'}, "min_podman_version must be a version such as '4.4'; got: 'four'"),
    ({'ignore': ['linger', 'cgroups']}, "ignore[1] 'cgroups' is not a check name; use one of: kernel, cgroup_v2"),
])
def test_bad_input_is_rejected_naming_the_field(host, capsys, args, message):
    result = run(capsys, **args)
    assert result['failed'] is True
    assert message in result['msg']

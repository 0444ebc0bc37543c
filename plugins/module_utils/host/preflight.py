# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure evaluation of a host's facts against what rootless kinc clusters need.

`evaluate(facts, requirements)` returns one `Check` per requirement. A failed check is either
*blocking* (the kinc_host role cannot fix it: kernel, cgroup v2, user namespaces) or fixable
(the role installs, configures or applies it). Gathering the facts is kinc_preflight's job.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

from ansible_collections.kinc.kinc.plugins.module_utils.host import capacity_model
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import MIN_PODMAN_VERSION
from ansible_collections.kinc.kinc.plugins.module_utils.versions import parse_version, version_text

from ansible_collections.kinc.kinc.plugins.module_utils.host.owned_files import (
    DELEGATE_DROPIN, MODULES_FILE, SYSCTL_FILE, TASKS_DROPIN)

Check = namedtuple('Check', ['name', 'ok', 'blocking', 'message', 'fix'])

MIN_KERNEL = (5, 10, 0)
# Quadlet's VolumeName= (the newest key kinc's units use) came with Podman 4.7.
MIN_PODMAN = parse_version(MIN_PODMAN_VERSION)
MIN_SUBIDS = 65536
CGROUP_CONTROLLERS = ('cpu', 'cpuset', 'io', 'memory', 'pids')


def parse_subids(text, user, uid):
    """Ranges (start, count) of /etc/subuid or /etc/subgid `text` owned by `user` (by name or uid)."""
    ranges = []
    for line in (text or '').splitlines():
        fields = line.strip().split(':')
        if len(fields) != 3 or fields[0] not in (user, str(uid)):
            continue
        try:
            ranges.append((int(fields[1]), int(fields[2])))
        except ValueError:
            continue
    return ranges


def next_free_subid(text, floor=100000):
    """First id after every range in the file (never below `floor`), where a new range can start."""
    end = floor
    for line in (text or '').splitlines():
        fields = line.strip().split(':')
        if len(fields) == 3 and fields[1].isdigit() and fields[2].isdigit():
            end = max(end, int(fields[1]) + int(fields[2]))
    return end


def _missing(required, present):
    return [name for name in required if name not in (present or [])]


def _kernel(facts, req):
    found = parse_version(facts.get('kernel') or '0')
    ok = found >= req['min_kernel']
    return Check('kernel', ok, True,
                 'kernel %s is %s %s' % (facts.get('kernel'), 'at least' if ok else 'older than',
                                         version_text(req['min_kernel'])),
                 'boot a kernel >= %s (Debian 12+, Ubuntu 22.04+, Fedora 38+)' % version_text(req['min_kernel']))


def _cgroup_v2(facts, _req):
    ok = bool(facts.get('cgroup_v2'))
    return Check('cgroup_v2', ok, True,
                 'cgroup v2 (unified hierarchy) is %s' % ('mounted at /sys/fs/cgroup' if ok else 'not in use'),
                 'boot with systemd.unified_cgroup_hierarchy=1 on the kernel command line and reboot')


def _cgroup_controllers(facts, req):
    missing = _missing(req['controllers'], facts.get('cgroup_controllers'))
    return Check('cgroup_controllers', not missing, True,
                 'the root cgroup lacks the controllers %s' % ' '.join(missing) if missing
                 else 'the root cgroup offers %s' % ' '.join(req['controllers']),
                 'enable them in cgroup v2: remove cgroup_no_v1=/hybrid settings from the kernel command line '
                 'so that no controller stays bound to cgroup v1, then reboot')


def _cgroup_delegation(facts, req):
    uid = facts.get('uid')
    effective = _missing(req['controllers'], facts.get('delegated_controllers'))
    configured = _missing(req['controllers'], facts.get('delegate_configured'))
    if not configured:
        message = 'user@%s.service delegates %s' % (uid, ' '.join(req['controllers']))
        if effective:
            message += ' (the running user manager lacks %s until it restarts)' % ' '.join(effective)
        return Check('cgroup_delegation', True, False, message, '')
    return Check('cgroup_delegation', False, False,
                 'user@%s.service does not delegate the cgroup controllers %s' % (uid, ' '.join(configured)),
                 'write %s with [Service] Delegate=%s (systemd adds it to what other drop-ins delegate), '
                 'run systemctl daemon-reload and log in again' % (DELEGATE_DROPIN, ' '.join(req['controllers'])))


def _cgroup_limits(facts, req):
    """The controllers the declared clusters' memory/cpus need, offered and delegated (else crun refuses the node)."""
    needed = req['limit_controllers']
    unoffered = _missing(needed, facts.get('cgroup_controllers'))
    undelegated = [c for c in needed if c not in (facts.get('delegated_controllers') or [])
                   and c not in (facts.get('delegate_configured') or [])]
    uid = facts.get('uid')
    if unoffered:
        return Check('cgroup_limits', False, True, 'clusters declare memory/cpus limits, but the root cgroup lacks the '
                     'controllers %s' % ' '.join(unoffered), 'enable them in cgroup v2 (no controller bound to cgroup '
                     'v1) or remove memory/cpus from the clusters')
    return Check('cgroup_limits', not undelegated, False,
                 'user@%s.service does not delegate %s, which the clusters\' memory/cpus limits need'
                 % (uid, ' '.join(undelegated)) if undelegated else
                 'the clusters\' limits have their controllers (%s)' % (' '.join(needed) or 'no limits declared'),
                 'write %s with [Service] Delegate=%s, run systemctl daemon-reload and log in again, or remove '
                 'memory/cpus from the clusters' % (DELEGATE_DROPIN, ' '.join(needed)))


def _user_namespaces(facts, _req):
    max_ns = facts.get('max_user_namespaces') or 0
    clone = facts.get('unprivileged_userns_clone')
    problems = []
    if max_ns <= 0:
        problems.append('user.max_user_namespaces is %s' % max_ns)
    if clone is not None and clone != 1:
        problems.append('kernel.unprivileged_userns_clone is %s' % clone)
    return Check('user_namespaces', not problems, True,
                 '; '.join(problems) if problems else 'unprivileged user namespaces are enabled',
                 'allow unprivileged user namespaces: sysctl user.max_user_namespaces=28633 '
                 '(and kernel.unprivileged_userns_clone=1 where it exists), persisted in /etc/sysctl.d')


def _subids(kind):
    def check(facts, req):
        user = facts.get('user')
        ranges = facts.get(kind) or []
        largest = max([count for _start, count in ranges] or [0])
        ok = largest >= req['min_subids']
        if ok:
            message = '%s has %d subordinate ids in /etc/%s' % (user, largest, kind)
        elif ranges:
            message = '%s has only %d subordinate ids in /etc/%s, needs %d' % (user, largest, kind, req['min_subids'])
        else:
            message = '%s has no range in /etc/%s' % (user, kind)
        opt = '--add-subuids' if kind == 'subuid' else '--add-subgids'
        start = facts.get('%s_next_free' % kind) or 100000
        return Check(kind, ok, False, message,
                     'usermod %s %d-%d %s (a free range of %d ids)'
                     % (opt, start, start + req['min_subids'] - 1, user, req['min_subids']))
    return check


def _newuidmap(facts, _req):
    missing = [tool for tool in ('newuidmap', 'newgidmap') if not (facts.get('id_mappers') or {}).get(tool)]
    return Check('newuidmap', not missing, False,
                 '%s not found' % ' and '.join(missing) if missing else 'newuidmap and newgidmap are installed',
                 'install the uidmap package (Debian/Ubuntu) or shadow-utils (Fedora)')


def _rootless_network(facts, _req):
    found = [tool for tool in ('pasta', 'slirp4netns') if (facts.get('network_helpers') or {}).get(tool)]
    return Check('rootless_network', bool(found), False,
                 'rootless networking through %s' % ' and '.join(found) if found
                 else 'neither pasta (passt) nor slirp4netns is installed',
                 'install the passt package (or slirp4netns)')


def _podman(facts, req):
    found = facts.get('podman_version')
    if not found:
        message = 'podman is not installed (%s)' % (facts.get('podman_error') or 'not found')
        ok = False
    else:
        ok = parse_version(found) >= req['min_podman']
        message = 'podman %s is %s %s' % (found, 'at least' if ok else 'older than', version_text(req['min_podman']))
    return Check('podman', ok, False, message,
                 'install Podman >= %s with Quadlet (Debian 13 and Ubuntu 24.04 ship it)'
                 % version_text(req['min_podman']))


def _linger(facts, _req):
    user = facts.get('user')
    ok = bool(facts.get('linger'))
    return Check('linger', ok, False,
                 'lingering is %s for %s' % ('enabled' if ok else 'disabled', user),
                 'loginctl enable-linger %s (keeps the clusters running without a login session)' % user)


def _sysctl(key, minimum):
    def check(facts, _req):
        current = (facts.get('sysctls') or {}).get(key)
        if current is None:
            return Check('sysctl:%s' % key, False, True, '%s does not exist on this kernel' % key,
                         'use a kernel that provides %s' % key)
        ok = current >= minimum
        return Check('sysctl:%s' % key, ok, False,
                     '%s is %s, %s %s' % (key, current, 'at least' if ok else 'below the minimum', minimum),
                     'set %s = %s in %s and run sysctl -w %s=%s' % (key, minimum, SYSCTL_FILE, key, minimum))
    return check


def _kernel_modules(facts, req):
    required = req['kernel_modules']
    found = facts.get('kernel_modules') or {}
    missing = [name for name in required if name in (found.get('missing') or [])]
    if not found.get('loadable') and required:
        return Check('kernel_modules', True, False,
                     'the kernel has no loadable modules: %s must be built in' % ' '.join(required), '')
    return Check('kernel_modules', not missing, False,
                 'kernel modules %s are not loaded (a rootless node cannot load them)' % ' '.join(missing)
                 if missing else 'kernel modules %s are available' % (' '.join(required) or '(none required)'),
                 'modprobe -a %s and list them in %s so that they load at boot' % (' '.join(missing), MODULES_FILE))


def _tasks_max(facts, req):
    needed = req['min_tasks']
    tasks_max = facts.get('tasks_max')
    uid = facts.get('uid')
    ok = not needed or tasks_max is None or tasks_max >= needed
    limit = 'infinity' if tasks_max is None else tasks_max
    return Check('tasks_max', ok, False,
                 'user-%s.slice allows %s tasks, %s %d' % (uid, limit, 'at least' if ok else 'below the', needed),
                 'write [Slice] TasksMax=%d into %s and run systemctl daemon-reload'
                 % (needed, TASKS_DROPIN % (uid if isinstance(uid, int) else 0)))


def _capacity(facts, req):
    found = facts.get('capacity')
    if not found:
        return Check('capacity', True, True, 'capacity not counted', '')
    new = req.get('new_clusters') or []
    refused = capacity_model.refusal(found, new, facts.get('user'))
    if refused:
        message, fix = refused
        return Check('capacity', False, True, message, fix)
    more = found['clusters_more']
    return Check('capacity', True, True,
                 'room for %s more cluster(s)%s, %d new declared'
                 % ('unlimited' if more is None else more,
                    ' (limited by %s)' % found['limited_by'] if found['limited_by'] else '', len(new)), '')


def _packages(facts, req):
    family = facts.get('os_family')
    wanted = req['packages']
    if not wanted:
        return Check('packages', True, False, 'no packages required', '')
    if family not in wanted:
        return Check('packages', False, True,
                     'OS family %s has no package list (known: %s)' % (family, ', '.join(sorted(wanted))),
                     'add its package list to kinc_host_packages')
    missing = facts.get('missing_packages') or []
    return Check('packages', not missing, False,
                 'packages %s are not installed' % ' '.join(missing) if missing
                 else 'packages %s are installed' % ' '.join(wanted[family]),
                 'install them (%s %s)' % ('apt-get install' if family == 'Debian' else 'dnf install', ' '.join(missing)))


def requirements(min_kernel=MIN_KERNEL, min_podman=MIN_PODMAN, min_subids=MIN_SUBIDS,
                 controllers=CGROUP_CONTROLLERS, sysctls=None, kernel_modules=(), min_tasks=0, packages=None,
                 limit_controllers=()):
    return {'min_kernel': tuple(min_kernel), 'min_podman': tuple(min_podman), 'min_subids': min_subids,
            'limit_controllers': list(limit_controllers),
            'controllers': list(controllers), 'sysctls': dict(sysctls or {}),
            'kernel_modules': list(kernel_modules), 'min_tasks': min_tasks, 'packages': dict(packages or {})}


def evaluate(facts, req):
    """Every check, blocking ones first, in a stable order."""
    checks = [_kernel, _cgroup_v2, _cgroup_controllers, _user_namespaces, _packages,
              _podman, _newuidmap, _rootless_network, _subids('subuid'), _subids('subgid'),
              _cgroup_delegation, _cgroup_limits, _linger, _kernel_modules, _tasks_max, _capacity]
    checks += [_sysctl(key, req['sysctls'][key]) for key in sorted(req['sysctls'])]
    results = [check(facts, req) for check in checks]
    return sorted(results, key=lambda check: not check.blocking)


def failures(checks, ignore=()):
    """The failed checks that count: those not ignored."""
    return [check for check in checks if not check.ok and check.name not in ignore]


def failure_message(failed, total):
    lines = ['kinc preflight: %d of %d checks failed:' % (len(failed), total)]
    for check in failed:
        blocking = ' (blocking: the kinc_host role cannot fix this)' if check.blocking else ''
        lines.append('- [%s] %s%s. Fix: %s' % (check.name, check.message, blocking, check.fix))
    return '\n'.join(lines)

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: kinc_preflight
short_description: Check that a host can run rootless kinc clusters
version_added: 0.1.0
description:
  - Gathers the facts that rootless kinc clusters depend on (kernel, cgroup v2 and its controllers, the cgroup
    delegation of the user's systemd manager, user namespaces, subordinate ids, newuidmap, rootless networking,
    the Podman version, lingering and sysctl values) and evaluates them.
  - Every failed check carries a message and the fix. A check is I(blocking) when the C(kinc.kinc.kinc_host)
    role cannot fix it (kernel, cgroup v2 and its controllers, user namespaces, a missing sysctl); the others are
    what that role installs or configures.
  - Only reads; never changes the host.
author:
  - kinc developers (@kinc)
options:
  user:
    description: The user who runs the rootless clusters.
    type: str
    required: true
  podman_executable:
    description: Name or path of the podman executable whose version is checked.
    type: str
    default: podman
  min_podman_version:
    description: Oldest acceptable Podman (4.4 brought Quadlet).
    type: str
    default: '4.4'
  min_kernel_version:
    description: Oldest acceptable kernel release.
    type: str
    default: '5.10'
  min_subids:
    description: Smallest acceptable range of subordinate uids and gids for O(user).
    type: int
    default: 65536
  cgroup_controllers:
    description: cgroup v2 controllers the root cgroup must offer and C(user@<uid>.service) must delegate.
    type: list
    elements: str
    default: [cpu, cpuset, io, memory, pids]
  sysctls:
    description: Minimum values of sysctls, keyed by their dotted name (for example C(fs.inotify.max_user_watches)).
    type: dict
    default: {}
  fail_on:
    description:
      - V(any) fails when any check fails, V(blocking) only when a blocking check fails, V(none) never
        (the result still lists the failed checks).
    type: str
    choices: [any, blocking, none]
    default: any
  ignore:
    description: Names of checks whose failure is reported as a warning only (for example C(cgroup_controllers)).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    description: Runs normally in check mode (it only reads).
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
  idempotent:
    description: Never changes the host.
    support: full
notes:
  - Run it as root (C(become)) so that it can read every file it needs; O(user) names whom it checks.
'''

EXAMPLES = r'''
- name: Fail early on what cannot be fixed, list the rest
  kinc.kinc.kinc_preflight:
    user: alice
    fail_on: blocking
    sysctls:
      net.ipv4.ip_forward: 1
      fs.inotify.max_user_watches: 524288
  register: preflight

- name: Everything must pass now
  kinc.kinc.kinc_preflight:
    user: alice
    ignore: [cgroup_controllers]
'''

RETURN = r'''
preflight_facts:
  description: What was found on the host.
  returned: always
  type: dict
  sample:
    user: alice
    uid: 1000
    kernel: 6.12.48-amd64
    cgroup_v2: true
    cgroup_controllers: [cpuset, cpu, io, memory, pids]
    delegated_controllers: [cpu, memory, pids]
    delegate_configured: [cpu, cpuset, io, memory, pids]
    max_user_namespaces: 96365
    unprivileged_userns_clone: null
    subuid: [[100000, 65536]]
    subgid: [[100000, 65536]]
    subuid_next_free: 165536
    subgid_next_free: 165536
    id_mappers: {newuidmap: /usr/bin/newuidmap, newgidmap: /usr/bin/newgidmap}
    network_helpers: {pasta: /usr/bin/pasta, slirp4netns: null}
    podman_version: 5.4.2
    podman_error: null
    linger: true
    sysctls: {net.ipv4.ip_forward: 1}
checks:
  description: Every check, blocking ones first.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: kernel, ok: true, blocking: true, message: kernel 6.12.48-amd64 is at least 5.10.0, fix: "..."}
failed_checks:
  description: The failed checks that are not ignored (whatever O(fail_on) says).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: linger, ok: false, blocking: false, message: lingering is disabled for alice,
       fix: loginctl enable-linger alice (keeps the clusters running without a login session)}
'''

import os
import pwd
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import PodmanClient, PodmanError, PodmanNotFound
from ansible_collections.kinc.kinc.plugins.module_utils.preflight import (
    evaluate, failure_message, failures, next_free_subid, parse_subids, requirements)
from ansible_collections.kinc.kinc.plugins.module_utils.versions import parse_version, version_text

# Roots of the files read; unit tests point them at a prepared tree.
PROC = '/proc'
SYS_FS_CGROUP = '/sys/fs/cgroup'
ETC = '/etc'
LINGER_DIR = '/var/lib/systemd/linger'

_SYSCTL_NAME = re.compile(r'^[a-z0-9_]+(\.[a-z0-9_-]+)+$')


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def _read_int(path):
    text = _read(path)
    try:
        return int(text.split()[0]) if text and text.split() else None
    except ValueError:
        return None


def _words(path):
    return (_read(path) or '').split()


def _delegate_configured(module, uid):
    """The controllers systemd is configured to delegate to user@<uid>.service (after daemon-reload)."""
    systemctl = module.get_bin_path('systemctl')
    if not systemctl:
        return []
    rc, out, _err = module.run_command([systemctl, 'show', '--property=DelegateControllers', '--value',
                                        'user@%d.service' % uid])
    return out.split() if rc == 0 else []


def _podman_version(module, executable):
    try:
        return version_text(PodmanClient.from_module(module, executable).version()), None
    except (PodmanError, PodmanNotFound) as exc:
        return None, str(exc)


def gather(module, user, uid, sysctl_names):
    subuid_text = _read(os.path.join(ETC, 'subuid'))
    subgid_text = _read(os.path.join(ETC, 'subgid'))
    user_cgroup = os.path.join(SYS_FS_CGROUP, 'user.slice', 'user-%d.slice' % uid, 'user@%d.service' % uid)
    podman_version, podman_error = _podman_version(module, module.params['podman_executable'])
    return {
        'user': user,
        'uid': uid,
        'kernel': (_read(os.path.join(PROC, 'sys/kernel/osrelease')) or '').strip(),
        'cgroup_v2': os.path.exists(os.path.join(SYS_FS_CGROUP, 'cgroup.controllers')),
        'cgroup_controllers': _words(os.path.join(SYS_FS_CGROUP, 'cgroup.controllers')),
        'delegated_controllers': _words(os.path.join(user_cgroup, 'cgroup.controllers')),
        'delegate_configured': _delegate_configured(module, uid),
        'max_user_namespaces': _read_int(os.path.join(PROC, 'sys/user/max_user_namespaces')),
        'unprivileged_userns_clone': _read_int(os.path.join(PROC, 'sys/kernel/unprivileged_userns_clone')),
        'subuid': parse_subids(subuid_text, user, uid),
        'subgid': parse_subids(subgid_text, user, uid),
        'subuid_next_free': next_free_subid(subuid_text),
        'subgid_next_free': next_free_subid(subgid_text),
        'id_mappers': dict((tool, module.get_bin_path(tool)) for tool in ('newuidmap', 'newgidmap')),
        'network_helpers': dict((tool, module.get_bin_path(tool)) for tool in ('pasta', 'slirp4netns')),
        'podman_version': podman_version,
        'podman_error': podman_error,
        'linger': os.path.exists(os.path.join(LINGER_DIR, user)),
        'sysctls': dict((name, _read_int(os.path.join(PROC, 'sys', name.replace('.', '/'))))
                        for name in sysctl_names),
    }


def _validate(module):
    """Reject bad input before reading anything, naming the field, the value and the fix."""
    params = module.params
    for field in ('min_podman_version', 'min_kernel_version'):
        if not re.match(r'^\d+(\.\d+){0,2}$', params[field]):
            module.fail_json(msg="%s must be a version such as '4.4'; got: %r" % (field, params[field]))
    for name, value in params['sysctls'].items():
        if not _SYSCTL_NAME.match(name):
            module.fail_json(msg="sysctls key %r is not a sysctl name; use the dotted form such as "
                                 "'fs.inotify.max_user_watches'" % name)
        try:
            if int(value) < 0:
                raise ValueError(value)
        except (TypeError, ValueError):
            module.fail_json(msg="sysctls[%r] must be a non-negative integer minimum; got: %r" % (name, value))
    try:
        entry = pwd.getpwnam(params['user'])
    except KeyError:
        module.fail_json(msg="user %r does not exist on this host; create the user or name an existing one "
                             "(kinc_host_user)" % params['user'])
    return entry.pw_uid


def main():
    module = AnsibleModule(
        argument_spec=dict(
            user=dict(type='str', required=True),
            podman_executable=dict(type='str', default='podman'),
            min_podman_version=dict(type='str', default='4.4'),
            min_kernel_version=dict(type='str', default='5.10'),
            min_subids=dict(type='int', default=65536),
            cgroup_controllers=dict(type='list', elements='str', default=['cpu', 'cpuset', 'io', 'memory', 'pids']),
            sysctls=dict(type='dict', default={}),
            fail_on=dict(type='str', choices=['any', 'blocking', 'none'], default='any'),
            ignore=dict(type='list', elements='str', default=[]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    uid = _validate(module)
    req = requirements(min_kernel=parse_version(params['min_kernel_version']),
                       min_podman=parse_version(params['min_podman_version']),
                       min_subids=params['min_subids'], controllers=params['cgroup_controllers'],
                       sysctls=dict((name, int(value)) for name, value in params['sysctls'].items()))
    known = [check.name for check in evaluate({}, req)]
    for index, name in enumerate(params['ignore']):
        if name not in known:
            module.fail_json(msg="ignore[%d] %r is not a check name; use one of: %s" % (index, name, ', '.join(known)))

    facts = gather(module, params['user'], uid, sorted(req['sysctls']))
    checks = evaluate(facts, req)
    failed = failures(checks, ignore=params['ignore'])
    for check in checks:
        if not check.ok and check.name in params['ignore']:
            module.warn('ignored failed check [%s]: %s' % (check.name, check.message))
    result = dict(changed=False, preflight_facts=facts, checks=[check._asdict() for check in checks],
                  failed_checks=[check._asdict() for check in failed])
    # The message always lists every failed check, so one run shows what blocks and what the role fixes.
    counted = {'any': failed, 'blocking': [check for check in failed if check.blocking], 'none': []}
    if counted[params['fail_on']]:
        module.fail_json(msg=failure_message(failed, len(checks)), **result)
    module.exit_json(msg='%d of %d checks failed' % (len(failed), len(checks)), **result)


if __name__ == '__main__':
    main()

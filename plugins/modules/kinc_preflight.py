#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: kinc_preflight
short_description: Check that a host can run rootless kinc clusters, and say what would make it so
version_added: 0.1.0
description:
  - Gathers the facts that rootless kinc clusters depend on (kernel, cgroup v2 and its controllers, the cgroup
    delegation of the user's systemd manager, user namespaces, the packages, subordinate ids, newuidmap, rootless
    networking, the Podman version, lingering, the kernel modules kube-proxy needs, the user's tasks limit and
    sysctl values) and evaluates them.
  - Every failed check carries a message and the fix. A check is I(blocking) when the C(kinc.kinc.kinc_host)
    role cannot fix it (kernel, cgroup v2 and its controllers, user namespaces, an unknown OS family, a missing
    sysctl); the others are what that role installs or configures.
  - Sizes the sysctl and tasks minimums for the clusters the host has (every user's kinc clusters, found by their
    Quadlet units and volumes) plus the ones O(clusters) declares, so inventories for different clusters on one
    host agree.
  - Returns RV(plan), what the C(kinc.kinc.kinc_host) role would change (only ever its own files, only ever
    adding); an empty RV(plan.changes) means everything is in force and the role skips all its other tasks.
  - Only reads; never changes the host.
author:
  - kinc developers (@kinc)
extends_documentation_fragment:
  - kinc.kinc.podman
options:
  user:
    description: The user who runs the rootless clusters; root is refused.
    type: str
    required: true
  min_podman_version:
    description: Oldest acceptable Podman (4.7 brought the newest Quadlet key kinc's units use, C(VolumeName=)).
    type: str
    default: '4.7'
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
  limit_controllers:
    description:
      - cgroup controllers that the inventory's cluster limits need (V(memory) for C(memory), V(cpu) for C(cpus)),
        checked by C(cgroup_limits); the root cgroup must offer them and C(user@<uid>.service) delegate them.
    type: list
    elements: str
    default: []
  clusters:
    description: Names of the clusters the inventory declares for O(user), counted with the ones the host has.
    type: list
    elements: str
    default: []
  host_record_dir:
    description:
      - The host-wide allocation record (see M(kinc.kinc.kinc_allocate)). The clusters of the other users are
        counted from it, validated, each user for at most the admin's per-user limit. Other users' homes are
        never read.
    type: path
    default: /var/lib/kinc/allocations
  sysctls:
    description:
      - Minimum values of sysctls for one cluster, keyed by their dotted name (for example
        C(fs.inotify.max_user_watches)); O(sysctls_per_cluster) adds to them per cluster.
    type: dict
    default: {}
  sysctls_per_cluster:
    description:
      - Added to the O(sysctls) minimums once per cluster counted (at least one), so that a minimum is
        C(sysctls[key] + sysctls_per_cluster[key] * N).
    type: dict
    default: {}
  kernel_modules:
    description: Kernel modules that must be loaded or built in (those kube-proxy needs in the node's mode).
    type: list
    elements: str
    default: []
  tasks_base:
    description: Tasks (processes and threads) C(user-<uid>.slice) must allow besides the clusters.
    type: int
    default: 0
  tasks_per_cluster:
    description: Tasks C(user-<uid>.slice) must allow per counted cluster (Podman's default pids limit of a
      container is 2048).
    type: int
    default: 0
  packages:
    description: Packages that must be installed, keyed by OS family (C(Debian), C(RedHat)); empty skips the check.
    type: dict
    default: {}
  user_directories:
    description:
      - Directories in which O(user) gets a directory of its own, C(<path>/<uid>), owned by the user, mode 0755
        (the host-wide allocation record, where nobody else can take a user's place). Each one that is missing
        or has another mode or owner is listed in RV(plan.directories), with its C(owner).
    type: list
    elements: path
    default: []
  directories:
    description:
      - Directories kinc needs host-wide (for example the shared allocation record), owned by root; each one that
        is missing or has another mode or owner is listed in RV(plan.directories).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: str
        required: true
      mode:
        description: Octal mode, for example C('01777').
        type: str
        required: true
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
  - Run it as root (C(become)) so that it can read every file it needs, including other users' homes for their
    clusters; O(user) names whom it checks.
'''

EXAMPLES = r'''
- name: Fail early on what cannot be fixed, list the rest
  kinc.kinc.kinc_preflight:
    user: alice
    fail_on: blocking
    clusters: [dev, ci]
    sysctls:
      net.ipv4.ip_forward: 1
      fs.inotify.max_user_watches: 262144
    sysctls_per_cluster:
      fs.inotify.max_user_watches: 131072
    kernel_modules: [ip_tables, iptable_nat, ip6_tables, ip6table_nat]
  register: preflight

- name: Show what the kinc_host role would change
  ansible.builtin.debug:
    msg: "{{ preflight.plan.changes }}"

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
    gid: 1000
    kernel: 6.12.48-amd64
    os_family: Debian
    missing_packages: []
    podman_package_version: 5.4.2+ds1-2
    cgroup_v2: true
    cgroup_controllers: [cpuset, cpu, io, memory, pids]
    delegated_controllers: [cpu, memory, pids]
    delegate_configured: [cpu, cpuset, io, memory, pids]
    need_daemon_reload: false
    user_manager_active: true
    tasks_max: null
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
    kernel_modules: {loadable: true, missing: []}
    host_clusters: [[alice, dev], [bob, web]]
    cluster_count: 3
    sysctl_minimums: {net.ipv4.ip_forward: 1, fs.inotify.max_user_watches: 655360}
    sysctls: {net.ipv4.ip_forward: 1, fs.inotify.max_user_watches: 655360}
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
plan:
  description:
    - What the C(kinc.kinc.kinc_host) role would change, each entry empty when nothing is to do.
    - Files are kinc's own (each carries C(kinc.kinc.kinc_host) in a comment); a file content of null means
      the file is left as it is.
  returned: always
  type: dict
  contains:
    changes:
      description: Names of the entries below that have something to do; empty when everything is in force.
      type: list
      elements: str
      sample: [sysctl_file, sysctl_apply]
    packages:
      description: Packages to install.
      type: list
      elements: str
    podman_upgrade:
      description: Whether the installed Podman package is older than O(min_podman_version).
      type: bool
    directories:
      description:
        - The entries of O(directories) to create or to give their mode and owner root, then those of
          O(user_directories) (key C(owner) the user).
      type: list
      elements: dict
    subuid:
      description: Range C(start-end) of subordinate uids to add to the user, or null.
      type: str
    subgid:
      description: Range C(start-end) of subordinate gids to add to the user, or null.
      type: str
    linger:
      description: Whether lingering is to be enabled.
      type: bool
    user_manager:
      description: Whether the user's systemd manager is not running yet (to wait for).
      type: bool
    delegate_dropin:
      description: Content of C(/etc/systemd/system/user@.service.d/90-kinc-delegate.conf) to write, or null.
      type: str
    delegate_legacy_remove:
      description: Whether a C(user@.service.d/delegate.conf) written by an older kinc is to be removed.
      type: bool
    daemon_reload:
      description: Whether systemd has unit files changed on disk that it has not loaded.
      type: bool
    tasks_dropin:
      description: Content of kinc's C(TasksMax) drop-in for C(user-<uid>.slice) to write, or null.
      type: str
    modules_load:
      description: Kernel modules to load now.
      type: list
      elements: str
    modules_file:
      description: Content of C(/etc/modules-load.d/kinc.conf) to write, or null.
      type: str
    sysctl_file:
      description: Content of C(/etc/sysctl.d/90-kinc.conf) to write (only the keys kinc raises), or null.
      type: str
    sysctl_file_remove:
      description: Whether kinc's sysctl file is to be removed (it holds no key kinc raises).
      type: bool
    sysctl_apply:
      description: Sysctls to set now, each below the value kinc persists (others are never touched).
      type: dict
    paths:
      description: Where kinc's files are (keys C(delegate_dropin), C(delegate_legacy), C(tasks_dropin),
        C(modules_file), C(sysctl_file)).
      type: dict
'''

import os
import pwd
import re
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kinc.kinc.plugins.module_utils import allocation_record, host_cgroups, host_plan
from ansible_collections.kinc.kinc.plugins.module_utils.module_base import KincError, argument_spec, podman, run
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import MIN_PODMAN_VERSION, PodmanError, PodmanNotFound
from ansible_collections.kinc.kinc.plugins.module_utils.preflight import (
    evaluate, failure_message, failures, next_free_subid, parse_subids, requirements)
from ansible_collections.kinc.kinc.plugins.module_utils.systemd import Systemctl, SystemdError
from ansible_collections.kinc.kinc.plugins.module_utils.versions import parse_version, version_text

# Roots of the files read; unit tests point them at a prepared tree.
PROC = '/proc'
SYS_FS_CGROUP = '/sys/fs/cgroup'
SYS_MODULE = '/sys/module'
LIB_MODULES = '/lib/modules'
ETC = '/etc'
LINGER_DIR = '/var/lib/systemd/linger'
ROOTFUL_DIRS = (host_plan.ROOTFUL_UNIT_DIR, host_plan.ROOTFUL_VOLUME_DIR)

_SYSCTL_NAME = re.compile(r'[a-z0-9_]+(\.[a-z0-9_-]+)+')
# ID / ID_LIKE words of /etc/os-release → Ansible's os_family, for the families kinc has package lists for.
_OS_FAMILIES = {'debian': 'Debian', 'ubuntu': 'Debian', 'fedora': 'RedHat', 'rhel': 'RedHat', 'centos': 'RedHat'}

OPTIONS = dict(
    user=dict(type='str', required=True),
    min_podman_version=dict(type='str', default=MIN_PODMAN_VERSION),
    min_kernel_version=dict(type='str', default='5.10'),
    min_subids=dict(type='int', default=65536),
    cgroup_controllers=dict(type='list', elements='str', default=['cpu', 'cpuset', 'io', 'memory', 'pids']),
    limit_controllers=dict(type='list', elements='str', default=[]),
    clusters=dict(type='list', elements='str', default=[]),
    host_record_dir=dict(type='path', default=allocation_record.HOST_RECORD_DIR),
    sysctls=dict(type='dict', default={}),
    sysctls_per_cluster=dict(type='dict', default={}),
    kernel_modules=dict(type='list', elements='str', default=[]),
    tasks_base=dict(type='int', default=0),
    tasks_per_cluster=dict(type='int', default=0),
    packages=dict(type='dict', default={}),
    user_directories=dict(type='list', elements='path', default=[]),
    directories=dict(type='list', elements='dict', default=[],
                     options=dict(path=dict(type='str', required=True), mode=dict(type='str', required=True))),
    fail_on=dict(type='str', choices=['any', 'blocking', 'none'], default='any'),
    ignore=dict(type='list', elements='str', default=[]),
)


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


def _etc(path):
    """A path under /etc, under ETC (tests point it elsewhere)."""
    return os.path.join(ETC, os.path.relpath(path, '/etc'))


def _systemd(module, uid):
    """user@<uid>.service's delegation, reload need and state, user-<uid>.slice's TasksMax: one systemctl call."""
    units = ['user@%d.service' % uid, 'user-%d.slice' % uid]
    found = {}
    if module.get_bin_path('systemctl'):
        try:
            found = Systemctl(module.run_command, user=False).show_units(
                units, ['DelegateControllers', 'NeedDaemonReload', 'ActiveState', 'TasksMax'])
        except SystemdError:
            found = {}
    service, slice_ = found.get(units[0], {}), found.get(units[1], {})
    tasks_max = slice_.get('TasksMax', 'infinity')
    return {
        'delegate_configured': service.get('DelegateControllers', '').split(),
        'need_daemon_reload': service.get('NeedDaemonReload') == 'yes',
        'user_manager_active': service.get('ActiveState') == 'active',
        'tasks_max': int(tasks_max) if tasks_max.isdigit() and int(tasks_max) < 2 ** 63 else None,
    }


def _podman_version(module):
    try:
        return version_text(podman(module).version()), None
    except (PodmanError, PodmanNotFound) as exc:
        return None, str(exc)


def _os_family():
    fields = dict(line.split('=', 1) for line in (_read(os.path.join(ETC, 'os-release')) or '').splitlines()
                  if '=' in line)
    words = [fields.get('ID', '').strip('"\'')] + fields.get('ID_LIKE', '').strip('"\'').split()
    for word in words:
        if word in _OS_FAMILIES:
            return _OS_FAMILIES[word]
    return None


def _installed_packages(module, family, names):
    """{name: version} of the packages of `names` that are installed, asked of dpkg or rpm in one call."""
    if not names:
        return {}
    if family == 'Debian':
        tool = module.get_bin_path('dpkg-query')
        argv = [tool, '-W', '-f=${Package} ${Version} ${Status}\\n'] + names
    else:
        tool = module.get_bin_path('rpm')
        argv = [tool, '-q', '--qf', '%{NAME} %{VERSION} install ok installed\\n'] + names
    if not tool:
        return {}
    _rc, out, _err = module.run_command(argv)
    return dict(line.split()[:2] for line in out.splitlines()
                if line.endswith(' installed') and len(line.split()) >= 2)


def _kernel_modules(names, release):
    """Which of `names` is neither loaded nor built in; a kernel without /proc/modules loads none."""
    loaded_text = _read(os.path.join(PROC, 'modules'))
    if loaded_text is None:
        return {'loadable': False, 'missing': []}
    present = set(line.split()[0] for line in loaded_text.splitlines() if line.strip())
    for line in (_read(os.path.join(LIB_MODULES, release, 'modules.builtin')) or '').splitlines():
        present.add(os.path.basename(line.strip()).split('.ko')[0].replace('-', '_'))
    missing = [name for name in names if name.replace('-', '_') not in present
               and not os.path.isdir(os.path.join(SYS_MODULE, name.replace('-', '_')))]
    return {'loadable': True, 'missing': missing}


def _home(user):
    try:
        return pwd.getpwnam(user).pw_dir
    except KeyError:
        return None


def _entries(base, relative, owner):
    """Names of the regular files and directories in base/relative when every directory on the way is a real
    directory (never a link) of `owner` or root; [] otherwise."""
    path = base
    for part in [None] + [p for p in relative.split('/') if p]:
        path = path if part is None else os.path.join(path, part)
        try:
            info = os.lstat(path)
        except OSError:
            return []
        if not stat.S_ISDIR(info.st_mode) or info.st_uid not in (owner, 0):
            return []
    try:
        return [entry.name for entry in os.scandir(path)
                if entry.is_file(follow_symlinks=False) or entry.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def _owner_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return 'uid %d' % uid


def _host_clusters(user, uid, home, record_dir):
    """(owner, cluster name) of the kinc clusters on the host, from trusted places only: root's directories,
    the user's own home (no link followed), and every other user's clusters from the validated host-wide
    record (each user counting for at most the admin's per-user limit). Other homes are never walked: an
    NFS/LDAP site would mount them all, and any name in them is anyone's text."""
    found = set()
    for directory in ROOTFUL_DIRS:
        found.update(('root', name) for name in host_plan.cluster_names(_entries(directory, '', 0)))
    if home and home != '/':
        for relative in (host_plan.ROOTLESS_UNIT_DIR, host_plan.ROOTLESS_VOLUME_DIR):
            found.update((user, name) for name in host_plan.cluster_names(_entries(home, relative, uid)))
    if allocation_record.unusable_reason(record_dir) is None:
        for owner, names in sorted(allocation_record.recorded_names(record_dir).items()):
            if owner != uid:
                found.update((_owner_name(owner), name) for name in names)
    return sorted(found)


def gather(module, user, uid, gid):
    params = module.params
    subuid_text = _read(os.path.join(ETC, 'subuid'))
    subgid_text = _read(os.path.join(ETC, 'subgid'))
    user_cgroup = host_cgroups.user_manager_cgroup(uid, SYS_FS_CGROUP)
    podman_version, podman_error = _podman_version(module)
    kernel = (_read(os.path.join(PROC, 'sys/kernel/osrelease')) or '').strip()
    family = _os_family()
    wanted = (params['packages'] or {}).get(family) or []
    installed = _installed_packages(module, family, sorted(set(wanted) | set(['podman'])))
    facts = {
        'user': user,
        'uid': uid,
        'gid': gid,
        'kernel': kernel,
        'os_family': family,
        'missing_packages': [name for name in wanted if name not in installed],
        'podman_package_version': installed.get('podman'),
        'cgroup_v2': os.path.exists(os.path.join(SYS_FS_CGROUP, 'cgroup.controllers')),
        'cgroup_controllers': _words(os.path.join(SYS_FS_CGROUP, 'cgroup.controllers')),
        'delegated_controllers': _words(os.path.join(user_cgroup, 'cgroup.controllers')),
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
        'kernel_modules': _kernel_modules(params['kernel_modules'], kernel),
        'host_clusters': _host_clusters(user, uid, _home(user), params['host_record_dir']),
        'sysctls': dict((name, _read_int(os.path.join(PROC, 'sys', name.replace('.', '/'))))
                        for name in params['sysctls']),
    }
    facts.update(_systemd(module, uid))
    facts['cluster_count'] = host_plan.cluster_count(
        [tuple(entry) for entry in facts['host_clusters']], user, params['clusters'])
    return facts


def _directories_to_fix(directories, user_directories=(), user=None, uid=0, gid=0):
    """The entries whose directory is missing, or not its owner's with exactly its mode (lstat: a link is wrong)."""
    wanted = [(dict(entry), 0, 0) for entry in directories]
    wanted += [({'path': os.path.join(parent, str(uid)), 'mode': '0755', 'owner': user}, uid, gid)
               for parent in user_directories]
    wrong = []
    for entry, owner, group in wanted:
        try:
            found = os.lstat(entry['path'])
        except OSError:
            wrong.append(entry)
            continue
        if not stat.S_ISDIR(found.st_mode) or stat.S_IMODE(found.st_mode) != int(entry['mode'], 8) \
                or found.st_uid != owner or found.st_gid != group:
            wrong.append(entry)
    return wrong


def _subid_range(facts, kind, size):
    largest = max([count for _start, count in facts[kind]] or [0])
    if largest >= size:
        return None
    start = facts['%s_next_free' % kind]
    return '%d-%d' % (start, start + size - 1)


def plan(facts, req, params):
    """What the kinc_host role would change, from the facts (see RETURN)."""
    uid = facts['uid']
    delegate, legacy = host_plan.delegate_plan(
        req['controllers'], facts['delegate_configured'], _read(_etc(host_plan.DELEGATE_DROPIN)),
        _read(_etc(host_plan.LEGACY_DELEGATE_DROPIN)))
    paths = {'delegate_dropin': host_plan.DELEGATE_DROPIN, 'delegate_legacy': host_plan.LEGACY_DELEGATE_DROPIN,
             'tasks_dropin': host_plan.TASKS_DROPIN % uid, 'modules_file': host_plan.MODULES_FILE,
             'sysctl_file': host_plan.SYSCTL_FILE}
    modules, modules_file = host_plan.modules_plan(facts['kernel_modules']['missing'],
                                                   _read(_etc(host_plan.MODULES_FILE)))
    sysctl_text = _read(_etc(host_plan.SYSCTL_FILE))
    persisted, apply = host_plan.sysctl_plan(req['sysctls'], sysctl_text, facts['sysctls'],
                                             params['sysctls'], params['sysctls_per_cluster'])
    sysctl_file = host_plan.render_sysctl_file(persisted)
    # The package, not the executable checked: a podman named by `executable` may be another one.
    package_version = facts['podman_package_version']
    result = {
        'packages': facts['missing_packages'],
        'podman_upgrade': bool(package_version) and parse_version(package_version.split(':')[-1]) < req['min_podman'],
        'directories': _directories_to_fix(params['directories'], params['user_directories'], facts['user'],
                                           uid, facts['gid']),
        'subuid': _subid_range(facts, 'subuid', req['min_subids']),
        'subgid': _subid_range(facts, 'subgid', req['min_subids']),
        'linger': not facts['linger'],
        'user_manager': not facts['user_manager_active'],
        'delegate_dropin': delegate,
        'delegate_legacy_remove': legacy,
        'daemon_reload': facts['need_daemon_reload'],
        'tasks_dropin': host_plan.tasks_plan(
            uid, req['min_tasks'], facts['tasks_max'], _read(_etc(paths['tasks_dropin'])),
            params['tasks_base'] + params['tasks_per_cluster'] * host_plan.MAX_SIZED_CLUSTERS),
        'modules_load': modules,
        'modules_file': modules_file,
        'sysctl_file': None if sysctl_file == sysctl_text else sysctl_file,
        'sysctl_file_remove': sysctl_file is None and host_plan.is_kinc_file(sysctl_text),
        'sysctl_apply': apply,
    }
    result['changes'] = sorted(key for key, value in result.items() if value)
    result['paths'] = paths
    return result


def _validate(params):
    """Reject bad input before reading anything, naming the field, the value and the fix."""
    for field in ('min_podman_version', 'min_kernel_version'):
        if not re.fullmatch(r'\d+(\.\d+){0,2}', params[field]):
            raise KincError("%s must be a version such as '4.7'; got: %r" % (field, params[field]))
    for index, entry in enumerate(params['directories']):
        if not os.path.isabs(entry['path']) or not re.fullmatch(r'0?[0-7]{3,4}', entry['mode']) or '\n' in entry['path']:
            raise KincError("directories[%d] needs an absolute path and an octal mode such as '0755'; got: %r"
                            % (index, entry))
    for index, path in enumerate(params['user_directories']):
        if not os.path.isabs(path) or '\n' in path:
            raise KincError("user_directories[%d] must be an absolute path such as '/var/lib/kinc/allocations'; "
                            "got: %r" % (index, path))
    for field in ('sysctls', 'sysctls_per_cluster'):
        for name, value in params[field].items():
            if not _SYSCTL_NAME.fullmatch(name):
                raise KincError("%s key %r is not a sysctl name; use the dotted form such as "
                                "'fs.inotify.max_user_watches'" % (field, name))
            try:
                if int(value) < 0:
                    raise ValueError(value)
            except (TypeError, ValueError):
                raise KincError("%s[%r] must be a non-negative integer; got: %r" % (field, name, value))
    try:
        entry = pwd.getpwnam(params['user'])
    except KeyError:
        raise KincError("user %r does not exist on this host; create the user or name an existing one "
                        "(kinc_user or kinc_host_user)" % params['user'])
    if entry.pw_uid == 0:
        raise KincError("user %r is root; kinc runs rootless clusters: set kinc_user (or kinc_host_user) to the "
                        "existing, unprivileged user who will run them, for example -e kinc_user=alice"
                        % params['user'])
    return entry.pw_uid, entry.pw_gid


def preflight(module):
    params = module.params
    uid, gid = _validate(params)
    req = requirements(min_kernel=parse_version(params['min_kernel_version']),
                       min_podman=parse_version(params['min_podman_version']),
                       min_subids=params['min_subids'], controllers=params['cgroup_controllers'],
                       kernel_modules=params['kernel_modules'], packages=params['packages'],
                       limit_controllers=params['limit_controllers'])
    known = [check.name for check in evaluate({}, req)]
    for index, name in enumerate(params['ignore']):
        if name not in known and not name.startswith('sysctl:'):
            raise KincError("ignore[%d] %r is not a check name; use one of: %s" % (index, name, ', '.join(known)))

    facts = gather(module, params['user'], uid, gid)
    count = facts['cluster_count']
    req['sysctls'] = host_plan.sysctl_minimums(params['sysctls'], params['sysctls_per_cluster'], count)
    req['min_tasks'] = params['tasks_base'] + params['tasks_per_cluster'] * count
    facts['sysctl_minimums'] = req['sysctls']
    checks = evaluate(facts, req)
    failed = failures(checks, ignore=params['ignore'])
    for check in checks:
        if not check.ok and check.name in params['ignore']:
            module.warn('ignored failed check [%s]: %s' % (check.name, check.message))
    result = dict(changed=False, preflight_facts=facts, checks=[check._asdict() for check in checks],
                  failed_checks=[check._asdict() for check in failed], plan=plan(facts, req, params))
    # The message always lists every failed check, so one run shows what blocks and what the role fixes.
    counted = {'any': failed, 'blocking': [check for check in failed if check.blocking], 'none': []}
    if counted[params['fail_on']]:
        raise KincError(failure_message(failed, len(checks)), **result)
    result['msg'] = '%d of %d checks failed' % (len(failed), len(checks))
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(OPTIONS), supports_check_mode=True)
    run(module, lambda: preflight(module))


if __name__ == '__main__':
    main()

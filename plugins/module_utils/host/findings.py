# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What kinc_preflight finds on the host: the facts its checks (preflight.py) and its plan (fix_plan.py)
are computed from. Only reads; the roots of the files read are module constants so that unit tests point them
at a prepared tree."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd
import re
import stat

from ansible_collections.kinc.kinc.plugins.module_utils.allocation import ledger
from ansible_collections.kinc.kinc.plugins.module_utils.host import cgroups
from ansible_collections.kinc.kinc.plugins.module_utils.host import owned_files
from ansible_collections.kinc.kinc.plugins.module_utils.host import in_use
from ansible_collections.kinc.kinc.plugins.module_utils.module_base import podman
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import PodmanError, PodmanNotFound
from ansible_collections.kinc.kinc.plugins.module_utils.host.preflight import next_free_subid, parse_subids
from ansible_collections.kinc.kinc.plugins.module_utils.systemd import Systemctl, SystemdError
from ansible_collections.kinc.kinc.plugins.module_utils.versions import version_text

# Roots of the files read; unit tests point them at a prepared tree.
PROC = '/proc'
SYS_FS_CGROUP = '/sys/fs/cgroup'
SYS_MODULE = '/sys/module'
LIB_MODULES = '/lib/modules'
ETC = '/etc'
LINGER_DIR = '/var/lib/systemd/linger'
ROOTFUL_DIRS = (owned_files.ROOTFUL_UNIT_DIR, owned_files.ROOTFUL_VOLUME_DIR)

# ID / ID_LIKE words of /etc/os-release → Ansible's os_family, for the families kinc has package lists for.
_OS_FAMILIES = {'debian': 'Debian', 'ubuntu': 'Debian', 'fedora': 'RedHat', 'rhel': 'RedHat', 'centos': 'RedHat'}


def read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def _read_int(path):
    text = read_text(path)
    try:
        return int(text.split()[0]) if text and text.split() else None
    except ValueError:
        return None


def _words(path):
    return (read_text(path) or '').split()


def etc_path(path):
    """A path under /etc, under ETC (tests point it elsewhere)."""
    return os.path.join(ETC, os.path.relpath(path, '/etc'))


def _systemd(module, uid):
    """user@<uid>.service's delegation, reload need and state, user-<uid>.slice's TasksMax and who sets it:
    one systemctl call."""
    units = ['user@%d.service' % uid, 'user-%d.slice' % uid]
    found = {}
    if module.get_bin_path('systemctl'):
        try:
            found = Systemctl(module.run_command, user=False).show_units(
                units, ['DelegateControllers', 'NeedDaemonReload', 'ActiveState', 'TasksMax', 'DropInPaths'])
        except SystemdError:
            found = {}
    service, slice_ = found.get(units[0], {}), found.get(units[1], {})
    tasks_max = slice_.get('TasksMax', 'infinity')
    return {
        'delegate_configured': service.get('DelegateControllers', '').split(),
        'need_daemon_reload': service.get('NeedDaemonReload') == 'yes',
        'user_manager_active': service.get('ActiveState') == 'active',
        'tasks_max': int(tasks_max) if tasks_max.isdigit() and int(tasks_max) < 2 ** 63 else None,
        'tasks_override': _tasks_override(slice_.get('DropInPaths', '').split()),
    }


def _tasks_override(dropins):
    """The last of the slice's drop-ins (systemd applies them in the order of their names, whatever their
    directory) that sets TasksMax after kinc's own: kinc cannot raise the limit past it. None when none does."""
    kinc_name = os.path.basename(owned_files.TASKS_DROPIN)
    found = None
    for path in dropins:
        if os.path.basename(path) <= kinc_name:
            continue
        text = read_text(path) or ''
        if not owned_files.is_kinc_file(text) and re.search(r'^\s*TasksMax\s*=', text, re.MULTILINE):
            found = path
    return found


def _usage(uid, subuid):
    """What the user uses now of the limits that decide how many more clusters fit (see capacity_model)."""
    instances, watches = in_use.inotify_usage(in_use.owns(uid, subuid), PROC)
    usage = {'inotify_instances': instances, 'inotify_watches': watches,
             'tasks': in_use.slice_tasks(uid, SYS_FS_CGROUP),
             'memory_available_mib': in_use.memory_available_mib(PROC)}
    # The per-user limits in force (the user's own key quota of /proc/key-users, below, wins once it holds a key).
    for used, key in (('inotify_instances', 'fs/inotify/max_user_instances'),
                      ('inotify_watches', 'fs/inotify/max_user_watches'),
                      ('keys', 'kernel/keys/maxkeys'), ('key_bytes', 'kernel/keys/maxbytes')):
        usage[used + '_max'] = _read_int(os.path.join(PROC, 'sys', key))
    usage.update(in_use.key_usage(uid, PROC) or {})
    return usage


def _podman_version(module):
    try:
        return version_text(podman(module).version()), None
    except (PodmanError, PodmanNotFound) as exc:
        return None, str(exc)


def _os_family():
    fields = dict(line.split('=', 1) for line in (read_text(os.path.join(ETC, 'os-release')) or '').splitlines()
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
    loaded_text = read_text(os.path.join(PROC, 'modules'))
    if loaded_text is None:
        return {'loadable': False, 'missing': []}
    present = set(line.split()[0] for line in loaded_text.splitlines() if line.strip())
    for line in (read_text(os.path.join(LIB_MODULES, release, 'modules.builtin')) or '').splitlines():
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
        found.update(('root', name) for name in owned_files.cluster_names(_entries(directory, '', 0)))
    if home and home != '/':
        for relative in (owned_files.ROOTLESS_UNIT_DIR, owned_files.ROOTLESS_VOLUME_DIR):
            found.update((user, name) for name in owned_files.cluster_names(_entries(home, relative, uid)))
    if ledger.unusable_reason(record_dir) is None:
        for owner, names in sorted(ledger.recorded_names(record_dir).items()):
            if owner != uid:
                found.update((_owner_name(owner), name) for name in names)
    return sorted(found)


def gather(module, user, uid, gid):
    params = module.params
    subuid_text = read_text(os.path.join(ETC, 'subuid'))
    subgid_text = read_text(os.path.join(ETC, 'subgid'))
    user_cgroup = cgroups.user_manager_cgroup(uid, SYS_FS_CGROUP)
    podman_version, podman_error = _podman_version(module)
    kernel = (read_text(os.path.join(PROC, 'sys/kernel/osrelease')) or '').strip()
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
    facts['usage'] = _usage(uid, facts['subuid'])
    facts['cluster_count'] = owned_files.cluster_count(
        [tuple(entry) for entry in facts['host_clusters']], user, params['clusters'])
    return facts

# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the kinc_host role would change, from kinc_preflight's facts (see kinc_preflight's RETURN plan)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ansible_collections.kinc.kinc.plugins.module_utils.host import owned_files
from ansible_collections.kinc.kinc.plugins.module_utils.host.findings import etc_path, read_text
from ansible_collections.kinc.kinc.plugins.module_utils.versions import parse_version


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
    delegate, legacy = owned_files.delegate_plan(
        req['controllers'], facts['delegate_configured'], read_text(etc_path(owned_files.DELEGATE_DROPIN)),
        read_text(etc_path(owned_files.LEGACY_DELEGATE_DROPIN)))
    paths = {'delegate_dropin': owned_files.DELEGATE_DROPIN, 'delegate_legacy': owned_files.LEGACY_DELEGATE_DROPIN,
             'tasks_dropin': owned_files.TASKS_DROPIN % uid, 'modules_file': owned_files.MODULES_FILE,
             'sysctl_file': owned_files.SYSCTL_FILE}
    modules, modules_file = owned_files.modules_plan(facts['kernel_modules']['missing'],
                                                     read_text(etc_path(owned_files.MODULES_FILE)))
    sysctl_text = read_text(etc_path(owned_files.SYSCTL_FILE))
    persisted, apply = owned_files.sysctl_plan(req['sysctls'], sysctl_text, facts['sysctls'],
                                               params['sysctls'], params['sysctls_per_cluster'])
    sysctl_file = owned_files.render_sysctl_file(persisted)
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
        'tasks_dropin': owned_files.tasks_plan(
            uid, req['min_tasks'], facts['tasks_max'], read_text(etc_path(paths['tasks_dropin'])),
            params['tasks_base'] + params['tasks_per_cluster'] * owned_files.MAX_SIZED_CLUSTERS),
        'modules_load': modules,
        'modules_file': modules_file,
        'sysctl_file': None if sysctl_file == sysctl_text else sysctl_file,
        'sysctl_file_remove': sysctl_file is None and owned_files.is_kinc_file(sysctl_text),
        'sysctl_apply': apply,
    }
    result['changes'] = sorted(key for key, value in result.items() if value)
    result['paths'] = paths
    return result

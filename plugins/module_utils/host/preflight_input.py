# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_preflight's input, checked before anything is read."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd
import re

from ansible_collections.kinc.kinc.plugins.module_utils.module_base import KincError

_SYSCTL_NAME = re.compile(r'[a-z0-9_]+(\.[a-z0-9_-]+)+')


def validate_params(params):
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


def validate_ignore(ignore, known):
    """Every name of `ignore` must be a check's (`known`) or a sysctl check's (sysctl:<key>)."""
    for index, name in enumerate(ignore):
        if name not in known and not name.startswith('sysctl:'):
            raise KincError("ignore[%d] %r is not a check name; use one of: %s" % (index, name, ', '.join(known)))

# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cgroup v2 controllers a cluster's owner can hand to its nodes.

Rootless Podman creates containers under the user's systemd manager (user@<uid>.service), which has the
controllers systemd delegates to it; root's containers get those of the root cgroup.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

SYS_FS_CGROUP = '/sys/fs/cgroup'


def user_manager_cgroup(uid, root=SYS_FS_CGROUP):
    return os.path.join(root, 'user.slice', 'user-%d.slice' % uid, 'user@%d.service' % uid)


def owner_controllers(uid, root=SYS_FS_CGROUP):
    """The controllers containers of `uid` can use: empty where there are none (cgroup v1, none delegated)."""
    path = os.path.join(root, 'cgroup.controllers') if uid == 0 else \
        os.path.join(user_manager_cgroup(uid, root), 'cgroup.controllers')
    try:
        with open(path) as handle:
            return handle.read().split()
    except (IOError, OSError):
        return []

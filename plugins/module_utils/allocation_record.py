# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host-wide allocation record: every user's clusters, so two users never get the same port or network.

Each user's Podman labels stay the record of that user's own clusters. Ports and networks are host-wide, so
kinc_allocate also keeps a copy of them where every user can read it: one file per user,
HOST_RECORD_DIR/<uid>.json, written only by that user (the directory is sticky and world-writable like /tmp;
role kinc.kinc.kinc_host creates it). Allocating locks the directory itself (flock), host-wide.

A stopped cluster (Quadlet's --rm leaves no container) still holds its port here; a purged one is dropped by
the kinc_cluster run that purges it (allocation_guard.refresh) or by its owner's next kinc_allocate.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import pwd
import re
import stat

from ansible_collections.kinc.kinc.plugins.module_utils import files
from ansible_collections.kinc.kinc.plugins.module_utils.allocation import Allocation, AllocationError
from ansible_collections.kinc.kinc.plugins.module_utils.allocation_lock import AllocationLock, default_lock_path

HOST_RECORD_DIR = '/var/lib/kinc/allocations'
_RECORD = re.compile(r'^(\d+)\.json$')
RECORD_MODE = 0o644


def record_path(directory, uid):
    return os.path.join(directory, '%d.json' % uid)


def unusable_reason(directory):
    """Why `directory` cannot serve as the host-wide record (None when it can)."""
    try:
        info = os.stat(directory)
    except OSError:
        return '%s does not exist' % directory
    if not stat.S_ISDIR(info.st_mode):
        return '%s is not a directory' % directory
    if info.st_uid != 0 and info.st_uid != os.geteuid():
        return '%s belongs to uid %d, not to root' % (directory, info.st_uid)
    if not os.access(directory, os.R_OK | os.W_OK | os.X_OK):
        return '%s is not writable for uid %d (it needs mode 1777)' % (directory, os.geteuid())
    return None


def allocation_lock(timeout, directory=HOST_RECORD_DIR, lock_path=None):
    """The lock every change of allocations (a labelled volume created, a record written) happens under:
    host-wide on the record directory when it is usable, else the per-user lock file."""
    if unusable_reason(directory) is None:
        return AllocationLock(directory, timeout, directory=True)
    return AllocationLock(lock_path or default_lock_path(), timeout)


def _user(uid):
    try:
        return '%s, uid %d' % (pwd.getpwuid(uid).pw_name, uid)
    except KeyError:
        return 'uid %d' % uid


def _broken(path, why):
    return AllocationError('%s: %s; fix: remove it as root (its owner\'s next kinc.kinc.kinc_allocate writes it '
                           'again)' % (path, why))


def _read(path, uid):
    """[Allocation] of one user's record file."""
    fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0))
    with os.fdopen(fd) as handle:
        owner = os.fstat(handle.fileno()).st_uid
        if owner != uid:
            raise _broken(path, 'it belongs to uid %d, not to uid %d whose clusters it names' % (owner, uid))
        try:
            clusters = json.load(handle)['clusters']
            return [Allocation(name, int(entry['api_port']), str(entry['pod_subnet']), str(entry['service_subnet']))
                    for name, entry in sorted(clusters.items())]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise _broken(path, 'it is not a kinc allocation record (%s)' % exc)


def others(directory, uid):
    """[(holder, Allocation)] of every other user's clusters; holder describes the cluster for messages."""
    held = []
    for entry in sorted(os.listdir(directory)):
        match = _RECORD.match(entry)
        if not match or int(match.group(1)) == uid:
            continue
        owner = int(match.group(1))
        for allocation in _read(os.path.join(directory, entry), owner):
            held.append(("cluster %r of %s" % (allocation.name, _user(owner)), allocation))
    return held


def write(directory, uid, allocations):
    """Replace this user's record with `allocations` ({name: Allocation}); returns whether it changed."""
    text = json.dumps({'uid': uid, 'clusters': dict(
        (a.name, {'api_port': a.api_port, 'pod_subnet': a.pod_subnet, 'service_subnet': a.service_subnet})
        for a in allocations.values())}, sort_keys=True, indent=1) + '\n'
    path = record_path(directory, uid)
    try:
        with open(path) as handle:
            if handle.read() == text and os.fstat(handle.fileno()).st_uid == uid:
                return False
    except (IOError, OSError):
        pass
    try:
        files.write_atomic(path, text, RECORD_MODE)
    except OSError as exc:
        if exc.errno in (errno.EPERM, errno.EACCES):
            raise _broken(path, 'uid %d may not replace it (%s)' % (uid, exc.strerror))
        raise
    return True


def read_own(directory, uid):
    """{name: Allocation} of this user's record; None when there is none (or it cannot be read)."""
    try:
        return dict((a.name, a) for a in _read(record_path(directory, uid), uid))
    except (IOError, OSError, AllocationError):
        return None

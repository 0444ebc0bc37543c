# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a user uses now of the limits that decide how many clusters fit (read from /proc and cgroupfs).

Every reader takes its root (proc, cgroup) so that unit tests point it at a prepared tree; every one only
reads, never follows a link out of /proc, and returns what it could count when a process ends meanwhile.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

# The most file descriptors looked at for inotify instances: a bound on the time one run spends.
MAX_FDS = 200000
_INOTIFY_LINK = 'anon_inode:inotify'


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def owns(uid, subid_ranges):
    """Whether a host uid is the user's: its own, or one of its subordinate ids (the uids its rootless
    containers run as, whose inotify instances the kernel counts against the user too)."""
    ranges = [(start, start + count) for start, count in subid_ranges]
    return lambda found: found == uid or any(start <= found < end for start, end in ranges)


def inotify_usage(owned, proc='/proc'):
    """(instances, watches) held by the processes whose owner `owned(uid)` accepts. A forked child that
    shares an instance counts it again (errs on the side of less room)."""
    instances = watches = seen = 0
    try:
        pids = [name for name in os.listdir(proc) if name.isdigit()]
    except OSError:
        return 0, 0
    for pid in pids:
        try:
            if not owned(os.stat(os.path.join(proc, pid)).st_uid):
                continue
            fds = os.listdir(os.path.join(proc, pid, 'fd'))
        except OSError:
            continue
        for fd in fds:
            seen += 1
            if seen > MAX_FDS:
                return instances, watches
            try:
                if os.readlink(os.path.join(proc, pid, 'fd', fd)) != _INOTIFY_LINK:
                    continue
            except OSError:
                continue
            instances += 1
            info = _read(os.path.join(proc, pid, 'fdinfo', fd)) or ''
            watches += sum(1 for line in info.splitlines() if line.startswith('inotify wd:'))
    return instances, watches


def key_usage(uid, proc='/proc'):
    """{keys, keys_max, key_bytes, key_bytes_max} of `uid` in /proc/key-users
    (`uid: usage nkeys/nikeys qnkeys/maxkeys qnbytes/maxbytes`), or None when the user holds no key."""
    for line in (_read(os.path.join(proc, 'key-users')) or '').splitlines():
        owner, sep, rest = line.partition(':')
        fields = rest.split()
        if not sep or owner.strip() != str(uid) or len(fields) != 4:
            continue
        try:
            keys, keys_max = [int(value) for value in fields[2].split('/')]
            key_bytes, key_bytes_max = [int(value) for value in fields[3].split('/')]
        except ValueError:
            return None
        return {'keys': keys, 'keys_max': keys_max, 'key_bytes': key_bytes, 'key_bytes_max': key_bytes_max}
    return None


def memory_available_mib(proc='/proc'):
    """MemAvailable of /proc/meminfo in MiB, or None."""
    for line in (_read(os.path.join(proc, 'meminfo')) or '').splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == 'MemAvailable:' and fields[1].isdigit():
            return int(fields[1]) // 1024
    return None


def slice_tasks(uid, cgroup='/sys/fs/cgroup'):
    """Tasks in user-<uid>.slice now (pids.current), 0 when unknown."""
    text = (_read(os.path.join(cgroup, 'user.slice', 'user-%d.slice' % uid, 'pids.current')) or '').strip()
    return int(text) if text.isdigit() else 0

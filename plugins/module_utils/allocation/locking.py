# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The allocation lock: one kinc_allocate at a time reads, decides and records.

Host-wide it is a lock on the shared record directory (ledger); without that directory, a
per-user lock file. An flock: the kernel drops it when its holder exits, so a crashed run never leaves a
stale lock behind.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import pwd
import time

LOCK_FILE = 'allocate.lock'


def default_lock_path(euid=None, environ=None, home=None):
    """Root: /run/kinc; a user: $XDG_RUNTIME_DIR/kinc, else ~/.local/state/kinc (one lock per Podman store)."""
    euid = os.geteuid() if euid is None else euid
    environ = os.environ if environ is None else environ
    if euid == 0:
        return os.path.join('/run/kinc', LOCK_FILE)
    runtime_dir = environ.get('XDG_RUNTIME_DIR')
    if runtime_dir:
        return os.path.join(runtime_dir, 'kinc', LOCK_FILE)
    home = home or os.path.expanduser('~')
    return os.path.join(home, '.local', 'state', 'kinc', LOCK_FILE)


class LockTimeout(Exception):
    pass


def _owner(pid):
    try:
        uid = os.stat('/proc/%d' % pid).st_uid
        with open('/proc/%d/comm' % pid) as handle:
            command = handle.read().strip()[:32]
    except (IOError, OSError):
        return 'pid %d' % pid
    try:
        user = '%s, uid %d' % (pwd.getpwuid(uid).pw_name, uid)
    except KeyError:
        user = 'uid %d' % uid
    return 'pid %d (%s) of %s' % (pid, command, user)


def holders(fd, locks='/proc/locks'):
    """Who holds a lock on the file open as `fd`, from /proc/locks (pids of this pid namespace)."""
    info = os.fstat(fd)
    inode = '%02x:%02x:%d' % (os.major(info.st_dev), os.minor(info.st_dev), info.st_ino)
    found = []
    try:
        with open(locks) as handle:
            for line in handle:
                fields = line.split()
                # "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; "->" marks a waiter.
                if len(fields) >= 6 and fields[1] != '->' and fields[5] == inode and fields[4].isdigit():
                    found.append(int(fields[4]))
    except (IOError, OSError):
        pass
    return [_owner(pid) for pid in sorted(set(found)) if pid != os.getpid() and pid > 0]


class AllocationLock:
    """Context manager holding an exclusive lock on the file `path` (created 0600, parents 0700), or on
    the existing directory `path` with directory=True."""

    def __init__(self, path, timeout, poll_interval=0.1, directory=False, hint='raise lock_timeout'):
        self.path = path
        self.hint = hint
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.directory = directory
        self._fd = None

    def __enter__(self):
        if self.directory:
            self._fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        else:
            parent = os.path.dirname(self.path)
            if parent and not os.path.isdir(parent):
                os.makedirs(parent, 0o700)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.time() + self.timeout
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    self._close()
                    raise
            if time.time() >= deadline:
                held_by = ', '.join(holders(self._fd)) or 'a process of another PID namespace'
                self._close()
                raise LockTimeout("waited %s s for the allocation lock %s, held by %s; fix: let that finish or stop "
                                  "it, or %s" % (self.timeout, self.path, held_by, self.hint))
            time.sleep(self.poll_interval)

    def __exit__(self, *exc_info):
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._close()
        return False

    def _close(self):
        os.close(self._fd)
        self._fd = None

# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The allocation lock: one kinc_allocate at a time reads, decides and records.

Host-wide it is a lock on the shared record directory (allocation_record); without that directory, a
per-user lock file. An flock: the kernel drops it when its holder exits, so a crashed run never leaves a
stale lock behind.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
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


class AllocationLock:
    """Context manager holding an exclusive lock on the file `path` (created 0600, parents 0700), or on
    the existing directory `path` with directory=True."""

    def __init__(self, path, timeout, poll_interval=0.1, directory=False):
        self.path = path
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
                self._close()
                raise LockTimeout("waited %s s for the allocation lock %s, which another kinc_allocate run holds; "
                                  "raise lock_timeout or let that run finish" % (self.timeout, self.path))
            time.sleep(self.poll_interval)

    def __exit__(self, *exc_info):
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._close()
        return False

    def _close(self):
        os.close(self._fd)
        self._fd = None

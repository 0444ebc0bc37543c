# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The files kinc owns: compare them with what is wanted (text, mode, owner) and write them atomically.

A file is born with its final mode: the temporary file is created with it (os.open + fchmod before any byte
is written) and renamed over the old one, so no reader ever sees the new content with a wider mode, and a
kill at any moment leaves either the old file or the new one (plus, at worst, a temporary file that the next
write of the same file removes once the process that made it is gone: a second run of the same user writing
the same file at the same time keeps its own). AnsibleModule.atomic_move is not used on purpose: it copies the *old* file's
mode onto the new one and gives a created file 0666 & ~umask until it chmods it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import errno
import os
import re
import stat
from collections import namedtuple

# One file's planned change. action: 'create', 'update' (text differs), 'repair' (text right, mode or owner
# wrong), 'remove' or 'none'.
FileChange = namedtuple('FileChange', ['name', 'path', 'action', 'before', 'after', 'mode'])
TEMP_MARK = '.kinc-tmp-'


def read_text(path):
    """The file's text, or None when it does not exist."""
    try:
        with open(path, 'r') as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        if getattr(exc, 'errno', None) == 2:
            return None
        raise


def _attributes_wrong(path, mode):
    info = os.stat(path)
    return stat.S_IMODE(info.st_mode) != mode or info.st_uid != os.geteuid()


def plan_file(name, path, text, mode):
    """The change that makes `path` hold `text` with `mode`, owned by the user running kinc."""
    before = read_text(path)
    if before is None:
        action = 'create'
    elif before != text:
        action = 'update'
    elif _attributes_wrong(path, mode):
        action = 'repair'
    else:
        action = 'none'
    return FileChange(name, path, action, before, text, mode)


def plan(directory, desired, mode):
    """FileChanges for `desired` ([(file name, text)], in the order they must be written) in `directory`."""
    return [plan_file(name, os.path.join(directory, name), text, mode) for name, text in desired]


def plan_removal(directory, names):
    """FileChanges that remove the existing files among `names`, in the given order."""
    changes = []
    for name in names:
        path = os.path.join(directory, name)
        before = read_text(path)
        if before is not None:
            changes.append(FileChange(name, path, 'remove', before, None, None))
    return changes


def changed(changes):
    return [c for c in changes if c.action != 'none']


def diffs(changes):
    """Ansible diff entries (one per changed text) with before/after texts."""
    return [{
        'before_header': c.path if c.before is not None else '%s (absent)' % c.path,
        'after_header': c.path if c.after is not None else '%s (absent)' % c.path,
        'before': c.before or '',
        'after': c.after or '',
    } for c in changes if c.action in ('create', 'update', 'remove')]


def make_dir(directory, mode):
    """Create `directory` (and its parents) with `mode` when it is missing; an existing one is left alone."""
    if not os.path.isdir(directory):
        os.makedirs(directory, mode)
        os.chmod(directory, mode)


def alive(pid):
    """Whether process `pid` exists (of any user)."""
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def _remove_leftovers(directory, base):
    """Temporary files of `base` left by an earlier, killed write (their process is gone); a live writer's
    file is its own."""
    left = re.compile(r'\.%s%s(\d+)(?:-[0-9a-f]+)?' % (re.escape(base), re.escape(TEMP_MARK)))
    for entry in os.listdir(directory):
        match = left.fullmatch(entry)
        if match and not (int(match.group(1)) != os.getpid() and alive(int(match.group(1)))):
            try:
                os.unlink(os.path.join(directory, entry))
            except OSError as exc:
                if exc.errno != errno.ENOENT:  # its writer renamed it meanwhile
                    raise


def write_atomic(path, text, mode, dir_mode=0o755):
    """Make `path` hold `text` with exactly `mode`, atomically (see the module's docstring)."""
    directory = os.path.dirname(path)
    make_dir(directory, dir_mode)
    base = os.path.basename(path)
    _remove_leftovers(directory, base)
    tmp = os.path.join(directory, '.%s%s%d-%s' % (base, TEMP_MARK, os.getpid(),
                                                  binascii.hexlify(os.urandom(4)).decode('ascii')))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        os.fchmod(fd, mode)  # the umask may have narrowed the mode asked for at creation
        with os.fdopen(fd, 'w') as handle:
            fd = None
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if fd is not None:
            os.close(fd)
        if os.path.exists(tmp):
            os.unlink(tmp)


def remove(path):
    if os.path.lexists(path):
        os.unlink(path)


def apply(change, dir_mode=0o755):
    """Carry out one FileChange."""
    if change.action in ('create', 'update', 'repair'):
        write_atomic(change.path, change.after, change.mode, dir_mode)
    elif change.action == 'remove':
        remove(change.path)

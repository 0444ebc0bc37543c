# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Quadlet unit files of a cluster: where they live, how they compare with disk, how they are written.

Idempotence compares the rendered unit text with the file on disk, never `podman inspect` output.
The texts themselves are rendered on the controller (plugins/action/kinc_cluster.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile
from collections import namedtuple

ROOTFUL_DIR = '/etc/containers/systemd'
ROOTLESS_DIR = '~/.config/containers/systemd'

# One file's planned change: action is 'create', 'update', 'remove' or 'none'.
FileChange = namedtuple('FileChange', ['name', 'path', 'action', 'before', 'after'])


def default_dir(rootless):
    return os.path.expanduser(ROOTLESS_DIR) if rootless else ROOTFUL_DIR


def quote(value):
    """Quote one value for a Quadlet key that splits on spaces (Label=, Environment=)."""
    return '"%s"' % str(value).replace('\\', '\\\\').replace('"', '\\"')


def publish_port(address, host_port, container_port):
    """PublishPort= value; an IPv6 address goes in brackets."""
    if ':' in address:
        address = '[%s]' % address
    return '%s:%s:%s' % (address, host_port, container_port)


def volume_service_name(volume_unit_file):
    """The systemd service Quadlet generates from a .volume file: x.volume -> x-volume.service."""
    return volume_unit_file.replace('.volume', '-volume') + '.service'


def read_text(path):
    """The file's text, or None when it does not exist."""
    if not os.path.exists(path):
        return None
    with open(path, 'r') as handle:
        return handle.read()


def plan(directory, desired):
    """Compare `desired` ({file name: text}) with `directory`; return FileChanges in name order."""
    changes = []
    for name in sorted(desired):
        path = os.path.join(directory, name)
        before = read_text(path)
        after = desired[name]
        if before is None:
            action = 'create'
        elif before != after:
            action = 'update'
        else:
            action = 'none'
        changes.append(FileChange(name, path, action, before, after))
    return changes


def plan_removal(directory, names):
    """FileChanges that remove the existing files among `names`."""
    changes = []
    for name in names:
        path = os.path.join(directory, name)
        before = read_text(path)
        if before is not None:
            changes.append(FileChange(name, path, 'remove', before, None))
    return changes


def changed(changes):
    return [c for c in changes if c.action != 'none']


def diffs(changes):
    """Ansible diff entries (one per changed file) with before/after texts."""
    result = []
    for change in changed(changes):
        result.append({
            'before_header': change.path if change.before is not None else '%s (absent)' % change.path,
            'after_header': change.path if change.after is not None else '%s (absent)' % change.path,
            'before': change.before or '',
            'after': change.after or '',
        })
    return result


def write_atomic(path, text, mode, atomic_move, dir_mode=0o755):
    """Write `text` to `path` through a temporary file in the same directory and `atomic_move`.

    `atomic_move(src, dest)` is AnsibleModule.atomic_move in modules (keeps SELinux contexts right).
    """
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, dir_mode)
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    # atomic_move may keep the old file's mode; the mode asked for is the contract.
    os.chmod(path, mode)


def apply(changes, atomic_move, mode=0o644):
    """Carry out FileChanges: write created/updated files, delete removed ones."""
    for change in changes:
        if change.action in ('create', 'update'):
            write_atomic(change.path, change.after, mode, atomic_move)
        elif change.action == 'remove' and os.path.exists(change.path):
            os.unlink(change.path)

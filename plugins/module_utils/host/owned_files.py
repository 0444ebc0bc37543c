# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the kinc_host role changes on a host, computed from what is in force (pure functions).

kinc only ever writes its own files, each recognisable by MARKER, and only adds to what the host
already has: controllers are delegated in a drop-in of its own next to the owner's, a sysctl is
persisted only when kinc raises it, and nothing is ever lowered below what kinc sized for. Sizing follows
the clusters the host has plus the ones an inventory declares, so two inventories for different clusters on
one host agree on the same files. Counted only from trusted places (root's directories, the user's own home,
the validated host-wide record, in which each user counts for at most the admin's per-user limit), and never
for more than MAX_SIZED_CLUSTERS: no user can make kinc raise a host-wide limit without bound.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming

# Every file kinc writes carries this marker; a file without it is the owner's and is never touched.
MARKER = 'kinc.kinc.kinc_host'

DROPIN_DIR = '/etc/systemd/system/user@.service.d'
DELEGATE_DROPIN = DROPIN_DIR + '/90-kinc-delegate.conf'
# Written by kinc before it had a file name of its own (the name rootless guides tell owners to use):
# migrated only when it carries MARKER.
LEGACY_DELEGATE_DROPIN = DROPIN_DIR + '/delegate.conf'
TASKS_DROPIN = '/etc/systemd/system/user-%d.slice.d/90-kinc-tasks.conf'
SYSCTL_FILE = '/etc/sysctl.d/90-kinc.conf'
MODULES_FILE = '/etc/modules-load.d/kinc.conf'

# Per-user places a kinc cluster leaves its name in (see naming.py), relative to the home; root's are absolute.
ROOTLESS_UNIT_DIR = '.config/containers/systemd'
ROOTLESS_VOLUME_DIR = '.local/share/containers/storage/volumes'
ROOTFUL_UNIT_DIR = '/etc/containers/systemd'
ROOTFUL_VOLUME_DIR = '/var/lib/containers/storage/volumes'
# The node's unit file and /var volume of a cluster (naming.container_name, naming.var_volume_name).
_CLUSTER_ENTRY = re.compile(r'kinc-(.+)-(?:control-plane\.container|var-data)')
# The header of a 90-kinc.conf written before this format: it persisted every key, sized for N clusters.
_LEGACY_SYSCTL_HEADER = re.compile(r'^# kinc\.kinc\.kinc_host: sized for (\d+) kinc cluster')


def is_kinc_file(text):
    """Whether `text` (a file's content, None when absent) was written by kinc."""
    return bool(text) and any(line.startswith('#') and MARKER in line for line in text.splitlines())


def cluster_names(entries):
    """Cluster names found among directory entries (Quadlet unit files and volume directories)."""
    names = set()
    for entry in entries:
        match = _CLUSTER_ENTRY.fullmatch(entry)
        if match and naming.name_error(match.group(1)) is None:
            names.add(match.group(1))
    return names


# The most clusters kinc sizes a host for: every limit kinc raises stays at or below its value for this many.
MAX_SIZED_CLUSTERS = 64


def cluster_count(found, user, declared):
    """Number of clusters to size for: every (owner, name) found on the host plus `user`'s declared names,
    from 1 to MAX_SIZED_CLUSTERS."""
    clusters = set(found)
    clusters.update((user, name) for name in declared)
    return min(max(len(clusters), 1), MAX_SIZED_CLUSTERS)


def sysctl_minimums(base, per_cluster, count):
    """base + per_cluster * count for every key of `base`."""
    return dict((key, int(value) + int(per_cluster.get(key, 0)) * count) for key, value in base.items())


def parse_sysctl_file(text):
    """(values, legacy cluster count or None) of a kinc sysctl file; ({}, None) for a file kinc did not write."""
    if not is_kinc_file(text):
        return {}, None
    values, legacy = {}, None
    for line in text.splitlines():
        header = _LEGACY_SYSCTL_HEADER.match(line)
        if header:
            legacy = int(header.group(1))
        line = line.strip()
        if not line or line.startswith(('#', ';')) or '=' not in line:
            continue
        key, value = [part.strip() for part in line.split('=', 1)]
        try:
            values[key.replace('/', '.')] = int(value)
        except ValueError:
            continue
    return values, legacy


def sysctl_plan(minimums, file_text, in_force, base, per_cluster):
    """What 90-kinc.conf holds and which values to raise now.

    Returns (persisted, apply): `persisted` maps each key kinc raises to its value — a key kinc persisted
    before stays, never lowered; a key is added only when the value in force is below its minimum — and
    `apply` the keys whose value in force is below the persisted one (set one by one, so a value someone
    raised beyond kinc's is never lowered). A file of the old format persisted every key, including values
    that merely were in force: only its keys at or below the minimum it was sized for are kinc's.
    """
    previous, legacy_count = parse_sysctl_file(file_text)
    # A value kinc persisted above its ceiling (sized from names any user could create) is kinc's own mistake.
    ceiling = sysctl_minimums(base, per_cluster, MAX_SIZED_CLUSTERS)
    previous = dict((key, min(value, ceiling.get(key, value))) for key, value in previous.items())
    if legacy_count is not None:
        sized_for = sysctl_minimums(base, per_cluster, legacy_count)
        previous = dict((key, value) for key, value in previous.items()
                        if key in sized_for and value <= sized_for[key])
    persisted = {}
    for key, minimum in minimums.items():
        current = in_force.get(key)
        if key in previous:
            persisted[key] = max(previous[key], minimum)
        elif current is not None and current < minimum:
            persisted[key] = minimum
    apply = dict((key, value) for key, value in persisted.items()
                 if in_force.get(key) is not None and in_force[key] < value)
    return persisted, apply


def render_sysctl_file(persisted):
    if not persisted:
        return None
    lines = ['# Written by %s: the sysctls kinc raised for the kinc clusters on this host (never lowered).' % MARKER,
             '# Remove this file to undo; the values in force stay until the next boot.']
    lines += ['%s = %d' % (key, persisted[key]) for key in sorted(persisted)]
    return '\n'.join(lines) + '\n'


def delegate_plan(required, configured, kinc_text, legacy_text):
    """(content of kinc's delegation drop-in or None, whether the legacy kinc delegate.conf goes).

    systemd merges the controller lists of Delegate= across drop-ins (and Delegate=yes means all), so
    kinc's own drop-in only ever adds controllers. It is written when a required controller is not
    delegated yet, when it exists already (kept up to date), or to take over from kinc's legacy file.
    """
    legacy = is_kinc_file(legacy_text)
    missing = [name for name in required if name not in (configured or [])]
    content = ('# Written by %s: delegate the cgroup controllers rootless kinc nodes need to every user\'s\n'
               '# systemd manager. systemd adds them to what other drop-ins delegate. Remove this file and run\n'
               '# systemctl daemon-reload to undo.\n[Service]\nDelegate=%s\n' % (MARKER, ' '.join(required)))
    if kinc_text is not None or legacy or missing:
        return (None if kinc_text == content else content), legacy
    return None, False


def tasks_plan(uid, needed, tasks_max, kinc_text, ceiling=None):
    """Content of kinc's TasksMax drop-in for user-<uid>.slice, or None when nothing is to write.

    `tasks_max` is the slice's TasksMax in force (None for infinity). Written only to raise it, or to keep
    kinc's own drop-in at the largest value it ever set up to `ceiling` (its value for MAX_SIZED_CLUSTERS)."""
    previous = 0
    if is_kinc_file(kinc_text):
        match = re.search(r'^TasksMax=(\d+)\s*$', kinc_text, re.MULTILINE)
        previous = int(match.group(1)) if match else 0
    if not previous and (tasks_max is None or tasks_max >= needed):
        return None
    value = max(previous, needed)
    value = value if ceiling is None else min(value, max(ceiling, needed))
    content = ('# Written by %s: room for the processes of the kinc clusters of this user (never lowered).\n'
               '# Remove this file and run systemctl daemon-reload to undo.\n[Slice]\nTasksMax=%d\n'
               % (MARKER, value))
    return None if kinc_text == content else content


def modules_plan(missing, kinc_text):
    """(modules to load now, content of kinc's modules-load.d file or None when unchanged).

    The file lists the modules kinc loaded (so they come back after a reboot), never one the host had."""
    previous = []
    if is_kinc_file(kinc_text):
        previous = [line.strip() for line in kinc_text.splitlines() if line.strip() and not line.startswith('#')]
    listed = sorted(set(previous) | set(missing))
    if not listed:
        return list(missing), None
    content = ('# Written by %s: kernel modules kube-proxy needs in rootless kinc nodes, which cannot load\n'
               '# them. Remove this file to undo (the modules stay loaded until the next boot).\n%s\n'
               % (MARKER, '\n'.join(listed)))
    return list(missing), (None if kinc_text == content else content)

# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cluster's Quadlet units: values for their templates, their files in order, and whether systemd's
generated services still have to be (re)loaded from them.

The texts are rendered on the controller (plugins/action/kinc_cluster.py); the target compares them with
the files, writes them volumes first (naming.quadlet_file_names), and asks systemd what it has loaded.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.kinc.kinc.plugins.module_utils import files
from ansible_collections.kinc.kinc.plugins.module_utils.converge import node_digest

ROOTFUL_DIR = '/etc/containers/systemd'
# The line of the node's unit that lifts Podman's own pids limit; crun refuses it without the pids controller.
PIDS_UNLIMITED = 'PidsLimit=-1\n'
ROOTLESS_DIR = '~/.config/containers/systemd'
UNIT_MODE = 0o644
DIR_MODE = 0o755


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


def for_host(units, controllers):
    """The rendered units as this host runs them: without PIDS_UNLIMITED where pids is not among the owner's
    cgroup `controllers` (Podman then sets no pids limit of its own either)."""
    if 'pids' in controllers:
        return units
    return dict((name, text.replace(PIDS_UNLIMITED, '')) for name, text in units.items())


def plan(directory, unit_files, units):
    """FileChanges of the units in the order of `unit_files` (volumes before the container that uses them)."""
    return files.plan(directory, [(name, units[name]) for name in unit_files], UNIT_MODE)


def mount_sources(units):
    """Host paths the units bind-mount (Volume=/path:...), which must exist for the node to start."""
    found = []
    for name in sorted(units):
        for line in units[name].splitlines():
            key, _sep, value = line.partition('=')
            source = value.split(':')[0]
            if key.strip() == 'Volume' and source.startswith('/'):
                found.append((name, source))
    return found


def _read(path):
    try:
        return files.read_text(path) if path else None
    except (IOError, OSError):
        return None


def reload_needed(unit_states, unit_files_present, digest):
    """Whether systemd must reload to run what the files say.

    unit_states: `systemctl show` of the node service first, then its volume services. A unit written while
    systemd was not looking (an earlier run killed before its daemon-reload) shows as not loaded, as
    NeedDaemonReload=yes, or as a generated service without the wanted digest."""
    node = unit_states[0]
    if unit_files_present and node.get('LoadState') != 'loaded':
        return True
    if any(state.get('NeedDaemonReload') == 'yes' for state in unit_states):
        return True
    if unit_files_present and digest:
        generated = _read(node.get('FragmentPath'))
        return generated is None or ('%s=%s' % (node_digest.LABEL, digest)) not in generated
    return False


def still_loaded(unit_states):
    """Units whose files are gone but which systemd still has loaded (removal killed before its reload)."""
    return any(state.get('LoadState') == 'loaded' or state.get('NeedDaemonReload') == 'yes'
               for state in unit_states)

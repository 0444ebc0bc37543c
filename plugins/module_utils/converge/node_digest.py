# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a node runs with, as one digest carried by its container.

The digest covers the cluster's Quadlet units and node configuration, without comments and blank lines
(which neither systemd nor the node reads, so a collection upgrade that only rewords them restarts nothing).
It goes into the .container unit as a label, so every container Quadlet starts carries the digest of the
units it was generated from. kinc_cluster restarts a running node when the label of its container differs
from the wanted digest: the decision depends on what runs, never on whether this run wrote a file, so a run
killed between "unit written" and "restarted" is finished by the next one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

LABEL = 'io.kinc.node-digest'
_SECTION = '[Container]'


def _meaningful(text):
    """The lines that count: no blank lines, no comments, not the digest label itself."""
    lines = (line.strip() for line in text.splitlines())
    return '\n'.join(line for line in lines
                     if line and not line.startswith(('#', ';', 'Label="%s=' % LABEL)))


def digest(units, node_config):
    """sha256 over every unit and node configuration file (name and meaningful lines), the label excluded."""
    sha = hashlib.sha256()
    for kind, files in (('unit', units), ('config', node_config)):
        for name in sorted(files):
            sha.update(('%s %s\n%s\n\0' % (kind, name, _meaningful(files[name]))).encode('utf-8'))
    return sha.hexdigest()


def label_line(value):
    return 'Label="%s=%s"' % (LABEL, value)


def stamp(units, node_config, container_file):
    """`units` with the digest label added to the [Container] section of `container_file`; and the digest."""
    value = digest(units, node_config)
    lines = units[container_file].splitlines(True)
    try:
        at = [line.strip() for line in lines].index(_SECTION) + 1
    except ValueError:
        raise ValueError('%s has no %s section' % (container_file, _SECTION))
    stamped = dict(units)
    stamped[container_file] = ''.join(lines[:at] + [label_line(value) + '\n'] + lines[at:])
    return stamped, value

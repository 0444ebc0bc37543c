# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node configuration kinc hands a node in its config volume (cluster.env, kubeadm.conf in mounted mode,
registries.conf with a local registry)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.kinc.kinc.plugins.module_utils import files
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming
from ansible_collections.kinc.kinc.plugins.module_utils.module_base import KincError

CLUSTER_ENV_FILE = 'cluster.env'
KUBEADM_CONFIG_FILE = 'kubeadm.conf'
# The containers-registries.conf(5) drop-in for the owner's local registry; the node's entrypoint installs it.
REGISTRIES_FILE = 'registries.conf'
# Files kinc writes into the config volume; a file not wanted by the current options is removed.
FILES = (CLUSTER_ENV_FILE, KUBEADM_CONFIG_FILE, REGISTRIES_FILE)
# The node reads them as root of its user namespace; nothing in them is secret.
FILE_MODE = 0o644


def plan(name, wanted, volume):
    """FileChanges that make the config volume (a podman Volume, or None before it exists) hold `wanted`."""
    if volume is None:
        # Check mode on a new cluster: the volume does not exist yet, every file would be created.
        directory = '<volume %s>' % naming.config_volume_name(name)
        return [files.FileChange(n, os.path.join(directory, n), 'create', None, wanted[n], FILE_MODE)
                for n in sorted(wanted)]
    if not volume.mountpoint:
        raise KincError('podman reports no mount point for volume %s; kinc needs a local volume' % volume.name)
    unwanted = [n for n in FILES if n not in wanted]
    return (files.plan(volume.mountpoint, [(n, wanted[n]) for n in sorted(wanted)], FILE_MODE)
            + files.plan_removal(volume.mountpoint, unwanted))

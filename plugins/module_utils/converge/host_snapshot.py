# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What runs on the host, read once for every cluster of a kinc_cluster call.

One `podman ps`, one `podman volume ls` and one `systemctl show` answer for all clusters, so an unchanged
run costs a fixed number of commands whatever the number of clusters (readiness reads the nodes' volumes).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming

# NeedDaemonReload: systemd compares the generated unit's SourcePath (the Quadlet file) with what it loaded.
UNIT_PROPERTIES = ('Id', 'LoadState', 'ActiveState', 'SubState', 'NeedDaemonReload', 'FragmentPath')


def volume_service_name(volume_unit_file):
    """The systemd service Quadlet generates from a .volume file: x.volume -> x-volume.service."""
    return volume_unit_file.replace('.volume', '-volume') + '.service'


def services(name):
    """The cluster's generated services: the node's first, then its volumes'."""
    return [naming.service_name(name)] + [volume_service_name(f) for f in naming.quadlet_file_names(name)
                                          if f.endswith('.volume')]


class HostSnapshot:
    """Containers, volumes and unit states of the clusters `names`."""

    def __init__(self, podman, systemctl, names):
        self.podman = podman
        self.systemctl = systemctl
        self.names = list(names)
        self.containers = {}
        self.read_containers()
        self.volumes = {}
        self.read_volumes()
        self.units = {}
        self.read_units()

    def read_containers(self):
        self.containers = dict((c.name, c) for c in self.podman.containers(label=naming.LABEL_CLUSTER))

    def read_volumes(self):
        self.volumes = dict((v.name, v) for v in self.podman.volumes())

    def read_units(self):
        wanted = [s for name in self.names for s in services(name)]
        self.units = self.systemctl.show_units(wanted, UNIT_PROPERTIES)

    def container(self, name):
        return self.containers.get(naming.container_name(name))

    def volume(self, volume_name):
        return self.volumes.get(volume_name)

    def unit(self, service):
        return self.units.get(service) or {}

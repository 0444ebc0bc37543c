# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gathers the host facts the allocator decides on: Podman's objects, sockets, routes, networks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

from ansible_collections.kinc.kinc.plugins.module_utils.allocation import host_network
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming
from ansible_collections.kinc.kinc.plugins.module_utils.allocation.allocator import TakenNetwork, existing_allocations

# labelled_objects: [(description, labels)], volumes first (the record kinc_allocate writes);
# volume_labels: {volume name: labels} of every volume; taken_ports: set of ints (published by containers);
# listeners: [(ip_address, port)] of listening TCP sockets; taken_networks: [TakenNetwork]; published:
# [(container name, its kinc cluster label or None, PortMapping)] of every port a container publishes;
# udp_listeners: [(ip_address, port)] of bound UDP sockets.
HostFacts = namedtuple('HostFacts', ['labelled_objects', 'volume_labels', 'taken_ports', 'listeners',
                                     'taken_networks', 'published', 'udp_listeners'])


def labelled_objects(volumes, containers=()):
    """[(description, labels)] of the kinc-labelled volumes, then containers (the volumes are the record)."""
    labelled = [('volume %s' % v.name, v.labels) for v in volumes if naming.LABEL_CLUSTER in v.labels]
    return labelled + [('container %s' % c.name, c.labels) for c in containers if naming.LABEL_CLUSTER in c.labels]


def gather_facts(client, proc='/proc', names=None):
    """`client` None: Podman is not installed, so no cluster, container or Podman network exists yet.

    `names`: the requested clusters; when every one of them is allocated on its volumes already, nothing else is
    read, since nothing new is decided (an unchanged run costs one podman call). None: read everything (a
    cluster publishes a new host port)."""
    volumes = client.volumes() if client else []
    labelled = labelled_objects(volumes)
    volume_labels = dict((v.name, v.labels) for v in volumes)
    if names is not None and set(names) <= set(existing_allocations(labelled)):
        return HostFacts(labelled, volume_labels, set(), [], [], [], [])
    containers = client.containers() if client else []
    labelled = labelled_objects(volumes, containers)
    # A stopped container binds its published ports again when it starts.
    ports = set(p.host_port for c in containers for p in c.ports if p.protocol == 'tcp')
    networks = [TakenNetwork(net, 'the route via %s' % dev) for net, dev in host_network.routes(proc)]
    networks += [TakenNetwork(subnet, 'Podman network %s' % n.name) for n in (client.networks() if client else [])
                 for subnet in n.subnets if ':' not in subnet]
    published = [(c.name, c.labels.get(naming.LABEL_CLUSTER), p) for c in containers for p in c.ports]
    return HostFacts(labelled, volume_labels, ports, host_network.listeners(proc), networks, published,
                     host_network.listeners(proc, 'udp'))

# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Published host ports (a cluster's `ports`) against the host: pure, facts in, problems out.

Host ports are host-wide like API ports. A host port is refused when
- it is below the lowest port the user may publish on (ip_unprivileged_port_start for a rootless user);
- it is a TCP port that is the API port of any cluster of any user (an API port is taken on every address);
- a cluster of any user publishes it (the labels and the host-wide record: stopped clusters included) on the
  same address or a wildcard, with the same protocol;
- it is new for the cluster and a container publishes it, or a socket of its protocol listens on (UDP: is bound
  to) its address or a wildcard.
A port the cluster already publishes is not checked against listeners: its own node listens there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

from ansible_collections.kinc.kinc.plugins.module_utils.spec import cluster_spec
from ansible_collections.kinc.kinc.plugins.module_utils.allocation import host_network

# One published host port: what binds on the host (the node port does not matter to anyone else).
HostPort = namedtuple('HostPort', ['host_port', 'protocol', 'address'])
# A host port recorded for a cluster: `holder` describes it, `owner` is the name of this user's cluster
# holding it, None for another user's.
HeldPort = namedtuple('HeldPort', ['holder', 'owner', 'port'])


def host_ports(mappings):
    """The HostPorts of cluster_spec.published_ports mappings, in their order."""
    return tuple(HostPort(m['host_port'], m['protocol'], m['address']) for m in mappings)


def binds_same(one, other):
    return ((one.host_port, one.protocol) == (other.host_port, other.protocol)
            and host_network.blocks(one.address, other.address))


def _published_by(name, port, containers):
    """Names of this user's containers (by their kinc cluster, if any) publishing `port`; `name`'s own left out."""
    return [label or container for container, label, mapping in containers
            if label != name and binds_same(port, HostPort(mapping.host_port, mapping.protocol,
                                                           mapping.host_ip or '0.0.0.0'))]


def _problem(name, port, field, held, api_ports, containers, listeners, lowest_port, recorded):
    what = '%d/%s on %s' % (port.host_port, port.protocol, port.address)
    if port.host_port < lowest_port:
        return cluster_spec.problem(field, '%d is below net.ipv4.ip_unprivileged_port_start (%d), the lowest port '
                                    'this rootless user can publish on' % (port.host_port, lowest_port),
                                    'choose a port from %d up, or lower that sysctl as root' % lowest_port)
    if port.protocol == 'tcp' and port.host_port in api_ports:
        return cluster_spec.problem(field, '%d is the API port of %s' % (port.host_port, api_ports[port.host_port]),
                                    'choose another host port')
    for other in held:
        if other.owner != name and binds_same(port, other.port):
            return cluster_spec.problem(field, '%s is published by %s' % (what, other.holder),
                                        'choose another host port, or remove it from that cluster first')
    if port in recorded:
        return None
    users = _published_by(name, port, containers)
    if users:
        return cluster_spec.problem(field, '%s is published by container %s' % (what, users[0]),
                                    'choose another host port, or stop that container')
    if any(p == port.host_port and host_network.blocks(ip, port.address) for ip, p in listeners[port.protocol]):
        return cluster_spec.problem(field, '%s is in use on this host (a socket listens on it on %s or a wildcard '
                                    'address)' % (what, port.address), 'stop what uses it or choose another host port')
    return None


def problems(requests, held, api_ports, containers, listeners, lowest_port=1):
    """Every problem of the requested host ports.

    requests: [(cluster name, field of its ports, [HostPort])]; held: [HeldPort] recorded host-wide (this
    user's and other users' clusters); api_ports: {port: holder} of every cluster of any user; containers:
    [(container name, its kinc cluster label or None, podman_client.PortMapping)] of this user's containers;
    listeners: {'tcp': [(ip_address, port)] of listening sockets, 'udp': [(ip_address, port)] of bound ones}."""
    recorded = dict((name, set()) for name, _field, _ports in requests)
    for entry in held:
        if entry.owner in recorded:
            recorded[entry.owner].add(entry.port)
    # Two clusters of one request (the controller checks the inventory too; this covers a direct call).
    held = list(held) + [HeldPort('cluster %r' % name, name, port) for name, _field, ports in requests for port in ports]
    found = []
    for name, field, ports in requests:
        for position, port in enumerate(ports):
            # Its own node publishes it already: not a new port.
            own = [(c, label, m) for c, label, m in containers if label == name]
            known = recorded[name] | set(HostPort(m.host_port, m.protocol, port.address) for _c, _l, m in own)
            error = _problem(name, port, '%s[%d].host_port' % (field, position), held, api_ports, containers,
                             listeners, lowest_port, known)
            if error:
                found.append(error)
    return found


def new_ports(requests, recorded):
    """Whether a request publishes a host port its cluster has no record of ({name: [HostPort]})."""
    return any(set(ports) - set(recorded.get(name, ())) for name, _field, ports in requests)

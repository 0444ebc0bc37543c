# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure allocation of API ports and cluster networks: host facts in, allocations out.

Nothing here touches the host. kinc_allocate gathers the facts (labelled Podman objects,
listening sockets, routes, Podman networks) and records the result.

The rules (kinc_allocate's documentation repeats them for users):
- A cluster that already has an allocation on the host gets it back unchanged.
- Network index k gives pod subnet 10.244.k.0/24 and service subnet 10.k.0.0/16.
  Indexes 0-99 are the default ones: port p defaults to index p % 100 (6443 -> 10.244.43.0/24,
  10.43.0.0/16). Indexes 100-255 (except 244, whose /16 holds every pod subnet) are the extra ones.
- Automatic allocation takes the lowest free port >= base_port whose default networks are free,
  so ports whose default networks are taken (…88 next to Podman's 10.88.0.0/16, or a port 100
  above a cluster's) are skipped. Only when no port up to max_port has free default networks
  does it take the lowest free port with the first free extra index.
- A forced api_port whose default networks are taken gets the first free extra index, then the
  first free default index: never the network of another port's default while extras remain.
- Nothing free: an error, before anything is changed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
from collections import namedtuple

from ansible_collections.kinc.kinc.plugins.module_utils import naming

MIN_PORT = 1024
MAX_PORT = 65535
DEFAULT_BASE_PORT = 6443
DEFAULT_INDEXES = tuple(range(100))
# 10.244.0.0/16 holds all pod subnets, so index 244 can never be a service subnet.
EXTRA_INDEXES = tuple(k for k in range(100, 256) if k != 244)

Allocation = namedtuple('Allocation', ['name', 'api_port', 'pod_subnet', 'service_subnet'])
# One requested cluster: its name, the api_port the user forced (None: allocate one), and
# `field`, how error messages call the entry ('clusters[2]'; None when it came from `name`).
Request = namedtuple('Request', ['name', 'api_port', 'field'])
# A network the new cluster networks must not overlap, and what holds it (for messages).
TakenNetwork = namedtuple('TakenNetwork', ['network', 'holder'])


def request_field(request, attribute):
    """'name' for a single-cluster request, else e.g. 'clusters[2].name'."""
    return attribute if request.field is None else '%s.%s' % (request.field, attribute)


class AllocationError(ValueError):
    """The request cannot be satisfied; the message names the field, the value and the fix."""


def index_subnets(index):
    """Network index -> (pod subnet, service subnet)."""
    return '10.244.%d.0/24' % index, '10.%d.0.0/16' % index


def default_index(port):
    return port % 100


def allocation_labels(allocation):
    return naming.allocation_labels(allocation.name, allocation.api_port,
                                    allocation.pod_subnet, allocation.service_subnet)


def allocation_from_labels(labels, source):
    """Read an allocation back from the labels of a Podman object; None if it is not kinc's."""
    name = labels.get(naming.LABEL_CLUSTER)
    if not name:
        return None
    port = labels.get(naming.LABEL_API_PORT, '')
    pod = labels.get(naming.LABEL_POD_SUBNET, '')
    service = labels.get(naming.LABEL_SERVICE_SUBNET, '')
    try:
        port = int(port)
        ipaddress.ip_network(pod)
        ipaddress.ip_network(service)
    except ValueError:
        raise AllocationError(
            "%s carries a broken kinc allocation (%s=%r, %s=%r, %s=%r); remove it or fix its labels "
            "(kinc.kinc.kinc_cluster state=absent purge=true removes a cluster's container and volumes)"
            % (source, naming.LABEL_API_PORT, labels.get(naming.LABEL_API_PORT), naming.LABEL_POD_SUBNET,
               pod, naming.LABEL_SERVICE_SUBNET, service))
    return Allocation(name, port, pod, service)


def existing_allocations(labelled_objects):
    """[(source description, labels)] -> {name: Allocation}; the first valid object of a name wins.

    Pass volumes before containers: the volumes are the record kinc_allocate writes. An object with
    broken labels is an error only when no other object records that cluster.
    """
    found = {}
    broken = {}
    for source, labels in labelled_objects:
        try:
            allocation = allocation_from_labels(labels or {}, source)
        except AllocationError as exc:
            broken.setdefault(labels[naming.LABEL_CLUSTER], exc)
            continue
        if allocation is not None and allocation.name not in found:
            found[allocation.name] = allocation
    for name in sorted(broken):
        if name not in found:
            raise broken[name]
    return found


def validate_requests(requests, base_port, max_port):
    """Raise AllocationError for the first bad input. `requests`: list of Request."""
    _check_port('base_port', base_port)
    _check_port('max_port', max_port)
    if max_port < base_port:
        raise AllocationError("max_port %d is below base_port %d; set max_port >= base_port"
                              % (max_port, base_port))
    if not requests:
        raise AllocationError("clusters is empty; give at least one cluster (name, optional api_port)")
    seen_names = {}
    seen_ports = {}
    for request in requests:
        name_field = request_field(request, 'name')
        error = naming.name_error(request.name, field=name_field)
        if error:
            raise AllocationError(error)
        if request.name in seen_names:
            raise AllocationError("%s %r repeats %s; list every cluster once"
                                  % (name_field, request.name, seen_names[request.name]))
        seen_names[request.name] = name_field
        if request.api_port is not None:
            port_field = request_field(request, 'api_port')
            _check_port(port_field, request.api_port)
            if request.api_port in seen_ports:
                raise AllocationError("%s %d is also forced for %s; give each cluster its own "
                                      "port or leave api_port out to allocate one"
                                      % (port_field, request.api_port, seen_ports[request.api_port]))
            seen_ports[request.api_port] = port_field


def _check_port(field, port):
    if isinstance(port, bool) or not isinstance(port, int) or not MIN_PORT <= port <= MAX_PORT:
        raise AllocationError("%s %r is out of range; use a TCP port from %d to %d"
                              % (field, port, MIN_PORT, MAX_PORT))


class _Planner:
    """Hands out ports and network indexes one cluster at a time, remembering what it gave."""

    def __init__(self, existing, taken_ports, taken_networks, base_port, max_port):
        self.port_holders = dict((a.api_port, "cluster %r" % a.name) for a in existing.values())
        self.busy_ports = set(taken_ports)
        self.taken_indexes = set()
        self.network_holders = set()
        for taken in taken_networks:
            self._hold(taken.network, taken.holder)
        for allocation in existing.values():
            self._hold_allocation(allocation)
        self.base_port = base_port
        self.max_port = max_port

    def _hold(self, network, holder):
        blocked = blocked_indexes(network)
        if blocked:
            self.taken_indexes.update(blocked)
            self.network_holders.add(holder)

    def _hold_allocation(self, allocation):
        for subnet in (allocation.pod_subnet, allocation.service_subnet):
            self._hold(subnet, "cluster %r" % allocation.name)

    def _port_free(self, port):
        return port not in self.port_holders and port not in self.busy_ports

    def _index_free(self, index):
        return index not in self.taken_indexes

    def _first_free_index(self, indexes):
        for index in indexes:
            if self._index_free(index):
                return index
        return None

    def _record(self, name, port, index):
        pod, service = index_subnets(index)
        allocation = Allocation(name, port, pod, service)
        self.port_holders[port] = "cluster %r" % name
        self._hold_allocation(allocation)
        return allocation

    def forced(self, name, port, field):
        holder = self.port_holders.get(port)
        if holder:
            raise AllocationError("%s %d is held by %s; choose another port or leave api_port out to allocate one"
                                  % (field, port, holder))
        if port in self.busy_ports:
            raise AllocationError("%s %d is in use on this host (a listening socket on 127.0.0.1/0.0.0.0/:: or a "
                                  "port published by a container); choose another port or leave api_port out"
                                  % (field, port))
        index = self._first_free_index((default_index(port),) + EXTRA_INDEXES + DEFAULT_INDEXES)
        if index is None:
            raise self._no_network(name)
        return self._record(name, port, index)

    def automatic(self, name):
        free_defaults = set(k for k in DEFAULT_INDEXES if self._index_free(k))
        first_free = None
        for port in range(self.base_port, self.max_port + 1):
            if not self._port_free(port):
                continue
            if first_free is None:
                first_free = port
            if default_index(port) in free_defaults:
                return self._record(name, port, default_index(port))
            if not free_defaults:
                break
        if first_free is None:
            raise AllocationError("no free API port for cluster %r from base_port %d to max_port %d (all are held by "
                                  "clusters or in use on this host); raise max_port or remove unused clusters"
                                  % (name, self.base_port, self.max_port))
        index = self._first_free_index(EXTRA_INDEXES + DEFAULT_INDEXES)
        if index is None:
            raise self._no_network(name)
        return self._record(name, first_free, index)

    def _no_network(self, name):
        holders = sorted(self.network_holders)
        shown = ', '.join(holders[:4]) + (' and %d more' % (len(holders) - 4) if len(holders) > 4 else '')
        return AllocationError("no free cluster network for cluster %r: every pair 10.244.k.0/24 + 10.k.0.0/16 "
                               "overlaps a network held by %s; remove unused clusters, Podman networks or routes"
                               % (name, shown))


def _index_range(first, last, base, size):
    """Indexes k in 0..255 whose block [base + k*size, base + (k+1)*size) meets [first, last]."""
    low = max(0, (first - base) // size)
    high = min(255, (last - base) // size)
    return range(low, high + 1)


_TEN = int(ipaddress.IPv4Address('10.0.0.0'))
_POD_BASE = int(ipaddress.IPv4Address('10.244.0.0'))


def blocked_indexes(network):
    """The network indexes whose pod or service subnet overlaps `network` (IPv6 blocks none)."""
    net = ipaddress.ip_network(network, strict=False) if not hasattr(network, 'version') else network
    if net.version != 4:
        return set()
    first, last = int(net.network_address), int(net.broadcast_address)
    return set(_index_range(first, last, _TEN, 1 << 16)) | set(_index_range(first, last, _POD_BASE, 1 << 8))


def plan(requests, existing, taken_ports, taken_networks, base_port=DEFAULT_BASE_PORT, max_port=MAX_PORT):
    """Decide every requested cluster's allocation.

    requests: [Request] in the user's order; existing: {name: Allocation} read from the host;
    taken_ports: ports in use on the host (listening sockets, published ports);
    taken_networks: [TakenNetwork] (host routes, Podman networks).
    Returns [(Allocation, existed)] in request order. Forced ports are placed before automatic ones
    so an automatic allocation never takes a port that a later entry forces.
    """
    validate_requests(requests, base_port, max_port)
    for request in requests:
        known = existing.get(request.name)
        if known and request.api_port is not None and request.api_port != known.api_port:
            raise AllocationError("%s %d differs from port %d that cluster %r already holds; "
                                  "leave api_port out (or set it to %d), or purge the cluster first"
                                  % (request_field(request, 'api_port'), request.api_port,
                                     known.api_port, request.name, known.api_port))
    planner = _Planner(existing, taken_ports, taken_networks, base_port, max_port)
    decided = {}
    for request in requests:
        if request.name not in existing and request.api_port is not None:
            decided[request.name] = planner.forced(request.name, request.api_port,
                                                   request_field(request, 'api_port'))
    for request in requests:
        if request.name not in existing and request.api_port is None:
            decided[request.name] = planner.automatic(request.name)
    return [(existing[r.name], True) if r.name in existing else (decided[r.name], False) for r in requests]

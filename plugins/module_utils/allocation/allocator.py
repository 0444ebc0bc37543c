# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure allocation of API ports and cluster networks: host facts in, allocations out.

Nothing here touches the host. kinc_allocate gathers the facts (labelled Podman objects,
listening sockets, routes, Podman networks) and records the result.

The rules (kinc_allocate's documentation repeats them for users, with a table of examples):
- A cluster that already has an allocation on the host gets it back unchanged.
- Network index k gives pod subnet 10.244.k.0/24 and service subnet 10.k.0.0/16.
  Indexes 0-99 are the default ones: port p defaults to index p % 100 (6443 -> 10.244.43.0/24,
  10.43.0.0/16). Indexes 100-255 (except 244, whose /16 holds every pod subnet) are the extra ones.
- Forced ports are reserved first, so no automatic cluster takes a port a later entry forces.
- Automatic allocation then takes, in list order, the lowest free port >= base_port whose default networks
  are free, so ports whose default networks are taken (…88 next to Podman's 10.88.0.0/16, or a port 100
  above a cluster's) are skipped. Only when no port up to max_port has free default networks does it take
  the lowest free port with the first free extra index.
- Forced ports get their networks last: their default index when still free, else the first free extra
  index, then the first free default index. So a forced port never displaces an automatic cluster of the
  same request from its seed mapping (6443 -> index 43).
- A port is taken when a cluster of any user holds it or publishes it (`ports`), a container publishes it, or a
  socket listens on it on the cluster's api_address or a wildcard address.
- Nothing free: an error, before anything is changed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
from collections import namedtuple

from ansible_collections.kinc.kinc.plugins.module_utils.spec import cluster_spec
from ansible_collections.kinc.kinc.plugins.module_utils.allocation import host_network
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming

MAX_PORT = cluster_spec.MAX_PORT
DEFAULT_BASE_PORT = cluster_spec.DEFAULT_BASE_PORT
DEFAULT_ADDRESS = cluster_spec.DEFAULT_API_ADDRESS
DEFAULT_INDEXES = tuple(range(100))
# 10.244.0.0/16 holds all pod subnets, so index 244 can never be a service subnet.
EXTRA_INDEXES = tuple(k for k in range(100, 256) if k != 244)

Allocation = namedtuple('Allocation', ['name', 'api_port', 'pod_subnet', 'service_subnet'])
# One requested cluster: its name, the api_port the user forced (None: allocate one),
# `field`, how error messages call the entry ('clusters[2]'; None when it came from `name`), and the
# address its API is published on.
# `ports`: the host ports it publishes (published_ports.HostPort), which no API port may take; None: the
# ones recorded for it.
Request = namedtuple('Request', ['name', 'api_port', 'field', 'address', 'ports'])
Request.__new__.__defaults__ = (DEFAULT_ADDRESS, ())
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
            "%s carries a broken kinc allocation (%s=%r, %s=%r, %s=%r); fix: remove it or fix its labels "
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


def validate_requests(requests, base_port, max_port, lowest_port=1):
    """Raise AllocationError naming every bad input. `requests`: list of Request; `lowest_port`: the lowest
    port the user may publish on (cluster_spec.lowest_port)."""
    found = [e for e in (cluster_spec.port_error(base_port, 'base_port', lowest_port),
                         cluster_spec.port_error(max_port, 'max_port', lowest_port)) if e]
    if not found and max_port < base_port:
        found.append(cluster_spec.problem('max_port', '%d is below base_port %d' % (max_port, base_port),
                                          'set max_port >= base_port'))
    if not requests:
        found.append(cluster_spec.problem('clusters', 'empty', 'give at least one cluster (name, optional api_port)'))
    seen_names = {}
    seen_ports = {}
    for request in requests:
        name_field = request_field(request, 'name')
        error = cluster_spec.name_problem(request.name, name_field)
        if error:
            found.append(error)
        elif request.name in seen_names:
            found.append(cluster_spec.problem(name_field, '%r repeats %s' % (request.name, seen_names[request.name]),
                                              'list every cluster once'))
        else:
            seen_names[request.name] = name_field
        error = cluster_spec.address_error(request.address, request_field(request, 'api_address'))
        if error:
            found.append(error)
        if request.api_port is not None:
            port_field = request_field(request, 'api_port')
            error = cluster_spec.port_error(request.api_port, port_field, lowest_port)
            if error:
                found.append(error)
            elif request.api_port in seen_ports:
                found.append(cluster_spec.problem(
                    port_field, '%d is also forced for %s' % (request.api_port, seen_ports[request.api_port]),
                    'give each cluster its own port or leave api_port out to allocate one'))
            else:
                seen_ports[request.api_port] = port_field
    if found:
        raise AllocationError(_joined(found))


def _joined(problems):
    """One message for every problem: the problem itself, or '(1) … (2) …'."""
    return problems[0] if len(problems) == 1 else ' '.join('(%d) %s' % (n, text) for n, text in enumerate(problems, 1))


class _Planner:
    """Hands out ports and network indexes one cluster at a time, remembering what it gave."""

    def __init__(self, existing, others, taken_ports, taken_networks, listeners, base_port, max_port, published):
        self.taken_indexes = set()
        self.network_holders = set()
        self.port_holders = dict((a.api_port, "cluster %r" % a.name) for a in existing.values())
        for holder, port in published:
            self.port_holders.setdefault(port, holder)
        for holder, allocation in others:
            self.port_holders.setdefault(allocation.api_port, holder)
            for subnet in (allocation.pod_subnet, allocation.service_subnet):
                self._hold(subnet, holder)
        self.busy_ports = set(taken_ports)
        self.listeners = {}
        for address, port in listeners:
            self.listeners.setdefault(port, []).append(address)
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

    def _listening(self, port, address):
        return any(host_network.blocks(listener, address) for listener in self.listeners.get(port, ()))

    def _port_free(self, port, address):
        return port not in self.port_holders and port not in self.busy_ports and not self._listening(port, address)

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

    def reserve(self, request):
        """Hold a forced port before any automatic cluster is placed; its networks come later."""
        field = request_field(request, 'api_port')
        port = request.api_port
        holder = self.port_holders.get(port)
        if holder:
            raise AllocationError(cluster_spec.problem(field, '%d is held by %s' % (port, holder),
                                                       'choose another port or leave api_port out to allocate one'))
        if port in self.busy_ports or self._listening(port, request.address):
            raise AllocationError(cluster_spec.problem(
                field, '%d is in use on this host (a socket listens on it on %s or a wildcard address, or a '
                'container publishes it)' % (port, request.address),
                'stop what uses it, choose another port or leave api_port out to allocate one'))
        self.port_holders[port] = "cluster %r" % request.name

    def forced(self, request):
        index = self._first_free_index((default_index(request.api_port),) + EXTRA_INDEXES + DEFAULT_INDEXES)
        if index is None:
            raise self._no_network(request.name)
        return self._record(request.name, request.api_port, index)

    def automatic(self, request):
        name = request.name
        free_defaults = set(k for k in DEFAULT_INDEXES if self._index_free(k))
        first_free = None
        for port in range(self.base_port, self.max_port + 1):
            if not self._port_free(port, request.address):
                continue
            if first_free is None:
                first_free = port
            if default_index(port) in free_defaults:
                return self._record(name, port, default_index(port))
            if not free_defaults:
                break
        if first_free is None:
            raise AllocationError(cluster_spec.problem(
                request_field(request, 'name'),
                'no free API port for cluster %r from base_port %d to max_port %d (all are held by clusters or in '
                'use on this host)' % (name, self.base_port, self.max_port),
                'raise max_port or remove unused clusters'))
        index = self._first_free_index(EXTRA_INDEXES + DEFAULT_INDEXES)
        if index is None:
            raise self._no_network(name)
        return self._record(name, first_free, index)

    def _no_network(self, name):
        holders = sorted(self.network_holders)
        shown = ', '.join(holders[:4]) + (' and %d more' % (len(holders) - 4) if len(holders) > 4 else '')
        return AllocationError("no free cluster network for cluster %r: every pair 10.244.k.0/24 + 10.k.0.0/16 "
                               "overlaps a network held by %s; fix: remove unused clusters, Podman networks or routes"
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


def plan(requests, existing, taken_ports, taken_networks, base_port=DEFAULT_BASE_PORT, max_port=MAX_PORT,
         listeners=(), lowest_port=1, others=(), published=()):
    """Decide every requested cluster's allocation.

    requests: [Request] in the user's order; existing: {name: Allocation} read from the host (this user's
    labels and the host-wide record of the other users); taken_ports: ports taken on every address (ports
    published by containers); taken_networks: [TakenNetwork] (host routes, Podman networks); listeners:
    [(ip_address, port)] of the host's listening TCP sockets, checked against each request's address;
    others: [(holder description, Allocation)] of other users' clusters (the host-wide record); published:
    [(holder description, port)] of the TCP host ports clusters publish (the requests' and the recorded ones).
    Returns [(Allocation, existed)] in request order.
    """
    validate_requests(requests, base_port, max_port, lowest_port)
    for request in requests:
        known = existing.get(request.name)
        if known and request.api_port is not None and request.api_port != known.api_port:
            raise AllocationError(cluster_spec.problem(
                request_field(request, 'api_port'),
                '%d differs from port %d that cluster %r already holds'
                % (request.api_port, known.api_port, request.name),
                'leave api_port out (or set it to %d), or purge the cluster first' % known.api_port))
    planner = _Planner(existing, others, taken_ports, taken_networks, listeners, base_port, max_port,
                       list(published) + [("cluster %r (a published port)" % r.name, p.host_port)
                                          for r in requests for p in r.ports or () if p.protocol == 'tcp'])
    new = [r for r in requests if r.name not in existing]
    forced = [r for r in new if r.api_port is not None]
    problems = []
    for request in forced:
        try:
            planner.reserve(request)
        except AllocationError as exc:
            problems.append(str(exc))
    if problems:
        raise AllocationError(_joined(problems))
    decided = {}
    for request in new:
        if request.api_port is None:
            decided[request.name] = planner.automatic(request)
    for request in forced:
        decided[request.name] = planner.forced(request)
    return [(existing[r.name], True) if r.name in existing else (decided[r.name], False) for r in requests]

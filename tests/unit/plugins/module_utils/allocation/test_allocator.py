# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure allocator: tables of existing clusters and host facts -> expected allocations or errors."""

import ipaddress

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils.allocation.allocator import (
    EXTRA_INDEXES, Allocation, AllocationError, Request, TakenNetwork, allocation_from_labels,
    blocked_indexes, existing_allocations, index_subnets, plan)

PODMAN_DEFAULT = TakenNetwork('10.88.0.0/16', 'Podman network podman')


def alloc(name, port, index=None):
    pod, service = index_subnets(port % 100 if index is None else index)
    return Allocation(name, port, pod, service)


def held(*allocations):
    return dict((a.name, a) for a in allocations)


def req(*entries):
    """req('a', ('b', 7443)) -> requests as kinc_allocate builds them from `clusters`."""
    out = []
    for position, entry in enumerate(entries):
        name, port = entry if isinstance(entry, tuple) else (entry, None)
        out.append(Request(name, port, 'clusters[%d]' % position))
    return out


def ports_and_subnets(result):
    return [(a.name, a.api_port, a.pod_subnet, a.service_subnet, existed) for a, existed in result]


@pytest.mark.parametrize('existing, taken_ports, networks, base, requests, expected', [
    pytest.param({}, set(), [], 6443, req('dev'),
                 [('dev', 6443, '10.244.43.0/24', '10.43.0.0/16', False)], id='empty host: the default 6443'),
    pytest.param(held(alloc('dev', 6443)), set(), [], 6443, req('dev'),
                 [('dev', 6443, '10.244.43.0/24', '10.43.0.0/16', True)], id='existing cluster gets its own back'),
    pytest.param(held(Allocation('odd', 7000, '10.244.200.0/24', '10.200.0.0/16')), set(), [], 6443, req('odd'),
                 [('odd', 7000, '10.244.200.0/24', '10.200.0.0/16', True)], id='recorded subnets are kept as they are'),
    pytest.param(held(alloc('dev', 6443)), set(), [], 6443, req('dev', 'ci'),
                 [('dev', 6443, '10.244.43.0/24', '10.43.0.0/16', True),
                  ('ci', 6444, '10.244.44.0/24', '10.44.0.0/16', False)], id='next port after an existing cluster'),
    pytest.param({}, {6443, 6444}, [], 6443, req('dev'),
                 [('dev', 6445, '10.244.45.0/24', '10.45.0.0/16', False)], id='listening ports are skipped'),
    pytest.param({}, set(), [PODMAN_DEFAULT], 6487, req('a', 'b'),
                 [('a', 6487, '10.244.87.0/24', '10.87.0.0/16', False),
                  ('b', 6489, '10.244.89.0/24', '10.89.0.0/16', False)], id='podman default network skips ..88'),
    pytest.param(held(alloc('dev', 6443)), set(), [], 6543, req('new'),
                 [('new', 6544, '10.244.44.0/24', '10.44.0.0/16', False)], id='wrap-around: 6543 clashes with 6443'),
    pytest.param({}, set(), [TakenNetwork('10.43.128.0/17', 'the route via wg0')], 6443, req('dev'),
                 [('dev', 6444, '10.244.44.0/24', '10.44.0.0/16', False)], id='route overlapping the service subnet'),
    pytest.param({}, set(), [TakenNetwork('10.244.43.64/26', 'the route via br0')], 6443, req('dev'),
                 [('dev', 6444, '10.244.44.0/24', '10.44.0.0/16', False)], id='route inside the pod subnet'),
    pytest.param({}, set(), [TakenNetwork('10.40.0.0/14', 'Podman network big')], 6440, req('dev'),
                 [('dev', 6444, '10.244.44.0/24', '10.44.0.0/16', False)], id='one network covering four indexes'),
    pytest.param({}, set(), [TakenNetwork('192.168.0.0/16', 'the route via eth0')], 6443, req('dev'),
                 [('dev', 6443, '10.244.43.0/24', '10.43.0.0/16', False)], id='unrelated route changes nothing'),
    pytest.param({}, set(), [], 6443, req('a', ('b', 6443)),
                 [('a', 6444, '10.244.44.0/24', '10.44.0.0/16', False),
                  ('b', 6443, '10.244.43.0/24', '10.43.0.0/16', False)], id='forced ports are placed first'),
    pytest.param(held(alloc('dev', 6443)), set(), [], 6443, req(('dev', 6443)),
                 [('dev', 6443, '10.244.43.0/24', '10.43.0.0/16', True)], id='forced port equal to the held one'),
    pytest.param(held(alloc('dev', 6443)), set(), [], 6443, req(('ci', 7443)),
                 [('ci', 7443, '10.244.100.0/24', '10.100.0.0/16', False)],
                 id='forced port with taken default networks gets the first extra index'),
    pytest.param(held(alloc('dev', 6443), alloc('x', 8000, 100)), set(), [], 6443, req(('ci', 7443)),
                 [('ci', 7443, '10.244.101.0/24', '10.101.0.0/16', False)], id='forced port skips a taken extra index'),
    pytest.param(held(alloc('dev', 6443)), set(), [], 6543, req('one'),
                 [('one', 6544, '10.244.44.0/24', '10.44.0.0/16', False)], id='automatic prefers default networks'),
])
def test_plan_table(existing, taken_ports, networks, base, requests, expected):
    assert ports_and_subnets(plan(requests, existing, taken_ports, networks, base)) == expected


def test_range_with_only_clashing_ports_falls_back_to_an_extra_index():
    result = plan(req('new'), held(alloc('dev', 6443)), set(), [], base_port=6543, max_port=6543)
    assert ports_and_subnets(result) == [('new', 6543, '10.244.100.0/24', '10.100.0.0/16', False)]


def test_index_244_is_never_used_as_service_subnet():
    assert 244 not in EXTRA_INDEXES
    assert len(EXTRA_INDEXES) == 155


def fleet(count):
    """Allocate `count` clusters one run at a time, as a host accumulates them."""
    existing = {}
    for number in range(count):
        (allocation, existed), = plan(req('c%d' % number), existing, set(), [PODMAN_DEFAULT])
        assert not existed
        existing[allocation.name] = allocation
    return existing


def test_150_existing_clusters_then_the_next():
    existing = fleet(150)
    ports = sorted(a.api_port for a in existing.values())
    assert ports == list(range(6443, 6443 + 150))
    # 99 clusters on the default indexes, 6488 skipped (Podman's 10.88.0.0/16)...
    assert existing['c44'].api_port == 6487 and existing['c45'].api_port == 6489
    assert existing['c98'].api_port == 6542 and existing['c98'].service_subnet == '10.42.0.0/16'
    # ...then the lowest free ports with extra indexes: 6488 first, then 6543 on.
    assert (existing['c99'].api_port, existing['c99'].pod_subnet) == (6488, '10.244.100.0/24')
    assert (existing['c100'].api_port, existing['c100'].service_subnet) == (6543, '10.101.0.0/16')
    (new, existed), = plan(req('c150'), existing, set(), [PODMAN_DEFAULT])
    assert (new.api_port, new.pod_subnet, new.service_subnet, existed) == \
        (6593, '10.244.151.0/24', '10.151.0.0/16', False)
    subnets = [a.pod_subnet for a in existing.values()] + [a.service_subnet for a in existing.values()]
    assert len(set(subnets)) == 300


@pytest.mark.parametrize('network, indexes', [
    ('10.43.0.0/16', {43}),
    ('10.43.7.0/24', {43}),
    ('10.244.43.0/24', {43, 244}),
    ('10.244.0.0/16', set(range(256))),
    ('10.0.0.0/14', {0, 1, 2, 3}),
    ('10.99.255.255/32', {99}),
    ('9.255.255.255/32', set()),
    ('11.0.0.0/8', set()),
    ('0.0.0.0/1', set(range(256))),
    ('fd00::/8', set()),
])
def test_blocked_indexes(network, indexes):
    assert blocked_indexes(network) == indexes


def test_every_index_used_then_no_network_left():
    existing = fleet(99 + 155)
    with pytest.raises(AllocationError) as err:
        plan(req('one-more'), existing, set(), [PODMAN_DEFAULT])
    assert str(err.value).startswith(
        "no free cluster network for cluster 'one-more': every pair 10.244.k.0/24 + 10.k.0.0/16 overlaps a "
        "network held by Podman network podman, cluster 'c0', cluster 'c1', cluster 'c10' and 251 more; ")


def test_several_new_clusters_in_one_request_are_distinct():
    result = plan(req(*['n%d' % i for i in range(20)]), held(alloc('dev', 6450)), {6460}, [PODMAN_DEFAULT])
    allocations = [a for a, _existed in result]
    assert len(set(a.api_port for a in allocations)) == 20
    assert 6450 not in [a.api_port for a in allocations] and 6460 not in [a.api_port for a in allocations]
    assert len(set(a.pod_subnet for a in allocations)) == 20
    assert [a.name for a in allocations] == ['n%d' % i for i in range(20)]


@pytest.mark.parametrize('requests, existing, taken_ports, networks, kwargs, message', [
    pytest.param([Request('Dev', None, None)], {}, set(), [], {},
                 "name: 'Dev' is not a DNS-1123 label; fix: use lower-case letters, digits and '-', starting and "
                 "ending with a letter or digit (for example 'dev-1')", id='bad name'),
    pytest.param(req('ok', 'a' * 41), {}, set(), [], {},
                 "clusters[1].name: '%s' is 41 characters long; fix: use at most 40 so that "
                 "'kinc-<name>-control-plane' stays a valid 63-character DNS label" % ('a' * 41), id='name too long'),
    pytest.param(req('dev', 'ci', 'dev'), {}, set(), [], {},
                 "clusters[2].name: 'dev' repeats clusters[0].name; fix: list every cluster once", id='duplicate name'),
    pytest.param(req(('a', 7000), ('b', 7000)), {}, set(), [], {},
                 "clusters[1].api_port: 7000 is also forced for clusters[0].api_port; fix: give each cluster its own "
                 "port or leave api_port out to allocate one", id='duplicate forced port'),
    pytest.param(req(('a', 80)), {}, set(), [], {'lowest_port': 1024},
                 "clusters[0].api_port: 80 is not a TCP port from 1024 to 65535; fix: give a port from 1024 to 65535, "
                 "or leave api_port out to allocate one", id='port below the rootless range'),
    pytest.param(req(('a', 70000)), {}, set(), [], {},
                 "clusters[0].api_port: 70000 is not a TCP port from 1 to 65535; fix: give a port from 1 to 65535, or "
                 "leave api_port out to allocate one", id='port too high'),
    pytest.param([Request('a', None, 'clusters[0]', 'my-host')], {}, set(), [], {},
                 "clusters[0].api_address: 'my-host' is not a unicast IP address; fix: give the host address to "
                 "publish the API on, such as 127.0.0.1", id='bad address'),
    pytest.param(req('a'), {}, set(), [], {'base_port': 20010, 'max_port': 20000},
                 "max_port: 20000 is below base_port 20010; fix: set max_port >= base_port", id='max below base'),
    pytest.param(req('a'), {}, set(), [], {'base_port': 100, 'lowest_port': 1024},
                 "base_port: 100 is not a TCP port from 1024 to 65535; fix: give a port from 1024 to 65535, or leave "
                 "api_port out to allocate one", id='base out of range'),
    pytest.param([], {}, set(), [], {},
                 "clusters: empty; fix: give at least one cluster (name, optional api_port)", id='nothing requested'),
    pytest.param(req(('a', 80), 'B'), {}, set(), [], {'lowest_port': 1024},
                 "(1) clusters[0].api_port: 80 is not a TCP port from 1024 to 65535; fix: give a port from 1024 to "
                 "65535, or leave api_port out to allocate one (2) clusters[1].name: 'B' is not a DNS-1123 label; fix: "
                 "use lower-case letters, digits and '-', starting and ending with a letter or digit (for example "
                 "'dev-1')", id='every input problem at once'),
    pytest.param(req(('ci', 6443)), held(alloc('dev', 6443)), set(), [], {},
                 "clusters[0].api_port: 6443 is held by cluster 'dev'; fix: choose another port or leave api_port out "
                 "to allocate one", id='forced port held by another cluster'),
    pytest.param(req(('ci', 6443)), {}, set(), [], {'others': [("cluster 'dev' of bob, uid 1001", alloc('dev', 6443))]},
                 "clusters[0].api_port: 6443 is held by cluster 'dev' of bob, uid 1001; fix: choose another port or "
                 "leave api_port out to allocate one", id='forced port held by another user'),
    pytest.param(req(('ci', 20001)), {}, {20001}, [], {},
                 "clusters[0].api_port: 20001 is in use on this host (a socket listens on it on 127.0.0.1 or a wildcard "
                 "address, or a container publishes it); fix: stop what uses it, choose another port or leave "
                 "api_port out to allocate one", id='forced port published'),
    pytest.param([Request('ci', 20001, 'clusters[0]', '192.0.2.7')], {}, set(), [],
                 {'listeners': [(ipaddress.ip_address('192.0.2.7'), 20001)]},
                 "clusters[0].api_port: 20001 is in use on this host (a socket listens on it on 192.0.2.7 or a "
                 "wildcard address, or a container publishes it); fix: stop what uses it, choose another port or "
                 "leave api_port out to allocate one", id='forced port listening on a non-default api_address'),
    pytest.param(req(('a', 6443), ('b', 6444)), held(alloc('dev', 6443)), {6444}, [], {},
                 "(1) clusters[0].api_port: 6443 is held by cluster 'dev'; fix: choose another port or leave api_port "
                 "out to allocate one (2) clusters[1].api_port: 6444 is in use on this host (a socket listens on it on "
                 "127.0.0.1 or a wildcard address, or a container publishes it); fix: stop what uses it, choose "
                 "another port or leave api_port out to allocate one", id='every forced port problem at once'),
    pytest.param(req(('dev', 7000)), held(alloc('dev', 6443)), set(), [], {},
                 "clusters[0].api_port: 7000 differs from port 6443 that cluster 'dev' already holds; fix: leave "
                 "api_port out (or set it to 6443), or purge the cluster first", id='existing cluster forced elsewhere'),
    pytest.param(req('a', 'b', 'c'), held(alloc('x', 20000)), {20002}, [], {'base_port': 20000, 'max_port': 20002},
                 "clusters[1].name: no free API port for cluster 'b' from base_port 20000 to max_port 20002 (all are "
                 "held by clusters or in use on this host); fix: raise max_port or remove unused clusters",
                 id='port range exhausted'),
    pytest.param(req('a'), {}, set(), [TakenNetwork('10.0.0.0/8', 'the route via tun0')], {},
                 "no free cluster network for cluster 'a': every pair 10.244.k.0/24 + 10.k.0.0/16 overlaps a network "
                 "held by the route via tun0; fix: remove unused clusters, Podman networks or routes",
                 id='a 10/8 route takes every network'),
])
def test_errors(requests, existing, taken_ports, networks, kwargs, message):
    with pytest.raises(AllocationError) as err:
        plan(requests, existing, taken_ports, networks, **kwargs)
    assert str(err.value) == message


def listener(address, port):
    return (ipaddress.ip_address(address), port)


# kinc_allocate's DOCUMENTATION shows these rows; each must hold.
@pytest.mark.parametrize('existing, kwargs, requests, expected', [
    pytest.param({}, {}, req('a', 'web-1', ('x', 6543)),
                 [('a', 6443, '10.244.43.0/24', '10.43.0.0/16', False),
                  ('web-1', 6444, '10.244.44.0/24', '10.44.0.0/16', False),
                  ('x', 6543, '10.244.100.0/24', '10.100.0.0/16', False)],
                 id='a forced port never displaces an automatic cluster from its seed'),
    pytest.param({}, {}, req(('x', 6543)), [('x', 6543, '10.244.43.0/24', '10.43.0.0/16', False)],
                 id='a forced port alone keeps its seed'),
    pytest.param(held(alloc('x', 6543)), {}, req('a'), [('a', 6444, '10.244.44.0/24', '10.44.0.0/16', False)],
                 id='an existing forced cluster keeps its networks'),
    pytest.param({}, {'listeners': [listener('0.0.0.0', 6443)]}, req('a'),
                 [('a', 6444, '10.244.44.0/24', '10.44.0.0/16', False)], id='wildcard listener'),
    pytest.param({}, {'listeners': [listener('127.0.0.2', 6443)]}, req('a'),
                 [('a', 6443, '10.244.43.0/24', '10.43.0.0/16', False)], id='listener on another address'),
    pytest.param({}, {'listeners': [listener('127.0.0.2', 6443)]}, [Request('a', None, 'clusters[0]', '127.0.0.2')],
                 [('a', 6444, '10.244.44.0/24', '10.44.0.0/16', False)], id='listener on the api_address'),
    pytest.param({}, {'listeners': [listener('::', 6443)]}, [Request('a', None, 'clusters[0]', '192.0.2.1')],
                 [('a', 6444, '10.244.44.0/24', '10.44.0.0/16', False)], id='dual-stack wildcard listener'),
    pytest.param({}, {'others': [("cluster 'default' of bob, uid 1001", alloc('default', 6443))]}, req('default'),
                 [('default', 6444, '10.244.44.0/24', '10.44.0.0/16', False)],
                 id="another user's cluster of the same name is not ours but holds its port and networks"),
])
def test_least_surprise_table(existing, kwargs, requests, expected):
    assert ports_and_subnets(plan(requests, existing, set(), [], **kwargs)) == expected


def test_allocation_from_labels():
    labels = {'io.kinc.cluster': 'dev', 'io.kinc.api-port': '6443', 'io.kinc.pod-subnet': '10.244.43.0/24',
              'io.kinc.service-subnet': '10.43.0.0/16', 'io.kinc.managed-by': 'kinc.kinc'}
    assert allocation_from_labels(labels, 'volume v') == alloc('dev', 6443)
    assert allocation_from_labels({'app': 'web'}, 'volume v') is None


def test_broken_labels_name_the_object():
    with pytest.raises(AllocationError) as err:
        allocation_from_labels({'io.kinc.cluster': 'dev', 'io.kinc.api-port': 'x'}, 'volume kinc-dev-config')
    assert str(err.value) == (
        "volume kinc-dev-config carries a broken kinc allocation (io.kinc.api-port='x', io.kinc.pod-subnet='', "
        "io.kinc.service-subnet=''); fix: remove it or fix its labels (kinc.kinc.kinc_cluster state=absent purge=true "
        "removes a cluster's container and volumes)")


def test_existing_allocations_prefer_the_first_object():
    def labels(port):
        return {'io.kinc.cluster': 'dev', 'io.kinc.api-port': str(port), 'io.kinc.pod-subnet': '10.244.43.0/24',
                'io.kinc.service-subnet': '10.43.0.0/16'}
    found = existing_allocations([('volume kinc-dev-var-data', labels(6443)), ('container c', labels(7443)),
                                  ('volume plain', {}), ('container web', None)])
    assert found == {'dev': alloc('dev', 6443)}


def test_broken_labels_only_fail_without_a_valid_record():
    good = {'io.kinc.cluster': 'dev', 'io.kinc.api-port': '6443', 'io.kinc.pod-subnet': '10.244.43.0/24',
            'io.kinc.service-subnet': '10.43.0.0/16'}
    broken = {'io.kinc.cluster': 'dev'}
    assert existing_allocations([('volume a', broken), ('volume b', good)]) == {'dev': alloc('dev', 6443)}
    with pytest.raises(AllocationError) as err:
        existing_allocations([('volume a', broken), ('volume other', dict(good, **{'io.kinc.cluster': 'x'}))])
    assert str(err.value).startswith("volume a carries a broken kinc allocation (io.kinc.api-port=None, ")

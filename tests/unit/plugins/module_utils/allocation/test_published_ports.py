# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cluster's published ports (`ports`): the inventory's rules (cluster_spec) and the host-wide ones
(published_ports), the host-wide record keeping them (ledger), and no API port on one (allocator)."""

import ipaddress
import json
import os

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils.allocation import allocator
from ansible_collections.kinc.kinc.plugins.module_utils.allocation import ledger
from ansible_collections.kinc.kinc.plugins.module_utils.spec import cluster_spec
from ansible_collections.kinc.kinc.plugins.module_utils.allocation.published_ports import HeldPort, HostPort, problems
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import PortMapping
from fake_host import make_record_dir, plant_record


def declared(*entries, **role_vars):
    return cluster_spec.declared_clusters(list(entries), role_vars)


def test_ports_get_tcp_and_the_clusters_api_address_and_kinc_ports_is_the_default():
    clusters, found = declared({'name': 'a', 'api_address': '127.0.0.2', 'ports': [{'host_port': '8080', 'node_port': 80}]},
                               {'name': 'b'}, kinc_ports=[{'host_port': 9090, 'node_port': 30090, 'protocol': 'udp'}])
    assert found == []
    assert clusters[0]['ports'] == [{'host_port': 8080, 'node_port': 80, 'protocol': 'tcp', 'address': '127.0.0.2'}]
    assert clusters[1]['ports'] == [{'host_port': 9090, 'node_port': 30090, 'protocol': 'udp', 'address': '127.0.0.1'}]
    assert cluster_spec.allocation_requests(clusters)[1]['ports'] == clusters[1]['ports']


@pytest.mark.parametrize('ports, message', [
    ([{'host_port': 8080}], 'kinc_clusters[0].ports[0].node_port: missing; fix: give the port in the node: a NodePort '
                            "from 30000 to 32767, or a pod's hostPort such as 80"),
    ([{'host_port': 0, 'node_port': 80}], 'kinc_clusters[0].ports[0].host_port: 0 is not a port from 1 to 65535; '
                                          'fix: give the host port to publish, e.g. 8080 (not the API port)'),
    ([{'host_port': 8080, 'node_port': 'http'}], "kinc_clusters[0].ports[0].node_port: 'http' is not a whole number; "
                                                 "fix: give a whole number"),
    ([{'host_port': 8080, 'node_port': 80, 'protocol': 'sctp'}], "kinc_clusters[0].ports[0].protocol: 'sctp' is not "
                                                                 "one of tcp, udp; fix: use one of tcp, udp"),
    ([{'host_port': 8080, 'node_port': 80, 'address': 'localhost'}],
     "kinc_clusters[0].ports[0].address: 'localhost' is not a unicast IP address; fix: give the host address to "
     "publish the API on, such as 127.0.0.1"),
    ([{'host_port': 8080, 'node_port': 80, 'hostPort': 1}],
     'kinc_clusters[0].ports[0].hostPort: unknown key; fix: use host_port, node_port, protocol, address'),
    ([{'host_port': 8080, 'node_port': 80}, {'host_port': 8080, 'node_port': 81, 'address': '0.0.0.0'}],
     'kinc_clusters[0].ports[1].host_port: 8080/tcp repeats kinc_clusters[0].ports[0]; fix: publish each host port '
     'once per address and protocol'),
    ([{'host_port': 6443, 'node_port': 80}], 'kinc_clusters[0].ports[0].host_port: 6443 is the API port of cluster a; '
                                             'fix: choose another host port'),
    ('8080:80', "kinc_clusters[0].ports: '8080:80' is not a list; fix: give a list such as [{host_port: 8080, "
                "node_port: 30080}]"),
])
def test_every_bad_port_is_named_with_its_fix(ports, message):
    assert message in declared({'name': 'a', 'api_port': 6443, 'ports': ports})[1]


def test_the_same_port_on_another_address_or_protocol_is_fine_but_not_in_two_clusters():
    clusters, found = declared({'name': 'a', 'ports': [{'host_port': 8080, 'node_port': 80},
                                                       {'host_port': 8080, 'node_port': 80, 'protocol': 'udp'},
                                                       {'host_port': 8080, 'node_port': 80, 'address': '127.0.0.2'}]},
                               {'name': 'b', 'ports': [{'host_port': 8080, 'node_port': 80, 'address': '0.0.0.0'}]},
                               {'name': 'c', 'state': 'absent', 'ports': [{'host_port': 8080, 'node_port': 80}]},
                               {'name': 'd', 'api_port': 9443},
                               {'name': 'e', 'ports': [{'host_port': 9443, 'node_port': 80, 'protocol': 'udp'},
                                                       {'host_port': 9443, 'node_port': 80}]})
    assert found == ['kinc_clusters[1].ports[0].host_port: 8080/tcp is also published by cluster a; fix: give each '
                     'cluster its own host ports',
                     'kinc_clusters[4].ports[1].host_port: 9443 is the API port of cluster d; fix: choose another host '
                     'port']


def test_a_bad_kinc_ports_is_reported_once_for_all_clusters():
    assert declared({'name': 'a'}, {'name': 'b'}, kinc_ports='8080')[1] == [
        "kinc_ports: '8080' is not a list; fix: give a list such as [{host_port: 8080, node_port: 30080}]"]
    found = declared({'name': 'a'}, {'name': 'b'}, kinc_ports=[{'host_port': 8080}])[1]
    assert found.count('kinc_ports[0].node_port: missing; fix: give the port in the node: a NodePort from 30000 to '
                       "32767, or a pod's hostPort such as 80") == 1
    # Both clusters taking one default host port clash, by that name.
    found = declared({'name': 'a'}, {'name': 'b'}, kinc_ports=[{'host_port': 8080, 'node_port': 80}])[1]
    assert found == ['kinc_ports[0].host_port: 8080/tcp is also published by cluster a; fix: give each cluster its '
                     'own host ports']


def test_the_module_checks_its_own_ports_and_api_port():
    found = cluster_spec.errors({'name': 'a', 'api_port': 8080, 'pod_subnet': '10.244.1.0/24',
                                 'service_subnet': '10.1.0.0/16', 'ports': [{'host_port': 8080, 'node_port': 80}]})
    assert found == ['ports[0].host_port: 8080 is the API port of this cluster; fix: choose another host port']


def port(number, protocol='tcp', address='127.0.0.1'):
    return HostPort(number, protocol, address)


def check(ports, held=(), api_ports=None, containers=(), listeners=(), lowest=1, name='web', udp=()):
    return problems([(name, 'clusters[0].ports', ports)], list(held), api_ports or {}, list(containers),
                    {'tcp': [(ipaddress.ip_address(a), p) for a, p in listeners],
                     'udp': [(ipaddress.ip_address(a), p) for a, p in udp]}, lowest)


def test_a_free_port_passes():
    assert check([port(8080)], listeners=[('127.0.0.2', 8080)], api_ports={6443: "cluster 'web'"}) == []


def test_below_the_unprivileged_start_a_rootless_user_is_told_the_sysctl():
    assert check([port(80)], lowest=1024) == [
        'clusters[0].ports[0].host_port: 80 is below net.ipv4.ip_unprivileged_port_start (1024), the lowest port '
        'this rootless user can publish on; fix: choose a port from 1024 up, or lower that sysctl as root']


def test_an_api_port_of_any_cluster_is_refused_on_tcp_only():
    assert check([port(6443)], api_ports={6443: "cluster 'x' of alice, uid 1001"}) == [
        "clusters[0].ports[0].host_port: 6443 is the API port of cluster 'x' of alice, uid 1001; fix: choose another "
        "host port"]
    assert check([port(6443, 'udp')], api_ports={6443: "cluster 'x'"}) == []


def test_a_port_another_cluster_publishes_is_refused_even_while_it_is_stopped():
    held = [HeldPort("cluster 'ingress' of alice, uid 1001", None, port(8080, address='0.0.0.0'))]
    assert check([port(8080)], held=held) == [
        "clusters[0].ports[0].host_port: 8080/tcp on 127.0.0.1 is published by cluster 'ingress' of alice, uid 1001; "
        "fix: choose another host port, or remove it from that cluster first"]
    # Another user's cluster of the same name is another cluster.
    held = [HeldPort("cluster 'web' of alice, uid 1001", None, port(8080))]
    assert check([port(8080)], held=held) != []
    # The cluster's own recorded port is its own.
    assert check([port(8080)], held=[HeldPort("cluster 'web'", 'web', port(8080))]) == []
    assert check([port(8080)], held=[HeldPort("cluster 'api'", 'api', port(8080, 'udp'))]) == []


def test_a_new_port_is_checked_against_containers_and_listeners_but_a_recorded_one_is_not():
    other = ('podman-web', None, PortMapping('', 8080, 80, 'tcp'))
    assert check([port(8080)], containers=[other]) == [
        'clusters[0].ports[0].host_port: 8080/tcp on 127.0.0.1 is published by container podman-web; fix: choose '
        'another host port, or stop that container']
    assert check([port(8080)], listeners=[('0.0.0.0', 8080)]) == [
        'clusters[0].ports[0].host_port: 8080/tcp on 127.0.0.1 is in use on this host (a socket listens on it on '
        '127.0.0.1 or a wildcard address); fix: stop what uses it or choose another host port']
    # A bound UDP socket takes a UDP port only.
    assert check([port(5353, 'udp')], udp=[('0.0.0.0', 5353)]) == [
        'clusters[0].ports[0].host_port: 5353/udp on 127.0.0.1 is in use on this host (a socket listens on it on '
        '127.0.0.1 or a wildcard address); fix: stop what uses it or choose another host port']
    assert check([port(5353)], udp=[('0.0.0.0', 5353)]) == []
    assert check([port(5353, 'udp')], listeners=[('0.0.0.0', 5353)]) == []
    # Its own node publishes it and listens there: not a problem (also without a record).
    own = ('kinc-web-control-plane', 'web', PortMapping('127.0.0.1', 8080, 30080, 'tcp'))
    assert check([port(8080)], containers=[own], listeners=[('127.0.0.1', 8080)]) == []
    assert check([port(8080)], held=[HeldPort("cluster 'web'", 'web', port(8080))], listeners=[('127.0.0.1', 8080)]) == []


def test_two_clusters_of_one_call_cannot_share_a_port():
    found = problems([('a', 'clusters[0].ports', [port(8080)]), ('b', 'clusters[1].ports', [port(8080)])],
                     [], {}, [], {'tcp': [], 'udp': []}, 1)
    assert found == ["clusters[0].ports[0].host_port: 8080/tcp on 127.0.0.1 is published by cluster 'b'; fix: choose "
                     "another host port, or remove it from that cluster first",
                     "clusters[1].ports[0].host_port: 8080/tcp on 127.0.0.1 is published by cluster 'a'; fix: choose "
                     "another host port, or remove it from that cluster first"]


def test_automatic_api_ports_skip_published_tcp_host_ports():
    requests = [allocator.Request('a', None, 'clusters[0]', '127.0.0.1', (port(6443),)),
                allocator.Request('b', None, 'clusters[1]')]
    decided = allocator.plan(requests, {}, set(), [], published=[("cluster 'x' of uid 1001 (a published port)", 6444)])
    assert [(a.name, a.api_port) for a, _existed in decided] == [('a', 6445), ('b', 6446)]
    with pytest.raises(allocator.AllocationError) as failed:
        allocator.plan([allocator.Request('c', 6444, 'clusters[0]')], {}, set(), [],
                       published=[("cluster 'x' of uid 1001 (a published port)", 6444)])
    assert str(failed.value).startswith("clusters[0].api_port: 6444 is held by cluster 'x' of uid 1001 (a published port)")


ALLOCATION = allocator.Allocation('web', 6443, '10.244.43.0/24', '10.43.0.0/16')


def test_the_record_keeps_ports_for_other_users_and_keeps_them_when_not_given(tmp_path):
    directory = str(tmp_path / 'allocations')
    uid = os.geteuid()
    make_record_dir(directory, uid)
    assert ledger.write(directory, uid, {'web': ALLOCATION}, {'web': (port(8080), port(53, 'udp', '::1'))})
    with open(ledger.record_path(directory, uid)) as handle:
        assert json.load(handle)['clusters']['web']['ports'] == [
            {'host_port': 53, 'protocol': 'udp', 'address': '::1'},
            {'host_port': 8080, 'protocol': 'tcp', 'address': '127.0.0.1'}]
    # A write that does not give ports (kinc_cluster creating volumes, a refresh) keeps them.
    assert ledger.write(directory, uid, {'web': ALLOCATION}) is False
    assert ledger.read_own_ports(directory, uid) == {'web': (port(53, 'udp', '::1'), port(8080))}
    held, ports, warnings = ledger.others_with_ports(directory, uid + 1)
    assert held[0][1] == ALLOCATION and warnings == []
    assert [(p.owner, p.port) for p in ports] == [(None, port(53, 'udp', '::1')), (None, port(8080))]
    assert ports[0].holder.startswith("cluster 'web' of ")


@pytest.mark.parametrize('ports', [
    [{'host_port': 8080, 'protocol': 'tcp', 'address': '0.0.0.0/0'}],
    [{'host_port': 0, 'protocol': 'tcp', 'address': '127.0.0.1'}],
    [{'host_port': True, 'protocol': 'tcp', 'address': '127.0.0.1'}],
    [{'host_port': 8080, 'protocol': 'sctp', 'address': '127.0.0.1'}],
    [{'host_port': 8080, 'protocol': 'tcp', 'address': '127.0.0.1\nExecStart=/bin/sh'}],
    [{'host_port': n, 'protocol': 'tcp', 'address': '127.0.0.1'} for n in range(1, 34)],
    {'host_port': 8080},
])
def test_another_users_record_with_forged_ports_is_skipped_with_a_warning(tmp_path, ports):
    directory = str(tmp_path / 'allocations')
    make_record_dir(directory)
    path = plant_record(directory, 4242, {'x': {'api_port': 7443, 'pod_subnet': '10.244.43.0/24',
                                                'service_subnet': '10.43.0.0/16', 'ports': ports}})
    held, held_ports, warnings = ledger.others_with_ports(directory, 0)
    assert held == [] and held_ports == []
    assert warnings == ["skipped the host-wide record %s: cluster 'x' has no valid ports; the clusters of uid 4242 are "
                        "not seen; fix: its owner runs kinc.kinc.kinc_allocate again, or root removes it" % path]

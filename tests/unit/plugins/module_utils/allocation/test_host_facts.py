# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host facts for the allocator: /proc parsing (captured from real sockets and routes), the lock path
and the lock itself, and gathering facts through PodmanClient from captured podman output."""

import ipaddress
import json
import os
import socket
import subprocess
import sys

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils.allocation import locking
from ansible_collections.kinc.kinc.plugins.module_utils.allocation import host_network
from ansible_collections.kinc.kinc.plugins.module_utils.allocation.allocator import existing_allocations
from ansible_collections.kinc.kinc.plugins.module_utils.allocation.host_facts import gather_facts
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import PodmanClient

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'fixtures')
PROC = os.path.join(FIXTURES, 'proc')


def fixture_text(*parts):
    with open(os.path.join(FIXTURES, *parts)) as handle:
        return handle.read()


def test_listening_sockets_from_proc_net_tcp():
    # Captured while python listened on 127.0.0.1:23001, 0.0.0.0:23002, [::]:23003, [::1]:23004,
    # 127.0.0.2:23005, [::ffff:127.0.0.1]:23006 and held an established connection from 23007.
    listening = host_network.parse_listening(fixture_text('proc', 'net', 'tcp'))
    listening += host_network.parse_listening(fixture_text('proc', 'net', 'tcp6'))
    expected = [('0.0.0.0', 2024), ('0.0.0.0', 23002), ('127.0.0.1', 23001), ('127.0.0.2', 23005),
                ('::', 23003), ('::1', 23004), ('::ffff:7f00:1', 23006)]
    # Addresses, not their text: Python 3.13 writes the IPv4-mapped one as ::ffff:127.0.0.1.
    assert sorted((str(ip), port) for ip, port in listening) == \
        sorted((str(ipaddress.ip_address(ip)), port) for ip, port in expected)


def test_bound_udp_sockets_are_listeners_and_connected_ones_are_not():
    bound, connected = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        bound.bind(('127.0.0.1', 0))
        connected.bind(('127.0.0.1', 0))
        connected.connect(bound.getsockname())
        udp = [(str(ip), port) for ip, port in host_network.listeners(protocol='udp')]
        assert ('127.0.0.1', bound.getsockname()[1]) in udp
        assert ('127.0.0.1', connected.getsockname()[1]) not in udp
        assert ('127.0.0.1', bound.getsockname()[1]) not in [(str(ip), port) for ip, port in host_network.listeners()]
    finally:
        bound.close()
        connected.close()


def test_only_loopback_and_wildcard_listeners_block():
    assert host_network.listening_ports(PROC) == {2024, 23001, 23002, 23003, 23006}


def test_routes_from_proc_net_route_leave_out_the_default():
    assert host_network.routes(PROC) == [(ipaddress.ip_network('10.88.0.0/16'), 'podman0'),
                                         (ipaddress.ip_network('192.0.2.0/24'), 'eth0')]


@pytest.mark.parametrize('address, blocked', [
    ('127.0.0.2', {2024, 23002, 23003, 23005}),
    ('::1', {23003, 23004}),
    ('0.0.0.0', {2024, 23001, 23002, 23003, 23005, 23006}),
    ('::', {2024, 23001, 23002, 23003, 23004, 23005, 23006}),
    ('192.0.2.10', {2024, 23002, 23003}),
])
def test_listeners_block_the_address_a_cluster_publishes_on(address, blocked):
    assert host_network.listening_ports(PROC, address) == blocked


def test_gather_facts_without_podman_still_reads_the_host():
    facts = gather_facts(None, proc=PROC)
    assert facts.labelled_objects == [] and facts.taken_ports == set()
    assert host_network.blocking_ports(facts.listeners) == {2024, 23001, 23002, 23003, 23006}
    assert [t.holder for t in facts.taken_networks] == ['the route via podman0', 'the route via eth0']


def test_missing_proc_files_mean_no_facts(tmp_path):
    assert host_network.listening_ports(str(tmp_path)) == set()
    assert host_network.routes(str(tmp_path)) == []


@pytest.mark.parametrize('euid, environ, expected', [
    (0, {'XDG_RUNTIME_DIR': '/run/user/0'}, '/run/kinc/allocate.lock'),
    (1000, {'XDG_RUNTIME_DIR': '/run/user/1000'}, '/run/user/1000/kinc/allocate.lock'),
    (1000, {}, '/home/kinc/.local/state/kinc/allocate.lock'),
])
def test_default_lock_path(euid, environ, expected):
    assert locking.default_lock_path(euid, environ, home='/home/kinc') == expected


HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print('held', flush=True)
sys.stdin.read()
"""


def test_lock_waits_for_its_holder_and_times_out(tmp_path):
    path = str(tmp_path / 'sub' / 'allocate.lock')
    os.makedirs(os.path.dirname(path))
    holder = subprocess.Popen([sys.executable, '-c', HOLDER, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b'held\n'
        with pytest.raises(locking.LockTimeout) as err:
            with locking.AllocationLock(path, timeout=0):
                pass
        # The holder is named: any local user can hold the lock, and the message says who does.
        assert str(err.value) == ("waited 0 s for the allocation lock %s, held by pid %d (python) of root, uid 0; "
                                  "fix: let that finish or stop it, or raise lock_timeout" % (path, holder.pid))
    finally:
        holder.communicate(b'')
    # The kernel released the dead holder's lock: no stale lock.
    with locking.AllocationLock(path, timeout=0):
        pass


def test_lock_creates_private_parent_directories(tmp_path):
    path = str(tmp_path / 'a' / 'b' / 'allocate.lock')
    with locking.AllocationLock(path, timeout=0):
        assert os.path.exists(path)
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o600)


class CapturedPodman:
    """A runner answering podman's list commands with output captured from a real podman."""

    def __init__(self, version):
        self.version = version
        self.calls = []

    def __call__(self, argv, data=None):
        self.calls.append(argv)
        name = {('ps', '--all'): 'ps.json', ('volume', 'ls'): 'volumes.json',
                ('network', 'ls'): 'networks.json'}[tuple(argv[1:3])]
        return 0, fixture_text(self.version, name), ''


@pytest.mark.parametrize('version, api_port', [('podman-4.3', 20043), ('podman-5.4-rootless', 6443)])
def test_gather_facts_from_captured_podman(version, api_port):
    runner = CapturedPodman(version)
    facts = gather_facts(PodmanClient(runner), proc=PROC)
    sources = [source for source, _labels in facts.labelled_objects]
    assert sorted(sources[:2]) == ['volume kinc-capdev-config', 'volume kinc-capdev-var-data']
    assert sources[2:] == ['container kinc-capdev-control-plane']
    # The captured config volume carries only io.kinc.cluster: the var-data volume's record counts.
    alloc = existing_allocations(facts.labelled_objects)['capdev']
    assert (alloc.api_port, alloc.pod_subnet, alloc.service_subnet) == (api_port, '10.244.43.0/24', '10.43.0.0/16')
    # Published ports of containers (a range of two included); the listeners of the /proc fixture apart.
    assert facts.taken_ports == {api_port, 20100, 20101}
    assert host_network.blocking_ports(facts.listeners) == {2024, 23001, 23002, 23003, 23006}
    assert [(str(t.network), t.holder) for t in facts.taken_networks] == [
        ('10.88.0.0/16', 'the route via podman0'), ('192.0.2.0/24', 'the route via eth0'),
        ('10.88.0.0/16', 'Podman network podman'), ('10.77.0.0/24', 'Podman network ta-capnet')]
    assert sorted(facts.volume_labels) == ['kinc-capdev-config', 'kinc-capdev-var-data', 'plainvol']
    assert json.loads(fixture_text(version, 'version.json'))['Client']['Version'].startswith(version[7:10])


def test_clusters_all_allocated_on_their_volumes_need_nothing_else_read():
    runner = CapturedPodman('podman-5.4-rootless')
    facts = gather_facts(PodmanClient(runner), proc=PROC, names=['capdev'])
    assert [argv[1:3] for argv in runner.calls] == [['volume', 'ls']]
    assert existing_allocations(facts.labelled_objects)['capdev'].api_port == 6443
    assert (facts.taken_ports, facts.listeners, facts.taken_networks) == (set(), [], [])
    runner = CapturedPodman('podman-5.4-rootless')
    gather_facts(PodmanClient(runner), proc=PROC, names=['capdev', 'new'])
    assert [argv[1:3] for argv in runner.calls] == [['volume', 'ls'], ['ps', '--all'], ['network', 'ls']]


def test_gather_facts_ignores_udp_ports_and_ipv6_subnets(tmp_path):
    ps = [{'Names': ['dns'], 'Labels': None, 'State': 'running',
           'Ports': [{'host_ip': '', 'host_port': 20053, 'container_port': 53, 'protocol': 'udp'},
                     {'host_ip': '', 'host_port': 20080, 'container_port': 80, 'protocol': 'tcp'}]}]
    networks = [{'name': 'dual', 'subnets': [{'subnet': 'fd00:1::/64'}, {'subnet': '10.89.0.0/24'}]}]
    answers = {('ps', '--all'): json.dumps(ps), ('volume', 'ls'): '[]', ('network', 'ls'): json.dumps(networks)}
    client = PodmanClient(lambda argv, data=None: (0, answers[tuple(argv[1:3])], ''))
    facts = gather_facts(client, proc=str(tmp_path))
    assert facts.taken_ports == {20080}
    assert [(str(t.network), t.holder) for t in facts.taken_networks] == [('10.89.0.0/24', 'Podman network dual')]
    assert facts.labelled_objects == [] and facts.volume_labels == {}

# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network facts of the host the allocator must not clash with, read from /proc.

/proc shows the network namespace of the reading process: run it on the host, not in a container.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import socket
import struct

TCP_LISTEN = '0A'
# A cluster publishes its API on 127.0.0.1; a listener on any of these addresses blocks that port.
_BLOCKING_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    '127.0.0.1', '0.0.0.0', '::', '::ffff:127.0.0.1', '::ffff:0.0.0.0'))


def _ipv4_from_hex(text):
    # The kernel prints the address as one 32-bit word in host byte order.
    return ipaddress.IPv4Address(socket.inet_ntoa(struct.pack('=I', int(text, 16))))


def _ipv6_from_hex(text):
    # Four 32-bit words, each in host byte order.
    raw = b''.join(struct.pack('=I', int(text[i:i + 8], 16)) for i in range(0, 32, 8))
    return ipaddress.IPv6Address(raw)


def parse_listening(text):
    """Content of /proc/net/tcp or /proc/net/tcp6 -> [(ip_address, port)] of listening sockets."""
    found = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[3] != TCP_LISTEN:
            continue
        address, port = fields[1].split(':')
        ip = _ipv4_from_hex(address) if len(address) == 8 else _ipv6_from_hex(address)
        found.append((ip, int(port, 16)))
    return found


def blocking_ports(listening):
    """Ports a cluster cannot publish on 127.0.0.1 because something listens there already."""
    return set(port for ip, port in listening if ip in _BLOCKING_ADDRESSES)


def parse_routes(text):
    """Content of /proc/net/route -> [(ip_network, interface)], the default route left out."""
    routes = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        destination, mask = _ipv4_from_hex(fields[1]), _ipv4_from_hex(fields[7])
        network = ipaddress.IPv4Network('%s/%s' % (destination, mask), strict=False)
        if network.prefixlen:
            routes.append((network, fields[0]))
    return routes


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        # A kernel without IPv6 has no /proc/net/tcp6.
        return ''


def listening_ports(proc='/proc'):
    """Ports blocked by listening TCP sockets (IPv4 and IPv6) of this network namespace."""
    listening = []
    for name in ('tcp', 'tcp6'):
        listening.extend(parse_listening(_read('%s/net/%s' % (proc, name))))
    return blocking_ports(listening)


def routes(proc='/proc'):
    """IPv4 routes of this network namespace (kinc's cluster networks are IPv4)."""
    return parse_routes(_read('%s/net/route' % proc))

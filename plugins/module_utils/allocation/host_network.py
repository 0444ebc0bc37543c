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
# A UDP socket bound and not connected: it receives on its port.
UDP_UNCONNECTED = '07'
DEFAULT_ADDRESS = '127.0.0.1'


def _ipv4_from_hex(text):
    # The kernel prints the address as one 32-bit word in host byte order.
    return ipaddress.IPv4Address(socket.inet_ntoa(struct.pack('=I', int(text, 16))))


def _ipv6_from_hex(text):
    # Four 32-bit words, each in host byte order.
    raw = b''.join(struct.pack('=I', int(text[i:i + 8], 16)) for i in range(0, 32, 8))
    return ipaddress.IPv6Address(raw)


def parse_listening(text, state=TCP_LISTEN):
    """Content of /proc/net/tcp or /proc/net/tcp6 (or udp, udp6 with state UDP_UNCONNECTED) -> [(ip_address,
    port)] of listening sockets."""
    found = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[3] != state:
            continue
        address, port = fields[1].split(':')
        ip = _ipv4_from_hex(address) if len(address) == 8 else _ipv6_from_hex(address)
        found.append((ip, int(port, 16)))
    return found


def _unmapped(ip):
    ip = ipaddress.ip_address(u'%s' % (ip,)) if not hasattr(ip, 'version') else ip
    return ip.ipv4_mapped if ip.version == 6 and ip.ipv4_mapped else ip


def blocks(listener, address):
    """Whether a socket listening on `listener` keeps a cluster from publishing its API on `address`.

    The same address blocks, and a wildcard on either side blocks its family; `::` listens on IPv4 too
    (Linux's default bindv6only=0), so it blocks every address, and publishing on `::` needs every one free."""
    listener, address = _unmapped(listener), _unmapped(address)
    if listener == address:
        return True
    if listener.version == address.version:
        return listener.is_unspecified or address.is_unspecified
    v6 = listener if listener.version == 6 else address
    return v6.is_unspecified


def blocking_ports(listening, address=DEFAULT_ADDRESS):
    """Ports a cluster cannot publish on `address` because something listens there already."""
    return set(port for ip, port in listening if blocks(ip, address))


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


def listeners(proc='/proc', protocol='tcp'):
    """[(ip_address, port)] of the listening TCP (or bound UDP) sockets, IPv4 and IPv6, of this network namespace."""
    listening = []
    for name in (protocol, protocol + '6'):
        listening.extend(parse_listening(_read('%s/net/%s' % (proc, name)),
                                         TCP_LISTEN if protocol == 'tcp' else UDP_UNCONNECTED))
    return listening


def listening_ports(proc='/proc', address=DEFAULT_ADDRESS):
    """Ports blocked by listening TCP sockets for a cluster publishing on `address`."""
    return blocking_ports(listeners(proc), address)


def routes(proc='/proc'):
    """IPv4 routes of this network namespace (kinc's cluster networks are IPv4)."""
    return parse_routes(_read('%s/net/route' % proc))

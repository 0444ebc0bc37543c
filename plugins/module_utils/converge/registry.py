# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The owner's local registry: its names, its port, its Quadlet units, and how a node reaches it.

One registry per user, shared by all of that user's clusters: `podman push localhost:<port>/app:dev` on the
host, `image: localhost:<port>/app:dev` in a pod. It listens on the host's 127.0.0.1 only. A rootless node
cannot reach the host's loopback by default (Podman's pasta maps no host address to it, slirp4netns needs
allow_host_loopback); pasta's `-T <port>` forwards exactly that port of the node's own loopback to the host's,
so inside the node `localhost:<port>` is the registry too and the same image name works on both sides.
CRI-O pulls over plain HTTP only from a registry containers-registries.conf(5) marks insecure: the node gets a
drop-in for `localhost:<port>` (registries_conf), which its entrypoint installs; the owner's Podman gets the
same one (host_drop_in_dir), so a push needs no --tls-verify=false either.

Port rules (kinc_registry's documentation repeats them): the port the registry volume's label records is kept;
else the lowest port from base_port that no cluster and no other registry of any user holds (their labels and the
host-wide record, ledger.REGISTRY_FILE), no container publishes, no socket listens on (127.0.0.1 or a
wildcard), and that this user may publish (net.ipv4.ip_unprivileged_port_start). API port allocation
(kinc_allocate) skips every registry's port the same way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.kinc.kinc.plugins.module_utils.spec import cluster_spec
from ansible_collections.kinc.kinc.plugins.module_utils.allocation import host_network
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming
from ansible_collections.kinc.kinc.plugins.module_utils.converge import quadlet
from ansible_collections.kinc.kinc.plugins.module_utils.allocation.allocator import AllocationError

NAME = 'kinc-registry'
SERVICE = NAME + '.service'
VOLUME = NAME
CONTAINER_FILE = NAME + '.container'
VOLUME_FILE = NAME + '.volume'
# Written in this order: the volume unit before the container unit that uses it.
UNIT_FILES = (VOLUME_FILE, CONTAINER_FILE)
LABEL_PORT = 'io.kinc.registry-port'
ADDRESS = '127.0.0.1'
# The upstream image (the CNCF distribution registry): plain HTTP on 5000, data under /var/lib/registry.
DEFAULT_IMAGE = 'docker.io/library/registry:3'
CONTAINER_PORT = 5000
DATA_DIR = '/var/lib/registry'
DEFAULT_BASE_PORT = 5000
DROP_IN = '50-kinc-registry.conf'
DROP_IN_MODE = 0o644
DROP_IN_MARK = '# Written by %s (kinc_registry)' % naming.MANAGED_BY


def labels(port):
    return {LABEL_PORT: str(port), naming.LABEL_MANAGED_BY: naming.MANAGED_BY}


def recorded_port(volume_labels):
    """The port a registry volume's labels record, or None (no volume, or labels not kinc's)."""
    value = (volume_labels or {}).get(LABEL_PORT, '')
    return int(value) if value.isdigit() and 1 <= int(value) <= cluster_spec.MAX_PORT else None


def choose_port(held, taken_ports, listeners, base_port=DEFAULT_BASE_PORT, lowest_port=1,
                max_port=cluster_spec.MAX_PORT):
    """The lowest free port from max(base_port, lowest_port). `held`: {port: holder} of every user's clusters;
    `taken_ports`: ports containers publish; `listeners`: [(ip_address, port)] of listening TCP sockets."""
    busy = set(taken_ports) | host_network.blocking_ports(listeners, ADDRESS)
    for port in range(max(base_port, lowest_port), max_port + 1):
        if port not in held and port not in busy:
            return port
    raise AllocationError(cluster_spec.problem(
        'base_port', 'no free port for the registry from %d to %d (held by clusters or in use on this host)'
        % (max(base_port, lowest_port), max_port), 'free a port or choose another base_port'))


def check_forced(port, held, taken_ports, listeners, lowest_port=1):
    """Why the forced `port` cannot be a new registry's (None when it can)."""
    error = cluster_spec.port_error(port, 'port', lowest_port)
    if error:
        return error
    if port in held:
        return cluster_spec.problem('port', '%d is held by %s' % (port, held[port]),
                                    'choose another port or leave port out to allocate one')
    if port in taken_ports or port in host_network.blocking_ports(listeners, ADDRESS):
        return cluster_spec.problem('port', '%d is in use on this host (a socket listens on it on %s or a wildcard '
                                    'address, or a container publishes it)' % (port, ADDRESS),
                                    'stop what uses it, choose another port or leave port out to allocate one')
    return None


def render_units(image, port):
    """{file name: text} of the registry's Quadlet units."""
    header = '# Managed by kinc.kinc (kinc_registry): the local registry of this user. Local edits are overwritten.\n'
    quoted = ''.join('Label=%s\n' % quadlet.quote('%s=%s' % item) for item in sorted(labels(port).items()))
    volume = header + '[Unit]\nDescription=kinc local registry: volume %s\n\n[Volume]\nVolumeName=%s\n%s' % (
        VOLUME, VOLUME, quoted)
    container = header + (
        '[Unit]\n'
        'Description=kinc local registry on %(address)s:%(port)d\n'
        'Wants=network-online.target\n'
        'After=network-online.target\n'
        '\n'
        '[Container]\n'
        'Image=%(image)s\n'
        'ContainerName=%(name)s\n'
        '%(labels)s'
        '# Only on the loopback address: the registry speaks plain HTTP without authentication.\n'
        'PublishPort=%(publish)s\n'
        'Volume=%(volume)s:%(data)s\n'
        '\n'
        '[Service]\n'
        'Restart=always\n'
        'RestartSec=5\n'
        '# A first start may pull the image.\n'
        'TimeoutStartSec=900\n'
        '\n'
        '[Install]\n'
        'WantedBy=default.target\n') % dict(
            address=ADDRESS, port=port, image=image, name=NAME, labels=quoted,
            publish=quadlet.publish_port(ADDRESS, port, CONTAINER_PORT), volume=VOLUME_FILE, data=DATA_DIR)
    return {VOLUME_FILE: volume, CONTAINER_FILE: container}


def node_network(port):
    """The node unit's Network= value with a registry on `port`, None without one."""
    return 'pasta:-T,%d' % port if port else None


def registries_conf(port):
    """The containers-registries.conf(5) drop-in of the host's owner and of every node: plain HTTP for
    localhost:<port>, so `podman push localhost:<port>/...` and CRI-O's pulls need no --tls-verify=false."""
    return ('%s: the local registry of this user, localhost:%d on the host and in its kinc nodes.\n'
            '[[registry]]\nlocation = "localhost:%d"\ninsecure = true\n' % (DROP_IN_MARK, port, port))


def host_drop_in_dir(rootless, home):
    """The directory of drop-ins the owner's Podman reads (containers-registries.conf.d(5))."""
    return home + '/.config/containers/registries.conf.d' if rootless else '/etc/containers/registries.conf.d'


def foreign_drop_in(text):
    """Whether `text` (the drop-in's current content, None when absent) is a file kinc did not write."""
    return text is not None and not text.startswith(DROP_IN_MARK)

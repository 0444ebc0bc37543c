# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Renders what kinc hands to a node in its config volume: cluster.env and, in mounted mode, kubeadm.conf.

The kubeadm configuration has one template, files/image/rootfs/etc/kinc/kubeadm.conf.tmpl (TEMPLATE_PATH,
relative to the collection root). The node renders it from cluster.env (baked-in mode, kinc-render-config);
the collection reads the same file on the controller and renders it here (mounted mode), with the same
rule: every ``${KINC_NAME}`` placeholder is replaced by its value, any other text is left alone.
Pure functions, standard library only; bad input raises KubeadmConfigError naming the field and the fix.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming
from ansible_collections.kinc.kinc.plugins.module_utils.spec import node_settings

TEMPLATE_PATH = 'files/image/rootfs/etc/kinc/kubeadm.conf.tmpl'
PLACEHOLDER = re.compile(r'\$\{(KINC_[A-Z0-9_]+)\}')
# Left in place for the node to fill: KINC_NODE_IP always (the node's stable address, NODE_IP), and
# KINC_KUBERNETES_VERSION when not pinned (the version of the image's kubeadm).
NODE_FILLED = frozenset(['KINC_KUBERNETES_VERSION', 'KINC_NODE_IP'])
# Must equal KINC_NODE_IP in files/image/rootfs/usr/local/lib/kinc/common.sh; no subnet may contain it.
NODE_IP = '10.255.255.254'
# Where kinc publishes the API by default; always among the API server certificate's SANs (the template's).
DEFAULT_API_ADDRESS = naming.DEFAULT_API_ADDRESS
_VERSION = re.compile(r'v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.]+)?')
# An IP address as kinc writes it into cluster.env, PublishPort= and the certificate SANs: no IPv6 zone id
# ('%eth0'; ipaddress accepts any character there, a space included).
_ADDRESS = re.compile(r'[0-9A-Fa-f.:]{2,45}')
_NETWORK = re.compile(r'[0-9A-Fa-f.:]{2,45}/[0-9]{1,3}')
# kube-controller-manager gives each node a /24 of the pod subnet; kube-apiserver refuses service ranges
# larger than /12, and the range must hold the API (.1) and DNS (.10) service addresses.
_MAX_POD_PREFIX = 24
_SERVICE_PREFIX_RANGE = (12, 28)
# kube-proxy's conntrack timeouts: 0s leaves the sysctls alone (a user namespace cannot write them);
# otherwise kube-proxy's defaults.
_CONNTRACK_TIMEOUTS = {True: ('0s', '0s'), False: ('24h0m0s', '1h0m0s')}


class KubeadmConfigError(ValueError):
    """Bad input for the node configuration; the message names the field, the value and the fix."""


def placeholders(template_text):
    """The KINC_* names a template uses."""
    return set(PLACEHOLDER.findall(template_text))


def render(template_text, values):
    """Replace every ${KINC_NAME} in template_text by values[KINC_NAME].

    A placeholder without a value is an error, except the NODE_FILLED ones, which stay for the node.
    """
    missing = sorted(placeholders(template_text) - set(values) - NODE_FILLED)
    if missing:
        raise KubeadmConfigError('the template needs a value for %s' % ', '.join(missing))
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), template_text)


def normalize_version(kubernetes_version, field='kubernetes_version'):
    """'1.33.5' or 'v1.33.5' -> 'v1.33.5'; None stays None (the image's version)."""
    if kubernetes_version is None:
        return None
    version = str(kubernetes_version).strip()
    if not naming.full_match(_VERSION, version):
        raise KubeadmConfigError("%s %r is not a Kubernetes version; write it like '1.33.5' or 'v1.33.5'"
                                 % (field, kubernetes_version))
    return version if version.startswith('v') else 'v' + version


def _network(value, field):
    try:
        if not naming.full_match(_NETWORK, value):
            raise ValueError('only digits, dots, colons and one /')
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise KubeadmConfigError('%s %r is not an IPv4 network in CIDR notation (%s); write it like '
                                 "'10.244.43.0/24'" % (field, value, exc))
    if network.version != 4:
        raise KubeadmConfigError("%s %r is IPv6; kinc nodes use IPv4 subnets, e.g. '10.244.43.0/24'"
                                 % (field, value))
    return network


def check_subnets(pod_subnet, service_subnet):
    """Raise KubeadmConfigError unless the pod and service subnets suit a kinc node."""
    pods = _network(pod_subnet, 'pod_subnet')
    services = _network(service_subnet, 'service_subnet')
    if pods.prefixlen > _MAX_POD_PREFIX:
        raise KubeadmConfigError('pod_subnet %r is smaller than a /%d, the block kube-controller-manager '
                                 'gives a node; use a /%d or larger' % (pod_subnet, _MAX_POD_PREFIX, _MAX_POD_PREFIX))
    low, high = _SERVICE_PREFIX_RANGE
    if not low <= services.prefixlen <= high:
        raise KubeadmConfigError('service_subnet %r must have a prefix between /%d and /%d '
                                 '(kube-apiserver limit; room for the API and DNS services)'
                                 % (service_subnet, low, high))
    if pods.overlaps(services):
        raise KubeadmConfigError('pod_subnet %r and service_subnet %r overlap; choose disjoint subnets'
                                 % (pod_subnet, service_subnet))
    node_ip = ipaddress.ip_address(u'%s' % NODE_IP)
    for field, value, network in (('pod_subnet', pod_subnet, pods), ('service_subnet', service_subnet, services)):
        if node_ip in network:
            raise KubeadmConfigError('%s %r contains %s, the address every kinc node gives itself; '
                                     'choose a subnet without it' % (field, value, NODE_IP))


def _check_name(name):
    error = naming.name_error(name)
    if error:
        raise KubeadmConfigError(error)


def _check_port(api_port):
    if isinstance(api_port, bool) or not isinstance(api_port, int) or not 1 <= api_port <= 65535:
        raise KubeadmConfigError('api_port %r must be an integer port number between 1 and 65535'
                                 % (api_port,))


def address_ok(address):
    """Whether `address` is a unicast IP address without a zone id, written as kinc may write it anywhere."""
    if not naming.full_match(_ADDRESS, address):
        return False
    try:
        return not ipaddress.ip_address(address).is_multicast
    except ValueError:
        return False


def _check_address(api_address):
    if not address_ok(api_address):
        raise KubeadmConfigError('api_address %r must be an IP address to publish the API on, such as %s'
                                 % (api_address, DEFAULT_API_ADDRESS))
    return str(api_address)


def template_values(name, pod_subnet, service_subnet, kubernetes_version=None, rootless=True,
                    api_address=DEFAULT_API_ADDRESS):
    """The KINC_* values of the kubeadm template for one cluster (the node's hostname is its container's name).

    `api_address` (where the API is published) becomes a SAN of the API server certificate, so a kubeconfig
    pointing at it passes TLS verification."""
    _check_name(name)
    check_subnets(pod_subnet, service_subnet)
    address = _check_address(api_address or DEFAULT_API_ADDRESS)
    version = normalize_version(kubernetes_version)
    established, close_wait = _CONNTRACK_TIMEOUTS[bool(rootless)]
    values = {
        'KINC_CLUSTER_NAME': name,
        'KINC_NODE_NAME': naming.container_name(name),
        'KINC_POD_SUBNET': str(pod_subnet),
        'KINC_SERVICE_SUBNET': str(service_subnet),
        'KINC_KUBELET_IN_USERNS': 'true' if rootless else 'false',
        'KINC_CONNTRACK_TCP_ESTABLISHED_TIMEOUT': established,
        'KINC_CONNTRACK_TCP_CLOSE_WAIT_TIMEOUT': close_wait,
        'KINC_API_ADDRESS': address,
    }
    if version:
        values['KINC_KUBERNETES_VERSION'] = version
    return values


def render_kubeadm_config(template_text, name, pod_subnet, service_subnet, kubernetes_version=None,
                          rootless=True, api_address=DEFAULT_API_ADDRESS):
    """kubeadm.conf for mounted mode: the template rendered for one cluster."""
    return render(template_text, template_values(name, pod_subnet, service_subnet, kubernetes_version, rootless,
                                                 api_address))


def cluster_env(name, api_port, pod_subnet, service_subnet, events=False, kubernetes_version=None,
                api_address=None, node_labels=None):
    """cluster.env, the settings every node reads from its config volume (contract in files/image/README.md).

    KINC_API_ADDRESS is written only for an address other than DEFAULT_API_ADDRESS (the node's default), so
    the file of a cluster on the default address stays as earlier versions wrote it; KINC_NODE_LABELS (kubelet's
    --node-labels, validated by node_settings.labels_error) only when the cluster declares labels."""
    _check_name(name)
    _check_port(api_port)
    check_subnets(pod_subnet, service_subnet)
    address = _check_address(api_address) if api_address is not None else DEFAULT_API_ADDRESS
    version = normalize_version(kubernetes_version)
    lines = [
        '# Written by %s; read by the kinc node at every boot.' % naming.MANAGED_BY,
        'KINC_CLUSTER_NAME=%s' % name,
        'KINC_API_PORT=%d' % api_port,
        'KINC_POD_SUBNET=%s' % pod_subnet,
        'KINC_SERVICE_SUBNET=%s' % service_subnet,
        'KINC_EVENTS=%d' % (1 if events else 0),
    ]
    if version:
        lines.append('KINC_KUBERNETES_VERSION=%s' % version)
    if address != DEFAULT_API_ADDRESS:
        lines.append('KINC_API_ADDRESS=%s' % address)
    if node_labels:
        error = node_settings.labels_error(node_labels)
        if error:
            raise KubeadmConfigError(error)
        lines.append('KINC_NODE_LABELS=%s' % node_settings.labels_arg(node_labels))
    return '\n'.join(lines) + '\n'

# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The naming and label contract shared by the collection and the node image.

Every name a cluster owns on a host is derived here, so the allocator, kinc_cluster,
the roles and the tests can never disagree on them. See files/image/README.md.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

COLLECTION = 'kinc.kinc'
COLLECTION_VERSION = '0.1.0'

# Longest cluster name: 'kinc-' + name + '-control-plane' must stay within 63 characters
# (a DNS label, the container's hostname).
MAX_NAME_LENGTH = 40
_DNS1123_LABEL = re.compile(r'[a-z0-9]([-a-z0-9]*[a-z0-9])?')
# Characters no value kinc writes may hold: C0/C1 controls and the line breaks str.splitlines() honours.
_CONTROL = re.compile(u'[\x00-\x1f\x7f-\x9f\u2028\u2029]')

LABEL_CLUSTER = 'io.kinc.cluster'
LABEL_API_PORT = 'io.kinc.api-port'
LABEL_POD_SUBNET = 'io.kinc.pod-subnet'
LABEL_SERVICE_SUBNET = 'io.kinc.service-subnet'
LABEL_MANAGED_BY = 'io.kinc.managed-by'
# Without the version: it is in every unit and cluster.env, and an upgrade must not change what a node runs with.
MANAGED_BY = COLLECTION

# Paths inside the node (see files/image/README.md).
NODE_CONFIG_DIR = '/etc/kinc/config'
NODE_STATUS_FILE = '/var/lib/kinc/status.json'
NODE_INITIALIZED_MARKER = '/var/lib/kinc/initialized'
NODE_EVENTS_FILE = '/var/log/kinc/events.jsonl'
# The kubeadm configuration the node rendered and used (its preflight step writes it).
NODE_KUBEADM_CONFIG = '/var/lib/kinc/kubeadm.yaml'
NODE_API_PORT = 6443
# The host address a cluster's API is published on unless api_address says otherwise.
DEFAULT_API_ADDRESS = '127.0.0.1'


def full_match(pattern, value):
    """The one rule for every string that reaches a file, a unit line, a label, a path or a shell: a string
    that `pattern` (compiled) matches whole, without any control character. fullmatch, because '$' also
    matches before a trailing newline."""
    return isinstance(value, str) and not _CONTROL.search(value) and pattern.fullmatch(value) is not None


def has_control(value):
    return bool(_CONTROL.search(value))


def name_error(name, field='name'):
    """Return why `name` is not a valid cluster name, or None when it is."""
    if not isinstance(name, str) or not name:
        return "%s must be a non-empty string; got: %r" % (field, name)
    if len(name) > MAX_NAME_LENGTH:
        return ("%s %r is %d characters long; use at most %d so that 'kinc-<name>-control-plane' "
                "stays a valid 63-character DNS label" % (field, name, len(name), MAX_NAME_LENGTH))
    if not full_match(_DNS1123_LABEL, name):
        return ("%s %r is not a DNS-1123 label; use lower-case letters, digits and '-', "
                "starting and ending with a letter or digit (for example 'dev-1')" % (field, name))
    return None


def container_name(name):
    return 'kinc-%s-control-plane' % name


def service_name(name):
    return '%s.service' % container_name(name)


def var_volume_name(name):
    return 'kinc-%s-var-data' % name


def config_volume_name(name):
    return 'kinc-%s-config' % name


def volume_names(name):
    """The cluster's volumes: the node's /var and its configuration."""
    return [var_volume_name(name), config_volume_name(name)]


def quadlet_file_names(name):
    """Quadlet unit files, in the order they must exist (volumes before the container)."""
    return [var_volume_name(name) + '.volume', config_volume_name(name) + '.volume',
            container_name(name) + '.container']


def kubeconfig_file_name(name):
    return 'kinc-%s.conf' % name


def context_name(name):
    return 'kinc-%s' % name


def allocation_labels(name, api_port, pod_subnet, service_subnet):
    """The labels that record a cluster's allocation on its container and volumes."""
    return {
        LABEL_CLUSTER: name,
        LABEL_API_PORT: str(api_port),
        LABEL_POD_SUBNET: pod_subnet,
        LABEL_SERVICE_SUBNET: service_subnet,
        LABEL_MANAGED_BY: MANAGED_BY,
    }

# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_cluster's options: validation and the values its templates are rendered with.

Shared by the action plugin (controller, before rendering) and the module (target, before changing
anything), so bad input is refused with the same message on both sides.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import re

from ansible_collections.kinc.kinc.plugins.module_utils import kubeadm_config
from ansible_collections.kinc.kinc.plugins.module_utils import naming
from ansible_collections.kinc.kinc.plugins.module_utils import quadlet

# Defaults of the options the action plugin renders with; the module's argument_spec uses the same.
DEFAULT_IMAGE = 'localhost/kinc-node:latest'
DEFAULT_API_ADDRESS = '127.0.0.1'
DEFAULT_CONFIG_MODE = 'mounted'
DEFAULT_WAIT_TIMEOUT = 600
STATES = ('present', 'started', 'stopped', 'absent')
CONFIG_MODES = ('mounted', 'baked')
# Files kinc writes into the config volume; a file not wanted by the current config_mode is removed.
CLUSTER_ENV_FILE = 'cluster.env'
KUBEADM_CONFIG_FILE = 'kubeadm.conf'
NODE_CONFIG_FILES = (CLUSTER_ENV_FILE, KUBEADM_CONFIG_FILE)
_IMAGE = re.compile(r'^[^\s]+$')
# Quadlet must start the unit within this time: an image pull is not part of it (images are local).
TIMEOUT_START_SEC = 300


def kube_dir():
    return os.path.expanduser('~/.kube')


def default_kubeconfig_path(name):
    """~/.kube/kinc-<name>.conf of the user the module runs as."""
    return os.path.join(kube_dir(), naming.kubeconfig_file_name(name))


def user_kubeconfig_path():
    """~/.kube/config, where merge_kubeconfig puts the context."""
    return os.path.join(kube_dir(), 'config')


def errors(params):
    """Every problem with `params` (module option names as keys), as a list of messages."""
    found = []
    state = params.get('state') or 'present'
    name_error = naming.name_error(params.get('name'))
    if name_error:
        found.append(name_error)
    port = params.get('api_port')
    if port is None:
        if state == 'present':
            found.append('api_port is required with state=present; take it from kinc.kinc.kinc_allocate')
    elif not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        found.append('api_port must be an integer between 1 and 65535; got: %r' % (port,))
    subnets = [params.get(field) for field in ('pod_subnet', 'service_subnet')]
    for field, value in zip(('pod_subnet', 'service_subnet'), subnets):
        if value is None and state == 'present':
            found.append('%s is required with state=present; take it from kinc.kinc.kinc_allocate' % field)
    if None not in subnets:
        try:
            kubeadm_config.check_subnets(*subnets)
        except kubeadm_config.KubeadmConfigError as exc:
            found.append(str(exc))
    address = params.get('api_address')
    try:
        ipaddress.ip_address(str(address))
    except ValueError:
        found.append('api_address must be an IP address to publish the API on, such as 127.0.0.1; got: %r'
                     % (address,))
    image = params.get('image')
    if not isinstance(image, str) or not _IMAGE.match(image):
        found.append('image must be an image reference without spaces, such as localhost/kinc-node:latest; '
                     'got: %r' % (image,))
    try:
        kubeadm_config.normalize_version(params.get('kubernetes_version'))
    except kubeadm_config.KubeadmConfigError as exc:
        found.append(str(exc))
    timeout = params.get('wait_timeout')
    if timeout is not None and (not isinstance(timeout, int) or timeout < 1):
        found.append('wait_timeout must be a positive number of seconds; got: %r' % (timeout,))
    return found


def template_values(params):
    """Variables of files/quadlet/*.j2 for one cluster (the action plugin renders with them)."""
    name = params['name']
    labels = naming.allocation_labels(name, params['api_port'], params['pod_subnet'], params['service_subnet'])
    quoted = [quadlet.quote('%s=%s' % (key, labels[key])) for key in sorted(labels)]
    var_unit, config_unit = [n + '.volume' for n in naming.volume_names(name)]
    return {
        'name': name,
        'image': params['image'],
        'container_name': naming.container_name(name),
        'labels': labels,
        'quoted_labels': quoted,
        'publish': quadlet.publish_port(params['api_address'], params['api_port'], naming.NODE_API_PORT),
        'var_volume_unit': var_unit,
        'config_volume_unit': config_unit,
        'node_config_dir': naming.NODE_CONFIG_DIR,
        'timeout_start_sec': TIMEOUT_START_SEC,
    }


def node_config(params, kubeadm_template, rootless):
    """{file name: text} for the config volume: cluster.env always, kubeadm.conf in mounted mode
    (`kubeadm_template` is the text of kubeadm_config.TEMPLATE_PATH)."""
    files = {CLUSTER_ENV_FILE: kubeadm_config.cluster_env(
        params['name'], params['api_port'], params['pod_subnet'], params['service_subnet'],
        events=bool(params.get('events')), kubernetes_version=params.get('kubernetes_version'))}
    if params['config_mode'] == 'mounted':
        files[KUBEADM_CONFIG_FILE] = kubeadm_config.render_kubeadm_config(
            kubeadm_template, params['name'], params['pod_subnet'], params['service_subnet'],
            kubernetes_version=params.get('kubernetes_version'), rootless=rootless)
    return files

# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one specification of a cluster's options: types, choices, defaults and every rule about values.

Used by kinc_cluster's argument spec (target), its action plugin (controller, before rendering) and the
role's validation, so a bad value is refused with the same message wherever it is checked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.kinc.kinc.plugins.module_utils import kubeadm_config
from ansible_collections.kinc.kinc.plugins.module_utils import naming

DEFAULT_IMAGE = 'localhost/kinc-node:latest'
DEFAULT_API_ADDRESS = '127.0.0.1'
DEFAULT_CONFIG_MODE = 'mounted'
DEFAULT_WAIT_TIMEOUT = 600
STATES = ('present', 'started', 'stopped', 'absent')
CONFIG_MODES = ('mounted', 'baked')
_IMAGE = re.compile(r'^[^\s]+$')

# kinc_cluster's options that describe the cluster (the argument spec of the module, without the
# options the action plugin sets and the shared ones of module_base).
CLUSTER_OPTIONS = dict(
    name=dict(type='str', required=True),
    state=dict(type='str', default='present', choices=list(STATES)),
    api_port=dict(type='int'),
    pod_subnet=dict(type='str'),
    service_subnet=dict(type='str'),
    image=dict(type='str', default=DEFAULT_IMAGE),
    api_address=dict(type='str', default=DEFAULT_API_ADDRESS),
    config_mode=dict(type='str', default=DEFAULT_CONFIG_MODE, choices=list(CONFIG_MODES)),
    kubernetes_version=dict(type='str'),
    events=dict(type='bool', default=False),
    purge=dict(type='bool', default=False),
    wait=dict(type='bool', default=True),
    wait_timeout=dict(type='int', default=DEFAULT_WAIT_TIMEOUT),
    kubeconfig_path=dict(type='path'),
    merge_kubeconfig=dict(type='bool', default=False),
)


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

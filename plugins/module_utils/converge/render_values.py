# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_cluster's rendering: the values its templates are rendered with, its files and paths.

The options themselves and their validation are in cluster_spec.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.kinc.kinc.plugins.module_utils.spec import cluster_spec
from ansible_collections.kinc.kinc.plugins.module_utils.node import config_render
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming
from ansible_collections.kinc.kinc.plugins.module_utils.spec import node_settings
from ansible_collections.kinc.kinc.plugins.module_utils.converge import quadlet
from ansible_collections.kinc.kinc.plugins.module_utils.converge import registry
from ansible_collections.kinc.kinc.plugins.module_utils.node.config_volume import (
    CLUSTER_ENV_FILE, KUBEADM_CONFIG_FILE, REGISTRIES_FILE)

# Quadlet must start the unit within this time: an image pull is not part of it (images are local).
TIMEOUT_START_SEC = 300
# Podman stops the node (SIGRTMIN+3, systemd's orderly shutdown) for up to NODE_STOP_TIMEOUT seconds before it
# kills it: systemd in the node gives each unit up to 45 s (the image's system.conf.d/10-kinc.conf), and
# kubelet and CRI-O stop one after the other. systemd on the host waits a little longer for `podman rm`.
NODE_STOP_TIMEOUT = 100
TIMEOUT_STOP_SEC = 120


def kube_dir():
    return os.path.expanduser('~/.kube')


def default_kubeconfig_path(name):
    """~/.kube/kinc-<name>.conf of the user the module runs as."""
    return os.path.join(kube_dir(), naming.kubeconfig_file_name(name))


def user_kubeconfig_path():
    """~/.kube/config, where merge_kubeconfig puts the context."""
    return os.path.join(kube_dir(), 'config')


def kubeconfig_path_problems(entries):
    """Each kubeconfig_path that would overwrite, and with purge delete, a file that is not the cluster's own
    (cluster_spec.kubeconfig_clash). `entries`: the clusters of the call with kubeconfig_path resolved."""
    found = []
    taken = {}
    for index, entry in enumerate(entries):
        field = 'clusters[%d].kubeconfig_path' % index if len(entries) > 1 else 'kubeconfig_path'
        clash = cluster_spec.kubeconfig_clash(entry['kubeconfig_path'], entry['name'], kube_dir(), taken)
        if clash:
            found.append(cluster_spec.problem(field, clash, cluster_spec.kubeconfig_fix(entry['name'], kube_dir())))
        taken.setdefault(os.path.normpath(entry['kubeconfig_path']), entry['name'])
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
        # The cluster's `ports` (validated): address:host_port:node_port/protocol, in the order given.
        'published_ports': ['%s/%s' % (quadlet.publish_port(m['address'], m['host_port'], m['node_port']), m['protocol'])
                            for m in cluster_spec.published_ports(params.get('ports') or [], params['api_address'])[0]],
        'var_volume_unit': var_unit,
        'config_volume_unit': config_unit,
        'node_config_dir': naming.NODE_CONFIG_DIR,
        'timeout_start_sec': TIMEOUT_START_SEC,
        'stop_timeout': NODE_STOP_TIMEOUT,
        'limits': node_settings.podman_limits(params.get('memory'), params.get('cpus')),
        'timeout_stop_sec': TIMEOUT_STOP_SEC,
        'network': registry.node_network(params.get('registry_port')),
    }


def node_config(params, kubeadm_template, rootless, patch):
    """{file name: text} for the config volume: cluster.env always, kubeadm.conf in mounted mode
    (`kubeadm_template` is the text of config_render.TEMPLATE_PATH; `patch`, given the text and the
    cluster's kubeadm_patches, returns the text with them merged), registries.conf with a local registry."""
    files = {CLUSTER_ENV_FILE: config_render.cluster_env(
        params['name'], params['api_port'], params['pod_subnet'], params['service_subnet'],
        events=bool(params.get('events')), kubernetes_version=params.get('kubernetes_version'),
        api_address=params.get('api_address'), node_labels=params.get('node_labels'))}
    if params['config_mode'] == 'mounted':
        text = node_settings.with_node_labels(config_render.render_kubeadm_config(
            kubeadm_template, params['name'], params['pod_subnet'], params['service_subnet'],
            kubernetes_version=params.get('kubernetes_version'), rootless=rootless,
            api_address=params.get('api_address') or config_render.DEFAULT_API_ADDRESS), params.get('node_labels'))
        files[KUBEADM_CONFIG_FILE] = patch(text, params['kubeadm_patches']) if params.get('kubeadm_patches') else text
    if params.get('registry_port'):
        files[REGISTRIES_FILE] = registry.registries_conf(params['registry_port'])
    return files

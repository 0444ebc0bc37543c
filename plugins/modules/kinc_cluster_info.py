#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: kinc_cluster_info
short_description: Report the kinc clusters of the managed host
version_added: 0.1.0
description:
  - Lists kinc clusters from the C(io.kinc.*) labels of their containers and volumes, with the state of the
    container, of its systemd service and the node's init status (C(/var/lib/kinc/status.json)).
  - Read-only; rootless it reports the clusters of the user the module runs as.
author:
  - kinc developers (@kinc)
attributes:
  check_mode:
    description: Changes nothing, so it runs in check mode too.
    support: full
  diff_mode:
    description: Changes nothing.
    support: none
options:
  name:
    description: Report only this cluster. All kinc clusters when omitted.
    type: str
seealso:
  - module: kinc.kinc.kinc_cluster
'''

EXAMPLES = r'''
- name: Read every kinc cluster of the user
  kinc.kinc.kinc_cluster_info:
  register: kinc_clusters

- name: Show the phase of cluster dev
  ansible.builtin.debug:
    msg: "{{ (kinc_clusters.clusters | selectattr('name', 'equalto', 'dev') | first).phase }}"
'''

RETURN = r'''
clusters:
  description: The clusters, sorted by name. Empty when there is none (or O(name) does not exist).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The cluster's name.
      type: str
      sample: dev
    api_port:
      description: Host port of the API, from the labels.
      type: int
      sample: 6443
    pod_subnet:
      description: Pod network, from the labels.
      type: str
      sample: 10.244.43.0/24
    service_subnet:
      description: Service network, from the labels.
      type: str
      sample: 10.43.0.0/16
    container_state:
      description: State of the node container as podman reports it (V(running), V(exited), ...), or V(absent).
      type: str
      sample: running
    service_active:
      description: ActiveState of the cluster's systemd service (V(active), V(inactive), V(failed), ...), or
        V(unknown) when the service manager cannot be reached.
      type: str
      sample: active
    phase:
      description: The node's init phase (V(initializing), V(ready), V(failed)); null when the node is not
        running or has not reported yet, V(invalid) when its status file breaks the contract.
      type: str
      sample: ready
    steps:
      description: The node's init steps (name, unit, state, started, finished, duration, message).
      type: list
      elements: dict
    kubeconfig:
      description: Path of the cluster's exported kubeconfig (C(~/.kube/kinc-<name>.conf)); null when absent.
      type: str
    quadlet_files:
      description: The cluster's Quadlet unit files that exist.
      type: list
      elements: str
    volumes:
      description: The cluster's volumes that exist.
      type: list
      elements: str
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kinc.kinc.plugins.module_utils import cluster_params
from ansible_collections.kinc.kinc.plugins.module_utils import naming
from ansible_collections.kinc.kinc.plugins.module_utils import node_status
from ansible_collections.kinc.kinc.plugins.module_utils import quadlet
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import PodmanClient, PodmanError
from ansible_collections.kinc.kinc.plugins.module_utils.systemd import Systemctl, SystemdError, user_environment


def _allocation(labels):
    port = labels.get(naming.LABEL_API_PORT) or ''
    return {
        'api_port': int(port) if port.isdigit() else None,
        'pod_subnet': labels.get(naming.LABEL_POD_SUBNET),
        'service_subnet': labels.get(naming.LABEL_SERVICE_SUBNET),
    }


def describe(name, podman, systemctl, quadlet_dir, kube_dir, containers, volumes):
    """One cluster's entry from its labelled objects, its service and its node status."""
    container = containers.get(naming.container_name(name))
    own_volumes = [v for v in volumes if v.labels.get(naming.LABEL_CLUSTER) == name]
    labels = container.labels if container else (own_volumes[0].labels if own_volumes else {})
    info = {'name': name}
    info.update(_allocation(labels))
    info['container_state'] = container.state if container else 'absent'
    service_active = 'unknown'
    if systemctl is not None:
        service_active = systemctl.active_state(naming.service_name(name))
    info['service_active'] = service_active
    info['phase'] = None
    info['steps'] = []
    if container and container.state == 'running':
        try:
            status = node_status.fetch(podman, container.name)
        except node_status.StatusError:
            info['phase'] = 'invalid'
        else:
            if status:
                info['phase'] = status['phase']
                info['steps'] = status['steps']
    path = os.path.join(kube_dir, naming.kubeconfig_file_name(name))
    info['kubeconfig'] = path if os.path.exists(path) else None
    info['quadlet_files'] = [os.path.join(quadlet_dir, f) for f in naming.quadlet_file_names(name)
                             if os.path.exists(os.path.join(quadlet_dir, f))]
    info['volumes'] = sorted(v.name for v in own_volumes)
    return info


def main():
    module = AnsibleModule(argument_spec=dict(name=dict(type='str')), supports_check_mode=True)
    name = module.params['name']
    if name is not None:
        error = naming.name_error(name)
        if error:
            module.fail_json(msg=error)
    uid = os.geteuid()
    rootless = uid != 0
    systemctl = Systemctl(module.run_command, user=rootless)
    if rootless:
        try:
            module.run_command_environ_update.update(user_environment(uid, os.environ))
        except SystemdError as exc:
            module.warn('service states are unknown: %s' % exc)
            systemctl = None
    try:
        podman = PodmanClient.from_module(module)
        label = naming.LABEL_CLUSTER if name is None else '%s=%s' % (naming.LABEL_CLUSTER, name)
        containers = dict((c.name, c) for c in podman.containers(label=label))
        volumes = podman.volumes(label=label)
        names = set(c.labels.get(naming.LABEL_CLUSTER) for c in containers.values())
        names.update(v.labels.get(naming.LABEL_CLUSTER) for v in volumes)
        clusters = [describe(n, podman, systemctl, quadlet.default_dir(rootless), cluster_params.kube_dir(),
                             containers, volumes) for n in sorted(n for n in names if n)]
    except (PodmanError, SystemdError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, clusters=clusters)


if __name__ == '__main__':
    main()

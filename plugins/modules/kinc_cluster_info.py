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
  - Also reports each cluster's Kubernetes version, readiness, API URL, the age of its data and, when event
    capture is on, where the host finds the node's C(events.jsonl).
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
extends_documentation_fragment:
  - kinc.kinc.podman
seealso:
  - module: kinc.kinc.kinc_cluster
  - module: kinc.kinc.kinc_image
'''

EXAMPLES = r'''
- name: Read every kinc cluster of the user
  kinc.kinc.kinc_cluster_info:
  register: kinc_clusters

- name: Show the phase of cluster dev
  ansible.builtin.debug:
    msg: "{{ (kinc_clusters.clusters | selectattr('name', 'equalto', 'dev') | first).phase }}"

- name: Read one cluster and print how long each init step took
  kinc.kinc.kinc_cluster_info:
    name: dev
  register: kinc_dev

- name: Show the step table of dev
  ansible.builtin.debug:
    msg: "{{ kinc_dev.clusters[0].steps | map(attribute='name')
      | zip(kinc_dev.clusters[0].steps | map(attribute='state'), kinc_dev.clusters[0].steps | map(attribute='duration'))
      | map('join', ' ') }}"
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
    ready:
      description: Whether the node runs and reports phase V(ready).
      type: bool
      sample: true
    kubernetes_version:
      description: The cluster's Kubernetes version (what kubeadm deployed, else the pinned version, else the node
        image's); null when nothing says.
      type: str
      sample: v1.33.5
    api_url:
      description: URL of the cluster's API on the host; null without an allocated port.
      type: str
      sample: https://127.0.0.1:6443
    steps:
      description: The node's init steps in order, each with C(name), C(unit), C(state) (V(pending), V(running),
        V(done), V(failed)), C(started) and C(finished) (UTC, C(2026-11-22T10:00:01Z)), C(duration) (seconds,
        null until finished) and C(message) (the step's last line).
      type: list
      elements: dict
    events_file:
      description: Host path of the node's C(/var/log/kinc/events.jsonl) (on its C(/var) volume) when event capture
        is on (C(events=true)); null when it is off.
      type: str
      sample: /home/dev/.local/share/containers/storage/volumes/kinc-dev-var-data/_data/log/kinc/events.jsonl
    created:
      description: When the cluster's data (its C(/var) volume) was created, as podman reports it; null without it.
      type: str
    age:
      description: Age of the cluster's data, as kubectl prints ages (V(45s), V(7m), V(5h12m), V(3d4h)).
      type: str
      sample: 5h12m
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

import json
import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kinc.kinc.plugins.module_utils.converge import cluster_facts
from ansible_collections.kinc.kinc.plugins.module_utils.converge import render_values
from ansible_collections.kinc.kinc.plugins.module_utils.kubeconfig import document
from ansible_collections.kinc.kinc.plugins.module_utils import module_base
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming
from ansible_collections.kinc.kinc.plugins.module_utils.node import init_status
from ansible_collections.kinc.kinc.plugins.module_utils.converge import quadlet
from ansible_collections.kinc.kinc.plugins.module_utils.systemd import Systemctl


def _allocation(labels):
    port = labels.get(naming.LABEL_API_PORT) or ''
    return {
        'api_port': int(port) if port.isdigit() else None,
        'pod_subnet': labels.get(naming.LABEL_POD_SUBNET),
        'service_subnet': labels.get(naming.LABEL_SERVICE_SUBNET),
    }


def _api_url(container, port):
    if port is None:
        return None
    addresses = [p.host_ip for p in (container.ports if container else []) if p.container_port == naming.NODE_API_PORT]
    return document.server_url(addresses[0] if addresses and addresses[0] else '127.0.0.1', port)


def _volume_created(podman, name):
    """CreatedAt of volume `name` as podman reports it, or None (podman resolves a unique prefix of a name:
    only the volume of exactly that name counts)."""
    rc, out, _err = podman.call(['volume', 'inspect', '--format', 'json', name], ok_rcs=(0, 125))
    try:
        found = [v for v in json.loads(out or '[]') if v.get('Name') == name] if rc == 0 else []
    except (ValueError, AttributeError):
        found = []
    return (found[0].get('CreatedAt') or None) if found else None


def describe(name, podman, systemctl, quadlet_dir, kube_dir, containers, volumes, now=None):
    """One cluster's entry from its labelled objects, its service, its volumes' files and its node status."""
    container = containers.get(naming.container_name(name))
    own_volumes = dict((v.name, v) for v in volumes if v.labels.get(naming.LABEL_CLUSTER) == name)
    labels = container.labels if container else (list(own_volumes.values())[0].labels if own_volumes else {})
    var_volume = own_volumes.get(naming.var_volume_name(name))
    config_volume = own_volumes.get(naming.config_volume_name(name))
    files = cluster_facts.VolumeFiles(var_volume.mountpoint if var_volume else None,
                                      config_volume.mountpoint if config_volume else None)
    env = files.cluster_env()
    info = {'name': name}
    info.update(_allocation(labels))
    info['api_url'] = _api_url(container, info['api_port'])
    info['container_state'] = container.state if container else 'absent'
    service_active = 'unknown'
    if systemctl is not None:
        service_active = systemctl.active_state(naming.service_name(name))
    info['service_active'] = service_active
    info['phase'] = None
    info['steps'] = []
    if container and container.state == 'running':
        try:
            status = init_status.fetch(podman, container.name)
        except init_status.StatusError:
            info['phase'] = 'invalid'
        else:
            if status:
                info['phase'] = status['phase']
                info['steps'] = status['steps']
    info['ready'] = info['phase'] == 'ready'
    info['kubernetes_version'] = cluster_facts.kubernetes_version(files.var_file(naming.NODE_KUBEADM_CONFIG), env, labels)
    info['events_file'] = files.events_file() if env.get('KINC_EVENTS') == '1' else None
    info['created'] = _volume_created(podman, var_volume.name) if var_volume else None
    created = cluster_facts.parse_podman_time(info['created'])
    info['age'] = cluster_facts.age((now or time.time()) - created) if created is not None else None
    path = os.path.join(kube_dir, naming.kubeconfig_file_name(name))
    info['kubeconfig'] = path if os.path.exists(path) else None
    info['quadlet_files'] = [os.path.join(quadlet_dir, f) for f in naming.quadlet_file_names(name)
                             if os.path.exists(os.path.join(quadlet_dir, f))]
    info['volumes'] = sorted(own_volumes)
    return info


def main():
    module = AnsibleModule(argument_spec=module_base.argument_spec(dict(name=dict(type='str'))),
                           supports_check_mode=True)
    name = module.params['name']

    def body():
        if name is not None:
            error = naming.name_error(name)
            if error:
                raise module_base.KincError(error)
        rootless = module_base.rootless_environment(module, required=False)
        systemctl = None if rootless is None else Systemctl(module.run_command, user=rootless)
        podman = module_base.podman(module)
        label = naming.LABEL_CLUSTER if name is None else '%s=%s' % (naming.LABEL_CLUSTER, name)
        containers = dict((c.name, c) for c in podman.containers(label=label))
        volumes = podman.volumes(label=label)
        names = set(c.labels.get(naming.LABEL_CLUSTER) for c in containers.values())
        names.update(v.labels.get(naming.LABEL_CLUSTER) for v in volumes)
        return dict(changed=False, clusters=[
            describe(n, podman, systemctl, quadlet.default_dir(os.geteuid() != 0), render_values.kube_dir(),
                     containers, volumes) for n in sorted(n for n in names if n)])

    module_base.run(module, body)


if __name__ == '__main__':
    main()

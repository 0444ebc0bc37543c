#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: kinc_cluster
short_description: Run a single-container Kubernetes cluster as Quadlet units under systemd
version_added: 0.1.0
description:
  - Converges one kinc cluster on the managed host. With O(state=present) it writes the cluster's Quadlet
    units (a C(.container) for the node and a C(.volume) for each of its two volumes) into the Quadlet
    directory, writes the node configuration (C(cluster.env) and, in mounted mode, C(kubeadm.conf)) into
    the config volume, reloads systemd, starts the service (restarting it only when a unit or the node
    configuration changed), waits until the node reports C(ready) and exports the admin kubeconfig.
  - Idempotence compares the rendered unit and configuration texts with the files on disk; unchanged
    input reports C(changed=false) and never restarts the cluster.
  - The Quadlet units and the node configuration are Jinja2 templates shipped with the collection
    (C(files/quadlet/), and the kubeadm template of the node image). The managed host may not have Jinja2, so
    the action plugin of the same name renders them on the controller and passes the texts to this module
    in O(quadlet_units) and O(node_config).
  - Rootless (the module runs as a user other than root) it uses C(systemctl --user), which needs the user's
    systemd manager (lingering, which the C(kinc.kinc.kinc_host) role enables).
  - Get O(api_port), O(pod_subnet) and O(service_subnet) from M(kinc.kinc.kinc_allocate), which records the
    allocation on the cluster's volumes; options that contradict an existing allocation are refused.
author:
  - kinc developers (@kinc)
extends_documentation_fragment: []
attributes:
  check_mode:
    description: Plans every change and runs only read-only commands.
    support: full
  diff_mode:
    description: Shows the before and after text of every Quadlet unit and node configuration file that changes.
    support: full
  action:
    description: An action plugin renders the templates on the controller.
    support: full
options:
  name:
    description:
      - The cluster's name, a DNS-1123 label of at most 40 characters.
      - It names the container C(kinc-<name>-control-plane), its volumes and its kubeconfig context C(kinc-<name>).
    type: str
    required: true
  state:
    description:
      - V(present) writes the units and node configuration, starts (or, after a change, restarts) the service,
        waits for readiness (O(wait)) and exports the kubeconfig.
      - V(started) starts the service of an existing cluster and waits for it. Given O(api_port), O(pod_subnet)
        and O(service_subnet), it converges the cluster exactly like V(present).
      - V(stopped) stops the service. Given O(api_port), O(pod_subnet) and O(service_subnet), it also writes the
        units and node configuration (without starting), so a later start uses them.
      - V(absent) stops the service, removes the unit files and the container; the volumes and the
        kubeconfig are removed only with O(purge).
    type: str
    choices: [present, started, stopped, absent]
    default: present
  api_port:
    description:
      - Host port of the Kubernetes API. Required with O(state=present).
      - With other states it is read from the volume labels when omitted.
    type: int
  pod_subnet:
    description: The cluster's pod network in CIDR form. Required with O(state=present).
    type: str
  service_subnet:
    description: The cluster's service network in CIDR form. Required with O(state=present).
    type: str
  image:
    description: The node image.
    type: str
    default: localhost/kinc-node:latest
  api_address:
    description: Host address the API port is published on.
    type: str
    default: 127.0.0.1
  config_mode:
    description:
      - V(mounted) writes the full kubeadm configuration into the config volume.
      - V(baked) writes only C(cluster.env) and lets the node render its built-in default configuration.
    type: str
    choices: [mounted, baked]
    default: mounted
  kubernetes_version:
    description: Kubernetes version to pin in the node configuration, such as V(v1.33.1).
    type: str
  events:
    description: Capture cluster events into C(/var/log/kinc/events.jsonl) on the node (C(KINC_EVENTS)).
    type: bool
    default: false
  purge:
    description: With O(state=absent), also remove the volumes (the allocation), the kubeconfig file and the
      context merged into C(~/.kube/config).
    type: bool
    default: false
  wait:
    description: Wait until the node reports phase C(ready) and its initialized marker exists.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for readiness.
    type: int
    default: 600
  kubeconfig_path:
    description: Where the admin kubeconfig is written (mode 0600). Defaults to C(~/.kube/kinc-<name>.conf).
    type: path
  merge_kubeconfig:
    description: Also merge the context C(kinc-<name>) into C(~/.kube/config) (needs PyYAML on the managed host).
    type: bool
    default: false
  quadlet_dir:
    description:
      - Directory of the Quadlet units.
      - Defaults to C(~/.config/containers/systemd) rootless and C(/etc/containers/systemd) as root.
    type: path
  quadlet_units:
    description:
      - Set by the action plugin; do not set it in a task.
      - Rendered Quadlet unit files, file name to content.
    type: dict
  node_config:
    description:
      - Set by the action plugin; do not set it in a task.
      - Rendered node configuration files for the config volume, file name to content.
    type: dict
notes:
  - The kubeconfig file is written as JSON, which kubectl reads like YAML.
seealso:
  - module: kinc.kinc.kinc_allocate
  - module: kinc.kinc.kinc_cluster_info
'''

EXAMPLES = r'''
- name: Allocate a port and subnets for the cluster
  kinc.kinc.kinc_allocate:
    name: dev
  register: kinc_dev

- name: Run the cluster and wait until it is ready
  kinc.kinc.kinc_cluster:
    name: dev
    api_port: "{{ kinc_dev.allocation.api_port }}"
    pod_subnet: "{{ kinc_dev.allocation.pod_subnet }}"
    service_subnet: "{{ kinc_dev.allocation.service_subnet }}"
    merge_kubeconfig: true

- name: Stop the cluster
  kinc.kinc.kinc_cluster:
    name: dev
    state: stopped

- name: Remove the cluster and its data
  kinc.kinc.kinc_cluster:
    name: dev
    state: absent
    purge: true
'''

RETURN = r'''
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["create /home/u/.config/containers/systemd/kinc-dev-control-plane.container", "start kinc-dev-control-plane.service"]
cluster:
  description: The cluster after the task.
  returned: success
  type: dict
  contains:
    name:
      description: The cluster's name.
      type: str
      sample: dev
    state:
      description: V(running), V(stopped) or V(absent).
      type: str
      sample: running
    api_port:
      description: Host port of the API (from the options or the volume labels); null when unknown.
      type: int
      sample: 6443
    api_url:
      description: The API's URL on the host.
      type: str
      sample: https://127.0.0.1:6443
    kubeconfig:
      description: Path of the exported kubeconfig; null when it does not exist.
      type: str
      sample: /home/u/.kube/kinc-dev.conf
    service_name:
      description: The systemd service Quadlet generates for the node.
      type: str
      sample: kinc-dev-control-plane.service
    container_name:
      description: The node container.
      type: str
      sample: kinc-dev-control-plane
    volumes:
      description: The cluster's volumes (node /var, node configuration).
      type: list
      elements: str
      sample: [kinc-dev-var-data, kinc-dev-config]
    quadlet_files:
      description: Paths of the cluster's Quadlet unit files.
      type: list
      elements: str
    restarted:
      description: Whether this task restarted a running cluster because its units or configuration changed.
      type: bool
    status:
      description: The node's init status when it was read (after waiting); null otherwise.
      type: dict
      contains:
        phase:
          description: V(initializing), V(ready) or V(failed).
          type: str
        steps:
          description: The init steps with name, unit, state, started, finished, duration (seconds) and message.
          type: list
          elements: dict
steps:
  description: The node's init steps when the node reported a failure or readiness timed out.
  returned: failure
  type: list
  elements: dict
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kinc.kinc.plugins.module_utils import cluster_params
from ansible_collections.kinc.kinc.plugins.module_utils import cluster_spec
from ansible_collections.kinc.kinc.plugins.module_utils import quadlet
from ansible_collections.kinc.kinc.plugins.module_utils.cluster_manager import ClusterError, ClusterManager
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import PodmanClient, PodmanError
from ansible_collections.kinc.kinc.plugins.module_utils.systemd import Systemctl, SystemdError, user_environment


def argument_spec():
    spec = dict(cluster_spec.CLUSTER_OPTIONS)
    spec.update(
        quadlet_dir=dict(type='path'),
        quadlet_units=dict(type='dict'),
        node_config=dict(type='dict'),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = dict(module.params)
    problems = cluster_spec.errors(params)
    if params['state'] == 'present' and (not params['quadlet_units'] or not params['node_config']):
        problems.append('quadlet_units and node_config are rendered by the kinc.kinc.kinc_cluster action plugin; '
                        'run the module through its action plugin (a playbook task or ansible -m kinc.kinc.kinc_cluster)')
    if problems:
        module.fail_json(msg='; '.join(problems))

    uid = os.geteuid()
    rootless = uid != 0
    if rootless:
        try:
            module.run_command_environ_update.update(user_environment(uid, os.environ))
        except SystemdError as exc:
            module.fail_json(msg=str(exc))
    params['quadlet_dir'] = params['quadlet_dir'] or quadlet.default_dir(rootless)
    params['kubeconfig_path'] = params['kubeconfig_path'] or cluster_params.default_kubeconfig_path(params['name'])
    params['user_kubeconfig'] = cluster_params.user_kubeconfig_path()

    manager = None
    try:
        manager = ClusterManager(params, PodmanClient.from_module(module), Systemctl(module.run_command, user=rootless),
                                 module.atomic_move, check_mode=module.check_mode)
        result = manager.run()
    except ClusterError as exc:
        module.fail_json(msg=str(exc), changed=manager.changed, actions=manager.actions, **exc.details)
    except (PodmanError, SystemdError, OSError) as exc:
        module.fail_json(msg=str(exc), changed=bool(manager and manager.changed),
                         actions=manager.actions if manager else [])
    if not module._diff:
        result.pop('diff')
    module.exit_json(**result)


if __name__ == '__main__':
    main()

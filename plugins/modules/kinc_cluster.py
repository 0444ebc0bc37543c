#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: kinc_cluster
short_description: Run single-container Kubernetes clusters as Quadlet units under systemd
version_added: 0.1.0
description:
  - Converges one kinc cluster (O(name) and its options) or several (O(clusters)) on the managed host, in one
    call. With O(state=present) it creates the cluster's volumes when missing, writes the node configuration
    (C(cluster.env) and, in mounted mode, C(kubeadm.conf)) into the config volume, writes the cluster's Quadlet
    units (a C(.volume) for each of its two volumes, then the C(.container) of the node), reloads systemd,
    starts the service, waits until the node reports C(ready) and exports the admin kubeconfig.
  - Several clusters are all converged and started before any is waited for; one wait then covers them all.
    A cluster that fails is named in the failure message; the others are still reported (O(clusters) result).
  - A running node is restarted only when what it was started from differs from what is wanted; the
    C(.container) unit carries a digest of the units and the node configuration as the label
    C(io.kinc.node-digest), so every container started from it carries it too. The decision does not depend
    on whether this run wrote a file, so a run interrupted between writing a unit and restarting is
    completed by the next run. Comments and blank lines are not part of the digest.
  - Every file kinc writes is created with its final mode (kubeconfigs 0600 from the first byte) and a file
    whose mode or owner was changed is repaired on the next run.
  - The Quadlet units and the node configuration are Jinja2 templates shipped with the collection
    (C(files/quadlet/), and the kubeadm template of the node image). The managed host may not have Jinja2, so
    the action plugin of the same name renders them on the controller and passes the texts to this module
    in O(quadlet_units) and O(node_config) (per cluster in O(clusters)).
  - Rootless (the module runs as a user other than root) it uses C(systemctl --user), which needs the user's
    systemd manager (lingering, which the C(kinc.kinc.kinc_host) role enables).
  - Get O(api_port), O(pod_subnet) and O(service_subnet) from M(kinc.kinc.kinc_allocate), which records the
    allocation on the cluster's volumes; options that contradict an existing allocation are refused.
author:
  - kinc developers (@kinc)
extends_documentation_fragment:
  - kinc.kinc.podman
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
      - Required unless O(clusters) is given; the other cluster options below go with it.
    type: str
  state: &state
    description:
      - V(present) writes the units and node configuration, starts (or, when what the node runs with changed,
        restarts) the service, waits for readiness (O(wait)) and exports the kubeconfig.
      - V(started) starts the service of an existing cluster and waits for it. Given O(api_port), O(pod_subnet)
        and O(service_subnet), it converges the cluster exactly like V(present).
      - V(stopped) stops the service. Given O(api_port), O(pod_subnet) and O(service_subnet), it also writes the
        units and node configuration (without starting), so a later start uses them.
      - V(absent) stops the service, removes the unit files and the container; the volumes and the
        kubeconfig are removed only with O(purge).
    type: str
    choices: [present, started, stopped, absent]
    default: present
  api_port: &api_port
    description:
      - Host port of the Kubernetes API. Required with O(state=present).
      - With other states it is read from the volume labels when omitted.
    type: int
  pod_subnet: &pod_subnet
    description: The cluster's pod network in CIDR form. Required with O(state=present).
    type: str
  service_subnet: &service_subnet
    description: The cluster's service network in CIDR form. Required with O(state=present).
    type: str
  image: &image
    description: The node image.
    type: str
    default: localhost/kinc-node:v1.37.1
  api_address: &api_address
    description: Host address the API port is published on.
    type: str
    default: 127.0.0.1
  config_mode: &config_mode
    description:
      - V(mounted) writes the full kubeadm configuration into the config volume.
      - V(baked) writes only C(cluster.env) and lets the node render its built-in default configuration.
    type: str
    choices: [mounted, baked]
    default: mounted
  kubernetes_version: &kubernetes_version
    description: Kubernetes version to pin in the node configuration, such as V(v1.33.1).
    type: str
  events: &events
    description: Capture cluster events into C(/var/log/kinc/events.jsonl) on the node (C(KINC_EVENTS)).
    type: bool
    default: false
  purge: &purge
    description: With O(state=absent), also remove the volumes (the allocation), the kubeconfig file and the
      context merged into C(~/.kube/config).
    type: bool
    default: false
  wait: &wait
    description: Wait until the node reports phase C(ready) and its initialized marker exists.
    type: bool
    default: true
  wait_timeout: &wait_timeout
    description: Seconds to wait for readiness, counted from the start of the common wait.
    type: int
    default: 600
  kubeconfig_path: &kubeconfig_path
    description:
      - Where the admin kubeconfig is written (mode 0600). Defaults to C(~/.kube/kinc-<name>.conf).
      - Refused when it is C(~/.kube/config), another cluster's default file or the path of another cluster of
        the call (a purge removes this file).
    type: path
  merge_kubeconfig: &merge_kubeconfig
    description: Also merge the context C(kinc-<name>) into C(~/.kube/config) (needs PyYAML on the managed host).
    type: bool
    default: false
  ports: &ports
    description:
      - Host ports published to ports of the node (kind's C(extraPortMappings)), one C(PublishPort=) line each
        in the node's unit, so a NodePort Service or a pod's C(hostPort) (an ingress controller) is reached from
        the host.
      - Changing them changes the unit, which restarts a running node (RV(cluster.restarted); C(--check --diff) shows the
        unit's diff and the restart).
      - This module does not check them against the host; M(kinc.kinc.kinc_allocate) does (and records them
        host-wide), as the C(kinc.kinc.kinc_cluster) role does before anything changes.
    type: list
    elements: dict
    default: []
    suboptions:
      host_port:
        description: The port on the host.
        type: int
        required: true
      node_port:
        description:
          - The port in the node, any from 1 to 65535, for example the C(nodePort) of a NodePort Service
            (30000-32767) or the C(hostPort) of a pod (80).
        type: int
        required: true
      protocol:
        description: The protocol.
        type: str
        choices: [tcp, udp]
        default: tcp
      address:
        description: The host address it is published on. Defaults to O(api_address).
        type: str
  node_labels: &node_labels
    description:
      - Labels kubelet gives the node when it registers (C(--node-labels), in the kubeadm configuration's
        InitConfiguration C(nodeRegistration.kubeletExtraArgs) as C(node-labels)), for example C(ingress-ready=true).
      - Keys and values follow Kubernetes' label syntax; kubelet may not set labels of the C(kubernetes.io) and
        C(k8s.io) namespaces except its own (C(node.kubernetes.io/), C(kubelet.kubernetes.io/) and a few more).
      - Applied on the node's first boot, like the rest of the kubeadm configuration.
    type: dict
    default: {}
  kubeadm_patches: &kubeadm_patches
    description:
      - Documents merged into the kubeadm configuration kinc renders (O(config_mode=mounted) only), like kind's
        C(kubeadmConfigPatches), each into the document of its C(kind) (and C(apiVersion) when given), one of
        C(InitConfiguration), C(ClusterConfiguration), C(KubeletConfiguration) or C(KubeProxyConfiguration).
      - Mappings are merged key by key, a null value removes a key, and any other value (lists included)
        replaces the document's.
      - Fields kinc sets for the node to work are refused (the API endpoint, node name, CRI socket,
        C(kubeletExtraArgs), cluster name, version, pod and service subnets, certificate SANs, cgroup driver and
        root, C(systemReserved), kube-proxy's C(conntrack)).
    type: list
    elements: dict
    default: []
  memory: &memory
    description:
      - Memory limit of the node container (C(podman run --memory)), e.g. V(4g); at least V(1g).
      - kubelet's allocatable memory is this limit (the node reserves the rest of the host's memory for the
        system at every start); C(kubectl describe node) shows the host's memory as capacity.
      - Needs the C(memory) cgroup controller delegated to the owner (the C(kinc.kinc.kinc_host) role does).
    type: str
  cpus: &cpus
    description:
      - CPU limit of the node container (C(podman run --cpus)), e.g. V(2) or V(1.5); at least V(0.5).
      - kubelet's allocatable CPU is this limit, as for O(memory).
      - Needs the C(cpu) cgroup controller delegated to the owner.
    type: str
  registry_port: &registry_port
    description:
      - The port of the owner's local registry (C(kinc.kinc.kinc_registry)) on the host's C(127.0.0.1), which the
        node's CRI-O pulls C(localhost:<port>/...) from over plain HTTP.
      - The node then runs on pasta with C(-T <port>), which makes that one port of the node's loopback the host's
        (no other host port is reachable), and its config volume gets C(registries.conf), a
        containers-registries.conf(5) drop-in marking C(localhost:<port>) insecure.
      - Unset, the node has neither (the registry's removal restarts the node once, as its enabling does).
    type: int
  quadlet_dir:
    description:
      - Directory of the Quadlet units (of every cluster of the call).
      - Defaults to C(~/.config/containers/systemd) rootless and C(/etc/containers/systemd) as root.
    type: path
  on_missing_image:
    description:
      - What a missing node image of a cluster about to run from new units does (C(podman image exists) per image,
        before anything changes).
      - V(fail) fails the call, naming the image and how to build or load it.
      - V(report) changes nothing and returns the images in RV(missing_images), for a caller that builds them and
        calls again (the C(kinc.kinc.kinc_cluster) role). In check mode the call goes on as if they were there.
    type: str
    choices: [fail, report]
    default: fail
  lock_timeout:
    description:
      - Seconds to wait for the host-wide allocation lock (held by a C(kinc.kinc.kinc_allocate) or
        C(kinc.kinc.kinc_cluster) run of any user) when volumes of a cluster are created or its record refreshed.
      - On a timeout the message names the process that holds the lock.
    type: int
    default: 300
  quadlet_units: &quadlet_units
    description:
      - Set by the action plugin; do not set it in a task.
      - Rendered Quadlet unit files, file name to content.
    type: dict
  node_config: &node_config
    description:
      - Set by the action plugin; do not set it in a task.
      - Rendered node configuration files for the config volume, file name to content (for a rootless node).
    type: dict
  node_config_rootful: &node_config_rootful
    description:
      - Set by the action plugin; do not set it in a task.
      - The same for a node run by root (mounted mode), used when the module runs as root.
    type: dict
  clusters:
    description:
      - Several clusters converged in one call, each a dictionary of the cluster options of this module
        (O(name), O(state), O(api_port), O(pod_subnet), O(service_subnet), O(image), O(api_address),
        O(config_mode), O(kubernetes_version), O(events), O(purge), O(wait), O(wait_timeout), O(kubeconfig_path),
        O(merge_kubeconfig), O(ports), O(node_labels), O(kubeadm_patches), O(memory), O(cpus), O(registry_port)),
        with the same meaning and defaults.
      - Mutually exclusive with O(name).
    type: list
    elements: dict
    suboptions:
      name:
        description: The cluster's name (see O(name)).
        type: str
        required: true
      state: *state
      api_port: *api_port
      pod_subnet: *pod_subnet
      service_subnet: *service_subnet
      image: *image
      api_address: *api_address
      config_mode: *config_mode
      kubernetes_version: *kubernetes_version
      events: *events
      purge: *purge
      wait: *wait
      wait_timeout: *wait_timeout
      kubeconfig_path: *kubeconfig_path
      merge_kubeconfig: *merge_kubeconfig
      ports: *ports
      node_labels: *node_labels
      kubeadm_patches: *kubeadm_patches
      memory: *memory
      cpus: *cpus
      registry_port: *registry_port
      quadlet_units: *quadlet_units
      node_config: *node_config
      node_config_rootful: *node_config_rootful
notes:
  - The kubeconfig file is written as JSON, which kubectl reads like YAML.
  - An unchanged call runs C(podman ps), C(podman volume ls), C(podman image exists) for each node image and one
    C(systemctl show) for all its clusters; a node's status, initialized marker and admin kubeconfig are read
    from its C(/var) volume on the host.
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
    api_port: "{{ kinc_dev.allocations.dev.api_port }}"
    pod_subnet: "{{ kinc_dev.allocations.dev.pod_subnet }}"
    service_subnet: "{{ kinc_dev.allocations.dev.service_subnet }}"
    merge_kubeconfig: true
  register: kinc_dev_cluster

- name: Show where its API is
  ansible.builtin.debug:
    msg: "{{ kinc_dev_cluster.cluster.api_url }} ({{ kinc_dev_cluster.cluster.kubeconfig }})"

- name: Allocate two clusters
  kinc.kinc.kinc_allocate:
    clusters: [{name: a}, {name: b}]
  register: kinc_fleet

- name: Start both, then wait for both at once
  kinc.kinc.kinc_cluster:
    clusters: "{{ kinc_fleet.clusters | map('dict2items')
      | map('selectattr', 'key', 'in', ['name', 'api_port', 'pod_subnet', 'service_subnet'])
      | map('items2dict') }}"
  register: kinc_fleet_clusters

- name: Show the clusters that changed
  ansible.builtin.debug:
    msg: "{{ kinc_fleet_clusters.clusters | selectattr('changed') | map(attribute='name') }}"

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
missing_images:
  description: The node images found missing (O(on_missing_image=report)); when not empty and not in check mode,
    nothing was done.
  returned: always
  type: list
  elements: str
  sample: ["localhost/kinc-node:v1.37.1"]
actions:
  description: What was done (or, in check mode, would be done), in order; with O(clusters) each is prefixed
    with the cluster's name.
  returned: always
  type: list
  elements: str
  sample: ["create /home/u/.config/containers/systemd/kinc-dev-control-plane.container", "start kinc-dev-control-plane.service"]
cluster:
  description: The cluster after the task (with O(name)).
  returned: success and O(name) given
  type: dict
  contains: &cluster
    name:
      description: The cluster's name.
      type: str
      sample: dev
    state:
      description: V(running), V(stopped) or V(absent).
      type: str
      sample: running
    changed:
      description: Whether this cluster changed.
      type: bool
    actions:
      description: What was done to this cluster, in order.
      type: list
      elements: str
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
      description: Whether this task restarted a running node because what it runs with changed.
      type: bool
    failed:
      description: Whether this cluster failed (the task then fails, naming it).
      type: bool
    msg:
      description: Why this cluster failed; empty when it did not.
      type: str
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
clusters:
  description: Every cluster after the task, in the order given (with O(clusters)); also on failure.
  returned: O(clusters) given
  type: list
  elements: dict
  contains: *cluster
steps:
  description: The node's init steps when the node reported a failure or readiness timed out (with O(name)).
  returned: failure
  type: list
  elements: dict
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kinc.kinc.plugins.module_utils.allocation import guard
from ansible_collections.kinc.kinc.plugins.module_utils.converge import render_values
from ansible_collections.kinc.kinc.plugins.module_utils.spec import cluster_spec
from ansible_collections.kinc.kinc.plugins.module_utils.host import cgroups
from ansible_collections.kinc.kinc.plugins.module_utils import module_base
from ansible_collections.kinc.kinc.plugins.module_utils.spec import node_settings
from ansible_collections.kinc.kinc.plugins.module_utils.converge import quadlet
from ansible_collections.kinc.kinc.plugins.module_utils.converge.call_plan import ClusterManager
from ansible_collections.kinc.kinc.plugins.module_utils.module_base import KincError
from ansible_collections.kinc.kinc.plugins.module_utils.systemd import Systemctl

# Rendered by the action plugin, per cluster.
RENDERED = dict(quadlet_units=dict(type='dict'), node_config=dict(type='dict'), node_config_rootful=dict(type='dict'))


def argument_spec():
    cluster = dict(cluster_spec.CLUSTER_OPTIONS, **RENDERED)
    spec = dict(cluster, name=dict(type='str'), quadlet_dir=dict(type='path'),
                on_missing_image=dict(type='str', choices=['fail', 'report'], default='fail'),
                lock_timeout=dict(type='int', default=guard.LOCK_TIMEOUT))
    spec['clusters'] = dict(type='list', elements='dict', options=cluster)
    return module_base.argument_spec(spec)


def cluster_params_list(params):
    """The clusters of the call as one list of option dicts (one entry with `name`)."""
    if params['clusters'] is not None:
        return [dict(entry) for entry in params['clusters']]
    return [dict((key, params[key]) for key in list(cluster_spec.CLUSTER_OPTIONS) + list(RENDERED))]


def problems(entries, many):
    found = []
    for index, entry in enumerate(entries):
        where = ('clusters[%d] (%s): ' % (index, entry.get('name'))) if many else ''
        found += [where + p for p in cluster_spec.errors(entry)]
        if entry['state'] == 'present' and (not entry['quadlet_units'] or not entry['node_config']):
            found.append(where + 'quadlet_units and node_config are rendered by the kinc.kinc.kinc_cluster action '
                         'plugin; run the module through its action plugin (a playbook task or ansible -m '
                         'kinc.kinc.kinc_cluster)')
    names = [e['name'] for e in entries]
    found += ['cluster %s is given more than once; give each cluster once' % n
              for n in sorted(set(n for n in names if names.count(n) > 1))]
    return found


def summarize(manager, many, diff):
    """The module result of the clusters converged so far."""
    results = manager.results() if manager.snapshot else []
    actions = []
    for run in manager.runs:
        actions += [('%s: %s' % (run.name, a)) if many else a for a in run.actions]
    summary = dict(changed=bool(actions), actions=actions, missing_images=sorted(manager.missing_images))
    if diff:
        summary['diff'] = [d for run in manager.runs for d in run.diff]
    if many:
        summary['clusters'] = results
    elif results:
        summary['cluster'] = results[0]
        if manager.runs[0].error and manager.runs[0].status:
            summary['steps'] = manager.runs[0].status['steps']
    return summary


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           mutually_exclusive=[('name', 'clusters')], required_one_of=[('name', 'clusters')])
    many = module.params['clusters'] is not None
    entries = cluster_params_list(module.params)
    found = problems(entries, many)
    if found:
        module.fail_json(msg='; '.join(found))
    partial = dict(changed=False, actions=[])

    def body():
        rootless = module_base.rootless_environment(module)
        quadlet_dir = module.params['quadlet_dir'] or quadlet.default_dir(rootless)
        controllers = cgroups.owner_controllers(os.geteuid())
        unlimited = [p for p in (node_settings.limits_problem(e, controllers) for e in entries
                                 if e['state'] != 'absent') if p]
        if unlimited:
            raise KincError('; '.join(unlimited))
        for entry in entries:
            if entry['quadlet_units']:
                entry['quadlet_units'] = quadlet.for_host(entry['quadlet_units'], controllers)
            rootful_config = entry.pop('node_config_rootful', None)
            if not rootless and rootful_config:
                entry['node_config'] = rootful_config
            entry['quadlet_dir'] = quadlet_dir
            entry['kubeconfig_path'] = entry['kubeconfig_path'] or render_values.default_kubeconfig_path(entry['name'])
            entry['user_kubeconfig'] = render_values.user_kubeconfig_path()
        clashes = render_values.kubeconfig_path_problems(entries)
        if clashes:
            raise KincError('; '.join(clashes))
        manager = ClusterManager(module_base.podman(module), Systemctl(module.run_command, user=rootless),
                                 check_mode=module.check_mode, on_missing_image=module.params['on_missing_image'],
                                 lock_timeout=module.params['lock_timeout'], warn=module.warn)
        try:
            runs = manager.converge(entries)
        finally:
            partial.update(summarize(manager, many, module._diff))
        failed = [run for run in runs if run.error]
        if failed and not many:
            raise KincError(failed[0].error)
        if failed:
            names = ', '.join(r.name for r in failed)
            raise KincError('clusters failed: %s; %s' % (names, '; '.join('%s: %s' % (r.name, r.error) for r in failed)))
        return partial

    module_base.run(module, body, partial)


if __name__ == '__main__':
    main()

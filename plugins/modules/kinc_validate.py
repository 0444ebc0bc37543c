#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: kinc_validate
short_description: Check a whole list of kinc clusters before anything changes
version_added: 0.1.0
author:
  - kinc developers (@kinc)
description:
  - "Checks every entry of a C(kinc_clusters) list, and the role-wide C(kinc_*) defaults, with the rules the kinc
    modules apply (the collection's one cluster spec) and reports every problem at once, each as
    C(kinc_clusters[3].api_address: <what is wrong>; fix: <what to do>)."
  - Checks types, choices, unknown keys, names (DNS-1123 labels of at most 40 characters), names declared twice,
    API ports (1 to 65535; a port forced for two present clusters), image references
    (C([registry/]name[:tag][@digest]), so no options and no C(%) specifiers reach a Quadlet unit), API addresses,
    Kubernetes versions, kubeconfig paths, timeouts, published ports (C(ports), each with host and node port 1 to
    65535, tcp or udp, an IP address; a host port given twice in a cluster, published by two present clusters on the
    same address or a wildcard, or equal to a forced API port), node labels (Kubernetes' label syntax), kubeadm
    patches (a mapping per document, of a kind kinc renders, not changing what kinc sets, in mounted mode only) and
    the C(memory) and C(cpus) limits.
  - Returns the list with the role-wide defaults applied (RV(clusters)), which role C(kinc.kinc.kinc_cluster) keeps
    as C(kinc_cluster_declared).
  - Runs on the controller only and reads no host. What depends on the host (a forced or published port held by
    another cluster or in use, the lowest port a rootless user may publish on) is checked by M(kinc.kinc.kinc_allocate)
    in check mode.
options:
  clusters:
    description: The clusters, as in the role variable C(kinc_clusters).
    type: raw
    required: true
  role_vars:
    description:
      - The role-wide defaults (C(kinc_state), C(kinc_node_image), C(kinc_config_mode), C(kinc_api_address),
        C(kinc_kubernetes_version), C(kinc_events), C(kinc_merge_kubeconfig), C(kinc_purge), C(kinc_ports),
        C(kinc_memory), C(kinc_cpus), C(kinc_base_port), C(kinc_wait_timeout)); missing ones take the role's defaults.
    type: dict
    default: {}
  field:
    description: How messages call the list.
    type: str
    default: kinc_clusters
attributes:
  action:
    description: Runs on the controller.
    support: full
  check_mode:
    description: Reads only its arguments, so it runs the same in check mode.
    support: full
  diff_mode:
    description: Changes nothing, so there is no diff.
    support: none
seealso:
  - module: kinc.kinc.kinc_allocate
  - module: kinc.kinc.kinc_cluster
'''

EXAMPLES = r'''
- name: Check the declared clusters before touching the host
  kinc.kinc.kinc_validate:
    clusters: "{{ kinc_clusters }}"
    role_vars:
      kinc_node_image: "{{ kinc_node_image }}"
  register: kinc_validated

- name: Show the clusters with their defaults applied
  ansible.builtin.debug:
    var: kinc_validated.clusters
'''

RETURN = r'''
clusters:
  description:
    - The clusters with the role-wide defaults applied and scalar types converted. C(api_port) is there only
      when the entry forces one; C(kubernetes_version), C(kubeconfig_path), C(memory) and C(cpus) are empty when
      not set.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "dev", "state": "present", "image": "localhost/kinc-node:v1.37.1", "config_mode": "mounted",
            "api_address": "127.0.0.1", "kubernetes_version": "", "events": false, "merge_kubeconfig": false,
            "kubeconfig_path": "", "purge": false, "images": [], "node_labels": {}, "kubeadm_patches": [],
            "memory": "", "cpus": ""}]
allocation_requests:
  description:
    - The clusters that are not absent, as O(kinc.kinc.kinc_allocate#module:clusters) takes them, each with the
      entry it came from as C(field), so that the allocator's messages name the entry of this list.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "dev", "api_address": "127.0.0.1", "field": "kinc_clusters[0]"}]
problems:
  description: Every problem found, each naming its field, the value and the fix.
  returned: always
  type: list
  elements: str
  sample: ["kinc_clusters[1].api_address: 'not an ip' is not a unicast IP address; fix: give the host address to
            publish the API on, such as 127.0.0.1"]
'''

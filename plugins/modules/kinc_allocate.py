#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: kinc_allocate
short_description: Allocate API ports and networks for kinc clusters, without clashes
version_added: 0.1.0
author:
  - kinc developers (@kinc)
description:
  - Gives each named kinc cluster an API port on 127.0.0.1, a pod subnet and a service subnet, and records
    the allocation on the host by creating the cluster's two volumes (C(kinc-<name>-var-data) and
    C(kinc-<name>-config)) labelled with it. Run it as the user whose rootless Podman runs the clusters.
  - The record of truth is the Podman state of that user. The labels C(io.kinc.cluster), C(io.kinc.api-port),
    C(io.kinc.pod-subnet) and C(io.kinc.service-subnet) on kinc's volumes and containers are read back, so a
    cluster that already exists always gets its own allocation back, unchanged.
  - A new cluster gets the lowest free port from O(base_port) up to O(max_port). A port is not free when
    another cluster holds it, when a TCP socket listens on it on 127.0.0.1, 0.0.0.0 or V(::), when a
    container publishes it, or when its default networks are taken.
  - Network index k gives the pod subnet 10.244.k.0/24 and the service subnet 10.k.0.0/16. Port p defaults to
    index p % 100 (6443 gives 10.244.43.0/24 and 10.43.0.0/16). The networks of an index are taken when they
    overlap another cluster's networks, a route of the host or the subnet of a Podman network (Podman's
    default network 10.88.0.0/16 takes index 88).
  - Because p % 100 repeats every 100 ports, automatic allocation skips ports whose default networks are
    taken (6543 while 6443 exists, 6488 next to 10.88.0.0/16). Only when no port up to O(max_port) has free
    default networks does it take the lowest free port with the first free extra index (100 to 255, except
    244 whose /16 holds all pod subnets), so more than 100 clusters fit on one host.
  - A forced O(clusters[].api_port) whose default networks are taken keeps its port and gets the first free
    extra index instead (then any free default index). The subnets actually given are in the labels.
  - In one request, forced ports are placed first, then the other new clusters in list order.
  - Reading the host, deciding and creating the volumes happen while holding an exclusive per-user lock
    file, so concurrent runs never hand out the same port or network.
  - Every input error (a bad name, a name listed twice, a forced port out of range, held by another cluster
    or in use, nothing free) fails before anything is changed, naming the field, the value and the fix.
options:
  name:
    description:
      - One cluster to allocate for; a DNS-1123 label of at most 40 characters.
      - Mutually exclusive with O(clusters).
    type: str
  clusters:
    description:
      - Several clusters to allocate for at once, in the order the results are returned.
      - Mutually exclusive with O(name).
    type: list
    elements: dict
    suboptions:
      name:
        description: The cluster's name; a DNS-1123 label of at most 40 characters.
        type: str
        required: true
      api_port:
        description:
          - Force this API port (1024 to 65535) for a new cluster. It must not be held by another cluster
            nor in use on the host.
          - For a cluster that already exists it must equal the port it holds.
        type: int
  base_port:
    description: The lowest port automatic allocation hands out.
    type: int
    default: 6443
  max_port:
    description: The highest port automatic allocation hands out.
    type: int
    default: 65535
  lock_path:
    description:
      - The allocation lock file.
      - Default C(/run/kinc/allocate.lock) for root, else C($XDG_RUNTIME_DIR/kinc/allocate.lock), else
        C(~/.local/state/kinc/allocate.lock).
    type: path
  lock_timeout:
    description: Seconds to wait for another run holding the allocation lock.
    type: int
    default: 300
  executable:
    description: The podman executable, a name looked up in E(PATH) or a path.
    type: str
    default: podman
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: In check mode no volume (and no lock file) is created; the allocations new clusters would get are
      returned.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
  idempotent:
    description: When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
    support: full
notes:
  - The module honours the Podman environment it runs in (for example E(CONTAINERS_STORAGE_CONF) or
    E(XDG_RUNTIME_DIR)); run it with the same user and environment as the clusters.
  - Listening sockets and routes are read from C(/proc) of the network namespace the module runs in.
seealso:
  - module: kinc.kinc.kinc_cluster
'''

EXAMPLES = r'''
- name: Allocate for one cluster
  kinc.kinc.kinc_allocate:
    name: dev
  register: dev_alloc

- name: Allocate for a fleet, one with a forced port
  kinc.kinc.kinc_allocate:
    clusters:
      - name: dev
      - name: ci
        api_port: 7443
  register: fleet

- name: Show where the ci cluster's API will be
  ansible.builtin.debug:
    msg: "https://127.0.0.1:{{ fleet.allocations.ci.api_port }}"

- name: Allocate in a private range (fails when the range is used up)
  kinc.kinc.kinc_allocate:
    name: test-1
    base_port: 20000
    max_port: 20099
'''

RETURN = r'''
clusters:
  description: One entry per requested cluster, in request order.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The cluster's name.
      type: str
      sample: dev
    api_port:
      description: The API port on 127.0.0.1.
      type: int
      sample: 6443
    pod_subnet:
      description: The pod network.
      type: str
      sample: 10.244.43.0/24
    service_subnet:
      description: The service network.
      type: str
      sample: 10.43.0.0/16
    container_name:
      description: The node container's name.
      type: str
      sample: kinc-dev-control-plane
    service_name:
      description: The systemd (user) service running the node.
      type: str
      sample: kinc-dev-control-plane.service
    volumes:
      description: The cluster's volumes, the node's /var first.
      type: list
      elements: str
      sample: [kinc-dev-var-data, kinc-dev-config]
    labels:
      description: The allocation labels carried by the volumes and the container.
      type: dict
      sample: {"io.kinc.cluster": "dev", "io.kinc.api-port": "6443", "io.kinc.pod-subnet": "10.244.43.0/24",
               "io.kinc.service-subnet": "10.43.0.0/16", "io.kinc.managed-by": "kinc.kinc"}
    existed:
      description:
        - Whether the cluster already had an allocation on the host (on a volume or its container).
        - A cluster recorded only by its container gets its missing volumes back, with the same labels.
      type: bool
      sample: false
allocations:
  description: The same entries as RV(clusters), keyed by cluster name.
  returned: success
  type: dict
  sample: {"dev": {"name": "dev", "api_port": 6443, "pod_subnet": "10.244.43.0/24", "service_subnet": "10.43.0.0/16",
                   "existed": true}}
created_volumes:
  description: Volumes created by this run (would be created, in check mode).
  returned: success
  type: list
  elements: str
  sample: [kinc-dev-var-data, kinc-dev-config]
'''

from contextlib import nullcontext

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kinc.kinc.plugins.module_utils import naming
from ansible_collections.kinc.kinc.plugins.module_utils.allocation import (
    AllocationError, Request, allocation_labels, existing_allocations, plan, validate_requests)
from ansible_collections.kinc.kinc.plugins.module_utils.allocation_host import gather_facts
from ansible_collections.kinc.kinc.plugins.module_utils.allocation_lock import (
    AllocationLock, LockTimeout, default_lock_path)
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import PodmanClient, PodmanError


def _requests(params):
    if params['name'] is not None:
        return [Request(params['name'], None, None)]
    return [Request(entry['name'], entry['api_port'], 'clusters[%d]' % position)
            for position, entry in enumerate(params['clusters'])]


def _result_entry(allocation, existed):
    return {
        'name': allocation.name,
        'api_port': allocation.api_port,
        'pod_subnet': allocation.pod_subnet,
        'service_subnet': allocation.service_subnet,
        'container_name': naming.container_name(allocation.name),
        'service_name': naming.service_name(allocation.name),
        'volumes': naming.volume_names(allocation.name),
        'labels': allocation_labels(allocation),
        'existed': existed,
    }


def _missing_volumes(decided, facts):
    """(volume, labels) to create; a foreign volume squatting a cluster's name is an error."""
    missing = []
    for allocation, _existed in decided:
        for volume in naming.volume_names(allocation.name):
            labels = facts.volume_labels.get(volume)
            if labels is None:
                missing.append((volume, allocation_labels(allocation)))
            elif labels.get(naming.LABEL_CLUSTER) != allocation.name:
                raise AllocationError("volume %s exists but is not labelled %s=%s; it is not kinc's: remove or rename "
                                      "it, or choose another cluster name"
                                      % (volume, naming.LABEL_CLUSTER, allocation.name))
    return missing


def _summary(entries):
    return dict((e['name'], dict((k, e[k]) for k in ('api_port', 'pod_subnet', 'service_subnet')))
                for e in entries)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str'),
            clusters=dict(type='list', elements='dict', options=dict(
                name=dict(type='str', required=True),
                api_port=dict(type='int'),
            )),
            base_port=dict(type='int', default=6443),
            max_port=dict(type='int', default=65535),
            lock_path=dict(type='path'),
            lock_timeout=dict(type='int', default=300),
            executable=dict(type='str', default='podman'),
        ),
        mutually_exclusive=[('name', 'clusters')],
        required_one_of=[('name', 'clusters')],
        supports_check_mode=True,
    )
    params = module.params
    requests = _requests(params)
    try:
        validate_requests(requests, params['base_port'], params['max_port'])
        client = PodmanClient.from_module(module, params['executable'])
        # Check mode records nothing, so it needs no lock (and creates no lock file).
        lock = nullcontext() if module.check_mode else AllocationLock(params['lock_path'] or default_lock_path(),
                                                                      params['lock_timeout'])
        with lock:
            facts = gather_facts(client)
            existing = existing_allocations(facts.labelled_objects)
            decided = plan(requests, existing, facts.taken_ports, facts.taken_networks,
                           params['base_port'], params['max_port'])
            missing = _missing_volumes(decided, facts)
            if not module.check_mode:
                for volume, labels in missing:
                    client.create_volume(volume, labels)
    except (AllocationError, LockTimeout, PodmanError) as exc:
        module.fail_json(msg=str(exc))

    entries = [_result_entry(allocation, existed) for allocation, existed in decided]
    result = dict(
        changed=bool(missing),
        clusters=entries,
        allocations=dict((e['name'], e) for e in entries),
        created_volumes=[volume for volume, _labels in missing],
    )
    if module._diff:
        result['diff'] = dict(before=_summary([e for e in entries if e['existed']]), after=_summary(entries))
    module.exit_json(**result)


if __name__ == '__main__':
    main()

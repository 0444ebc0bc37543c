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
  - Gives each named kinc cluster an API port, a pod subnet and a service subnet, and records the allocation
    on the host by creating the cluster's two volumes (C(kinc-<name>-var-data) and C(kinc-<name>-config))
    labelled with it. Run it as the user whose rootless Podman runs the clusters.
  - All missing volumes of a call are created by one C(podman kube play) of a PersistentVolumeClaim per volume
    (the same labelled volume as C(podman volume create --label)), so a fleet costs one podman run, not two per
    cluster.
  - The record of truth for a user's own clusters is that user's Podman state. The labels C(io.kinc.cluster),
    C(io.kinc.api-port), C(io.kinc.pod-subnet) and C(io.kinc.service-subnet) on kinc's volumes and containers are
    read back, so a cluster that already exists always gets its own allocation back, unchanged.
  - Ports and networks are host-wide. Every user's allocations are also kept in the host-wide record
    O(host_record_dir) (C(<uid>/record.json) per user), so two users never get the same port or overlapping
    networks, stopped clusters included. Reading the host, deciding, creating the volumes and writing the record
    happen under an exclusive lock on that directory. Role C(kinc.kinc.kinc_host) creates it; without it the
    module warns and falls back to a per-user lock (O(lock_path)), seeing other users' clusters only while they
    listen.
  - "Trust model of the host-wide record. Who writes what: O(host_record_dir) is root's, mode 0755; root (role
    C(kinc.kinc.kinc_host)) makes C(<uid>/) for each user it prepares, owned by that user, and only that user
    writes C(<uid>/record.json). No user can create, rename or replace anything in another user's place, so no
    one can take it or make it fail. A user without such a directory still sees the others (with a warning that
    its own clusters are not recorded)."
  - "Every other user's record is untrusted input: it is opened without following links and without blocking
    (a FIFO cannot hang the run), used only when it is a regular file of that uid of at most 64 KiB, and only
    when every entry is a cluster name with a port and one of kinc's own network pairs (10.244.k.0/24 with
    10.k.0.0/16), so no record can claim 0.0.0.0/0 or 10.0.0.0/8, and at most 32 published host ports, each a
    port, tcp or udp, and an IP address. At most the admin's per-user limit of
    entries count (root writes the number into C(<host_record_dir>/max-clusters-per-user); default 16). A
    record that fails any of this is skipped with a warning naming the file: never a hang, a traceback or a
    failure of another user's run."
  - "What a hostile local user can still do to another user's clusters: hold up to the per-user limit of
    ports and network indexes, and 32 published host ports per cluster (as their own clusters would); hold the lock (any user can open the directory and
    flock it), which makes other runs wait O(lock_timeout) and then fail with a message naming that process
    and its user; hide their own clusters from others (which only endangers their own). They cannot make
    another user's run hang, crash, take the wrong port or lose its record."
  - A port is taken when a cluster of any user holds it, when the local registry of any user
    (M(kinc.kinc.kinc_registry)) holds it, when a container publishes it, or when a TCP socket
    listens on it on the cluster's O(clusters[].api_address) or on a wildcard address (V(0.0.0.0), V(::)).
    A rootless user can only publish from the kernel's C(net.ipv4.ip_unprivileged_port_start) (1024 by
    default) up; root from 1.
  - Network index k gives the pod subnet 10.244.k.0/24 and the service subnet 10.k.0.0/16. Port p seeds
    index p % 100 (6443 gives 10.244.43.0/24 and 10.43.0.0/16). The networks of an index are taken when they
    overlap another cluster's networks, a route of the host or the subnet of a Podman network (Podman's
    default network 10.88.0.0/16 takes index 88).
  - "The rule, in order: (1) a cluster that exists keeps its allocation; (2) forced ports
    (O(clusters[].api_port)) are reserved; (3) every other new cluster, in list order, gets the lowest free
    port from O(base_port) whose seed networks are free (so ports are skipped whose seed networks are taken:
    6543 while 6443 exists, 6488 next to 10.88.0.0/16); only when no port up to O(max_port) has free seed
    networks does it take the lowest free port with the first free extra index (100 to 255, except 244 whose
    /16 holds all pod subnets), so more than 100 clusters fit on one host; (4) each forced port gets its seed
    networks when still free, else the first free extra index. So a forced port never displaces an automatic
    cluster of the same request from its seed mapping."
  - "Examples (S: the seed networks of the port, 10.244.<p % 100>.0/24 and 10.<p % 100>.0.0/16):"
  - "| already on the host | request | result |"
  - "| nothing | C([{name: a}]) | a 6443 S (10.244.43.0/24, 10.43.0.0/16) |"
  - "| nothing | C([{name: a}, {name: web-1}, {name: x, api_port: 6543}]) | a 6443 S, web-1 6444 S,
    x 6543 10.244.100.0/24 10.100.0.0/16 (6543's seed is a's) |"
  - "| nothing | C([{name: x, api_port: 6543}]) | x 6543 S (10.244.43.0/24, 10.43.0.0/16) |"
  - "| x 6543 10.244.43.0/24 | C([{name: a}]) | a 6444 S (6443's seed networks are x's) |"
  - "| dev 6443 | C([{name: dev}, {name: ci}]) | dev 6443 unchanged, ci 6444 S |"
  - "| dev 6443 | C([{name: ci, api_port: 7443}]) | ci 7443 10.244.100.0/24 10.100.0.0/16 |"
  - "| a listener on 127.0.0.1:6443 or 0.0.0.0:6443 | C([{name: a}]) | a 6444 S |"
  - "| a listener on 127.0.0.2:6443 | C([{name: a}]) | a 6443 S (127.0.0.1 is free) |"
  - "| a listener on 127.0.0.2:6443 | C([{name: a, api_address: 127.0.0.2}]) | a 6444 S |"
  - "| another user's cluster on 6443, stopped | C([{name: a}]) | a 6444 S |"
  - "| Podman network 10.88.0.0/16 | C([{name: n1}, {name: n2}]), O(base_port=6487) | n1 6487 S, n2 6489 S |"
  - Every input error (a bad name, a name listed twice, a forced port out of range, held by another cluster
    or in use, nothing free) fails before anything is changed, naming the field, the value and the fix.
  - In check mode nothing is locked or written; when Podman is not installed yet (a fresh host, before
    C(kinc.kinc.kinc_host)) or the user never used it (no Podman storage), no cluster can exist, Podman is not
    asked (asking would create its storage), and only the listening sockets and the host-wide record are checked.
    So a playbook can check a whole inventory against the host before it changes anything.
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
          - Force this API port for a new cluster (1 to 65535 as root; rootless from
            C(net.ipv4.ip_unprivileged_port_start)). It must not be held by another cluster nor in use on the host.
          - For a cluster that already exists it must equal the port it holds.
        type: int
      api_address:
        description: The host address the cluster publishes its API on; listeners there (or on a wildcard) take a port.
        type: str
        default: 127.0.0.1
      ports:
        description:
          - The host ports the cluster publishes (M(kinc.kinc.kinc_cluster)'s O(kinc.kinc.kinc_cluster#module:ports)).
          - Each is refused when it is below the user's lowest port, a TCP port that is the API port of any
            cluster, published by another cluster of any user (stopped ones included) or a local registry of any
            user (M(kinc.kinc.kinc_registry), on 127.0.0.1) on the same address or a wildcard, or, when the
            cluster does not publish it yet, published by a container or (TCP) listened on at its address or a
            wildcard (for UDP, a bound socket). No API port is allocated on a published TCP host port.
          - They are recorded in the host-wide record with the cluster's allocation, so other users see them.
          - Left out, the ports the record holds for the cluster stay as they are.
        type: list
        elements: dict
        suboptions:
          host_port:
            description: The port on the host.
            type: int
            required: true
          node_port:
            description: The port in the node (not checked against the host).
            type: int
            required: true
          protocol:
            description: The protocol.
            type: str
            choices: [tcp, udp]
            default: tcp
          address:
            description: The host address it is published on. Defaults to O(clusters[].api_address).
            type: str
      field:
        description:
          - How messages name this entry, for example C(kinc_clusters[3]) when the list came from an inventory.
          - Default C(clusters[<index>]).
        type: str
  api_address:
    description: O(clusters[].api_address) of the cluster given by O(name).
    type: str
    default: 127.0.0.1
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
      - The per-user allocation lock file, used only when O(host_record_dir) is missing.
      - Default C(/run/kinc/allocate.lock) for root, else C($XDG_RUNTIME_DIR/kinc/allocate.lock), else
        C(~/.local/state/kinc/allocate.lock).
    type: path
  host_record_dir:
    description:
      - The host-wide allocation record and lock, a directory of mode 0755 owned by root with a directory
        C(<uid>) of each user, theirs, that role C(kinc.kinc.kinc_host) creates.
    type: path
    default: /var/lib/kinc/allocations
  lock_timeout:
    description: Seconds to wait for another run holding the allocation lock; the failure names the holder.
    type: int
    default: 300
extends_documentation_fragment:
  - kinc.kinc.podman
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: In check mode no volume, record or lock file is created; the allocations new clusters would get are
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

- name: Check a whole inventory against the host before anything changes
  kinc.kinc.kinc_allocate:
    clusters:
      - name: dev
      - name: lan
        api_address: 192.0.2.10
        api_port: 8443
  check_mode: true

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
    ports:
      description: The host ports the cluster publishes, as recorded (or to be recorded) host-wide.
      type: list
      elements: dict
      sample: [{"host_port": 8080, "protocol": "tcp", "address": "127.0.0.1"}]
    ports_changed:
      description: Whether the cluster's published host ports differ from the host-wide record (then it is rewritten).
      type: bool
      sample: false
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
host_record:
  description:
    - The host-wide record file of this user; null when O(host_record_dir) is missing (per-user lock) or has no
      directory of this user.
  returned: success
  type: str
  sample: /var/lib/kinc/allocations/1000/record.json
registry_port:
  description:
    - The port of this user's local registry (M(kinc.kinc.kinc_registry)) as its volume records it; null when the
      user has no registry volume. The C(kinc.kinc.kinc_cluster) role runs M(kinc.kinc.kinc_registry) only when
      C(kinc_registry) is true or this is set, so an unchanged run without a registry costs no module run for it.
  returned: success
  type: int
  sample: 5000
'''

import os
import pwd
from contextlib import nullcontext

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kinc.kinc.plugins.module_utils.allocation import published_ports
from ansible_collections.kinc.kinc.plugins.module_utils.allocation import ledger
from ansible_collections.kinc.kinc.plugins.module_utils.spec import cluster_spec
from ansible_collections.kinc.kinc.plugins.module_utils import module_base
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming
from ansible_collections.kinc.kinc.plugins.module_utils.converge import registry
from ansible_collections.kinc.kinc.plugins.module_utils.allocation.allocator import (
    AllocationError, Request, allocation_labels, existing_allocations, plan, validate_requests)
from ansible_collections.kinc.kinc.plugins.module_utils.allocation.host_facts import gather_facts
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import PodmanNotFound

OPTIONS = dict(
    name=dict(type='str'),
    api_address=dict(type='str', default=cluster_spec.DEFAULT_API_ADDRESS),
    clusters=dict(type='list', elements='dict', options=dict(
        name=dict(type='str', required=True),
        api_port=dict(type='int'),
        api_address=dict(type='str', default=cluster_spec.DEFAULT_API_ADDRESS),
        field=dict(type='str'),
        # No default: left out, the ports the host-wide record holds for the cluster stay.
        ports=dict((k, v) for k, v in cluster_spec.CLUSTER_OPTIONS['ports'].items() if k != 'default'),
    )),
    base_port=dict(type='int', default=cluster_spec.DEFAULT_BASE_PORT),
    max_port=dict(type='int', default=cluster_spec.MAX_PORT),
    lock_path=dict(type='path'),
    lock_timeout=dict(type='int', default=300),
    host_record_dir=dict(type='path', default=ledger.HOST_RECORD_DIR),
)


def _requests(params):
    """([Request], [problem]) of the call."""
    if params['name'] is not None:
        return [Request(params['name'], None, None, params['api_address'], None)], []
    requests, found = [], []
    for position, entry in enumerate(params['clusters']):
        field = entry['field'] or 'clusters[%d]' % position
        ports = None
        if entry['ports'] is not None:
            mappings, problems = cluster_spec.published_ports(entry['ports'], entry['api_address'], field + '.ports')
            found += problems
            ports = published_ports.host_ports(mappings)
        requests.append(Request(entry['name'], entry['api_port'], field, entry['api_address'], ports))
    return requests, found


def _port_problems(wanted, decided, existing, others, held, facts, lowest):
    """Every problem of the requested host ports against every cluster of any user and the host."""
    api_ports = dict((a.api_port, 'cluster %r' % a.name) for a in existing.values())
    api_ports.update((a.api_port, 'cluster %r' % a.name) for a, _existed in decided)
    for holder, allocation in others:
        api_ports.setdefault(allocation.api_port, holder)
    return published_ports.problems(wanted, held, api_ports, facts.published,
                                    dict(tcp=facts.listeners, udp=facts.udp_listeners), lowest)


def _port_list(ports):
    return [dict(host_port=p.host_port, protocol=p.protocol, address=p.address) for p in ports]


def _result_entry(allocation, existed, ports, ports_changed):
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
        'ports': _port_list(ports),
        'ports_changed': ports_changed,
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
                raise AllocationError("volume %s exists but is not labelled %s=%s, so it is not kinc's; fix: remove "
                                      "or rename it, or choose another cluster name"
                                      % (volume, naming.LABEL_CLUSTER, allocation.name))
    return missing


def _summary(entries):
    # Published ports only where there are any: most clusters have none.
    return dict((e['name'], dict((k, e[k]) for k in ('api_port', 'pod_subnet', 'service_subnet', 'ports') if e[k]))
                for e in entries)


def _no_store_yet():
    """A rootless user who never ran Podman has no storage, so no cluster; asking Podman would create it."""
    if os.geteuid() == 0 or os.environ.get('CONTAINERS_STORAGE_CONF'):
        return False
    home = os.environ.get('HOME') or pwd.getpwuid(os.geteuid()).pw_dir
    data_home = os.environ.get('XDG_DATA_HOME') or os.path.join(home, '.local', 'share')
    return not (os.path.exists(os.path.join(data_home, 'containers'))
                or os.path.exists(os.path.join(home, '.config', 'containers', 'storage.conf')))


def _client(module):
    if module.check_mode and _no_store_yet():
        return None
    try:
        return module_base.podman(module)
    except PodmanNotFound as exc:
        if not module.check_mode:
            raise
        module.warn('%s; no kinc cluster can exist yet, so only listening sockets and the host-wide record were '
                    'checked' % exc)
        return None


def allocate(module):
    params = module.params
    requests, found = _requests(params)
    uid = os.geteuid()
    lowest = cluster_spec.lowest_port(uid != 0, cluster_spec.read_unprivileged_port_start())
    if found:
        raise AllocationError(' '.join('(%d) %s' % (n, text) for n, text in enumerate(found, 1)))
    validate_requests(requests, params['base_port'], params['max_port'], lowest)
    # Before lingering (check mode on a fresh host) Podman is reached without the user's manager.
    module_base.rootless_environment(module, required=False, warn=not module.check_mode)
    client = _client(module)
    record_dir = params['host_record_dir']
    unusable = ledger.unusable_reason(record_dir)
    # Before kinc_host has run (check mode) the directory may not exist yet; the run after kinc_host warns.
    if unusable and not (module.check_mode and not os.path.exists(record_dir)):
        module.warn('the host-wide allocation record is unusable (%s), so clusters of other users that are stopped '
                    'are not seen; fix: run role kinc.kinc.kinc_host, which creates it' % unusable)
    own_place = unusable or ledger.own_place_reason(record_dir, uid)
    if own_place and not unusable and not module.check_mode:
        module.warn('the clusters of uid %d are not in the host-wide allocation record (%s), so other users do not '
                    'see them while they are stopped; fix: run role kinc.kinc.kinc_host with kinc_user set to this '
                    'user, which creates that directory as root' % (uid, own_place))
    lock = nullcontext() if module.check_mode else ledger.allocation_lock(
        params['lock_timeout'], record_dir, params['lock_path'])
    with lock:
        own_ports = ({} if own_place else ledger.read_own_ports(record_dir, uid)) or {}
        wanted = [(r.name, '%s.ports' % r.field, r.ports) for r in requests if r.ports]
        # A host port new to its cluster is checked against containers and listeners: read everything.
        facts = gather_facts(client, names=None if published_ports.new_ports(wanted, own_ports)
                             else [r.name for r in requests])
        existing = existing_allocations(facts.labelled_objects)
        others, others_ports, warnings = (([], [], []) if unusable
                                          else ledger.others_with_ports(record_dir, uid))
        registries, more = ([], []) if unusable else ledger.registry_ports(record_dir, uid)
        for warning in warnings + more:
            module.warn(warning)
        held = others_ports + [published_ports.HeldPort('cluster %r' % name, name, port)
                               for name, ports in own_ports.items() for port in ports]
        # The local registries (kinc_registry) of every user hold their ports, running or not.
        own_registry = registry.recorded_port(facts.volume_labels.get(registry.VOLUME))
        taken = set(facts.taken_ports) | set(port for _holder, port in registries) | set([own_registry] if own_registry else [])
        decided = plan(requests, existing, taken, facts.taken_networks, params['base_port'],
                       params['max_port'], listeners=facts.listeners, lowest_port=lowest, others=others,
                       published=[(h.holder + ' (a published port)', h.port.host_port) for h in held
                                  if h.port.protocol == 'tcp'])
        # ...and no cluster publishes one of them.
        registry_ports = list(registries) + (
            [('the local registry of this user', own_registry)] if own_registry else [])
        problems = _port_problems(wanted, decided, existing, others, held + [
            published_ports.HeldPort(holder, None, published_ports.HostPort(port, 'tcp', registry.ADDRESS))
            for holder, port in registry_ports], facts, lowest)
        if problems:
            raise AllocationError(problems[0] if len(problems) == 1 else
                                  ' '.join('(%d) %s' % (n, text) for n, text in enumerate(problems, 1)))
        missing = _missing_volumes(decided, facts)
        ports = dict((name, ports) for name, ports in own_ports.items() if name in existing)
        ports.update((r.name, r.ports) for r in requests if r.ports is not None)
        recorded = False
        if not module.check_mode:
            client.create_volumes(missing)
            if not own_place:
                mine = dict(existing)
                mine.update((a.name, a) for a, _existed in decided)
                recorded = ledger.write(record_dir, uid, mine, ports)

    entries = [_result_entry(allocation, existed, ports.get(allocation.name, ()),
                             not own_place and set(ports.get(allocation.name, ()))
                             != set(own_ports.get(allocation.name, ())))
               for allocation, existed in decided]
    result = dict(
        # In check mode a changed port is what the record would change.
        changed=bool(missing) or recorded or (module.check_mode and any(e['ports_changed'] for e in entries)),
        clusters=entries,
        allocations=dict((e['name'], e) for e in entries),
        created_volumes=[volume for volume, _labels in missing],
        host_record=None if own_place else ledger.record_path(record_dir, uid),
        registry_port=own_registry,
    )
    if module._diff:
        before = [dict(e, ports=_port_list(own_ports.get(e['name'], ()))) for e in entries if e['existed']]
        result['diff'] = dict(before=_summary(before), after=_summary(entries))
    return result


def main():
    module = AnsibleModule(
        argument_spec=module_base.argument_spec(OPTIONS),
        mutually_exclusive=[('name', 'clusters')],
        required_one_of=[('name', 'clusters')],
        supports_check_mode=True,
    )
    module_base.run(module, lambda: allocate(module))


if __name__ == '__main__':
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: kinc_registry
short_description: Run the owner's local image registry, shared by all of that user's kinc clusters
version_added: 0.1.0
author:
  - kinc developers (@kinc)
description:
  - Runs one image registry per user as the Quadlet unit C(kinc-registry.container) (service
    C(kinc-registry.service), started with the user's systemd manager), its data on the volume C(kinc-registry)
    (unit C(kinc-registry.volume)). It listens on C(127.0.0.1:<port>) of the host only, over plain HTTP without
    authentication.
  - "Use: C(podman push localhost:<port>/app:dev) on the host, C(image: localhost:<port>/app:dev) in a pod.
    Pass RV(port) to M(kinc.kinc.kinc_cluster) as O(kinc.kinc.kinc_cluster#module:registry_port) (the
    C(kinc.kinc.kinc_cluster) role does with C(kinc_registry: true)); the node then reaches the registry as
    C(localhost:<port>) too, and its CRI-O pulls from it."
  - "The port is allocated host-wide like the clusters' API ports: the port the volume's label
    C(io.kinc.registry-port) records is kept; else the lowest port from O(base_port) (or O(port), checked) that
    no cluster of any user holds (their labels and the host-wide record of role C(kinc.kinc.kinc_host)), no
    container publishes and no socket listens on (on 127.0.0.1 or a wildcard address), from the host's
    C(net.ipv4.ip_unprivileged_port_start) up for a rootless user, and no other user's registry holds. The choice,
    the volume's creation and the record (C(<host_record_dir>/<uid>/registry.json), read by every user's
    M(kinc.kinc.kinc_allocate) and M(kinc.kinc.kinc_registry) as untrusted input) happen under the host-wide
    allocation lock. Without a usable record (no role C(kinc.kinc.kinc_host)) another user's registry is seen only
    while it listens."
  - The nodes reach it through pasta's port forwarding (C(-T <port>)), so the host needs pasta (package passt).
  - The owner's Podman gets the containers-registries.conf(5) drop-in C(50-kinc-registry.conf) in
    C(~/.config/containers/registries.conf.d) (root C(/etc/containers/registries.conf.d)) that marks
    C(localhost:<port>) insecure (plain HTTP), so C(podman push) needs no C(--tls-verify=false); the nodes get the
    same one. A file of that name kinc did not write is never overwritten (the module fails naming it).
  - With O(state=absent) the service stops and its units and the drop-in are removed; the volume, and so the
    images, stay unless O(purge=true).
options:
  state:
    description: Whether the registry runs (V(present)) or is removed (V(absent)).
    type: str
    choices: [present, absent]
    default: present
  image:
    description:
      - The registry image; any registry speaking the OCI distribution API on port 5000 with its data under
        C(/var/lib/registry), as the upstream image does. A missing image is pulled when the service starts.
    type: str
    default: docker.io/library/registry:3
  port:
    description:
      - Force this host port for a new registry. For a registry that exists it must equal RV(port).
    type: int
  base_port:
    description: The lowest port automatic allocation hands out.
    type: int
    default: 5000
  purge:
    description: With O(state=absent), also remove the volume C(kinc-registry), that is every pushed image.
    type: bool
    default: false
  quadlet_dir:
    description:
      - Directory of the Quadlet units.
      - Defaults to C(~/.config/containers/systemd) rootless and C(/etc/containers/systemd) as root.
    type: path
  host_record_dir:
    description: The host-wide allocation record and lock (see M(kinc.kinc.kinc_allocate)).
    type: path
    default: /var/lib/kinc/allocations
  lock_timeout:
    description: Seconds to wait for the host-wide allocation lock; the failure names the holder.
    type: int
    default: 300
extends_documentation_fragment:
  - kinc.kinc.podman
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: In check mode nothing is locked, created or started; the port a new registry would get is returned.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
  idempotent:
    description: When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
    support: full
seealso:
  - module: kinc.kinc.kinc_cluster
  - module: kinc.kinc.kinc_allocate
'''

EXAMPLES = r'''
- name: Run my local registry
  kinc.kinc.kinc_registry:
  register: registry

- name: Push an image to it
  ansible.builtin.command:
    argv: [podman, push, "localhost:{{ registry.port }}/app:dev"]

- name: Remove it and every image in it
  kinc.kinc.kinc_registry:
    state: absent
    purge: true
'''

RETURN = r'''
port:
  description: The registry's port on 127.0.0.1; null when there is none (O(state=absent)).
  returned: success
  type: int
  sample: 5000
service_name:
  description: The systemd (user) service running the registry.
  returned: success
  type: str
  sample: kinc-registry.service
volume:
  description: The volume holding the registry's data.
  returned: success
  type: str
  sample: kinc-registry
actions:
  description: What this run did (would do, in check mode), in order.
  returned: success
  type: list
  elements: str
  sample: ["created volume kinc-registry (port 5000)", "wrote kinc-registry.volume", "wrote kinc-registry.container",
           "started kinc-registry.service"]
'''

import os
import pwd
from contextlib import nullcontext

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kinc.kinc.plugins.module_utils.allocation import ledger
from ansible_collections.kinc.kinc.plugins.module_utils.spec import cluster_spec
from ansible_collections.kinc.kinc.plugins.module_utils import files
from ansible_collections.kinc.kinc.plugins.module_utils import module_base
from ansible_collections.kinc.kinc.plugins.module_utils.converge import quadlet
from ansible_collections.kinc.kinc.plugins.module_utils.converge import registry
from ansible_collections.kinc.kinc.plugins.module_utils.allocation.allocator import AllocationError, existing_allocations
from ansible_collections.kinc.kinc.plugins.module_utils.allocation.host_facts import gather_facts
from ansible_collections.kinc.kinc.plugins.module_utils.systemd import Systemctl

OPTIONS = dict(
    state=dict(type='str', default='present', choices=['present', 'absent']),
    image=dict(type='str', default=registry.DEFAULT_IMAGE),
    port=dict(type='int'),
    base_port=dict(type='int', default=registry.DEFAULT_BASE_PORT),
    purge=dict(type='bool', default=False),
    quadlet_dir=dict(type='path'),
    host_record_dir=dict(type='path', default=ledger.HOST_RECORD_DIR),
    lock_timeout=dict(type='int', default=300),
)


def _held_ports(module, facts, record_dir):
    """{port: holder} of every cluster of this user (labels) and of the others, the TCP ports the others' clusters
    publish, running or not, and the other users' registries (the host-wide record). This user's clusters publish
    theirs through their containers (facts.taken_ports, stopped ones included)."""
    held = dict((a.api_port, "cluster %r" % a.name)
                for a in existing_allocations(facts.labelled_objects).values())
    if ledger.unusable_reason(record_dir) is None:
        others, others_ports, warnings = ledger.others_with_ports(record_dir, os.geteuid())
        registries, more = ledger.registry_ports(record_dir, os.geteuid())
        for warning in warnings + more:
            module.warn(warning)
        for holder, allocation in others:
            held.setdefault(allocation.api_port, holder)
        for held_port in others_ports:
            if held_port.port.protocol == 'tcp':
                held.setdefault(held_port.port.host_port, held_port.holder + ' (a published port)')
        for holder, port in registries:
            held.setdefault(port, holder)
    return held


def _recordable(record_dir):
    return (ledger.unusable_reason(record_dir) is None
            and ledger.own_place_reason(record_dir, os.geteuid()) is None)


def _place(module, client, current):
    """The registry's port: `current` (the volume's label) or a new one, its volume created under the lock."""
    params = module.params
    lowest = cluster_spec.lowest_port(os.geteuid() != 0, cluster_spec.read_unprivileged_port_start())
    if current is not None:
        if params['port'] not in (None, current):
            raise AllocationError(cluster_spec.problem(
                'port', '%d differs from port %d the registry holds' % (params['port'], current),
                'leave port out (or set it to %d), or remove the registry with state=absent purge=true first'
                % current))
        return current, []
    error = cluster_spec.port_error(params['base_port'], 'base_port', lowest)
    if error:
        raise AllocationError(error)
    lock = ledger.allocation_lock(params['lock_timeout'], params['host_record_dir'],
                                  hint="raise kinc.kinc.kinc_registry's lock_timeout")
    with lock if not module.check_mode else nullcontext():
        facts = gather_facts(client)
        held = _held_ports(module, facts, params['host_record_dir'])
        taken, listeners = facts.taken_ports, facts.listeners
        if params['port'] is not None:
            error = registry.check_forced(params['port'], held, taken, listeners, lowest)
            if error:
                raise AllocationError(error)
            port = params['port']
        else:
            port = registry.choose_port(held, taken, listeners, params['base_port'], lowest)
        if not module.check_mode:
            client.create_volumes([(registry.VOLUME, registry.labels(port))])
        recorded = _record(module, port)
    return port, ['created volume %s (port %d)' % (registry.VOLUME, port)] + (
        ['recorded port %d in the host-wide record' % port] if recorded else [])


def _record(module, port):
    """Keep the host-wide record of this user's registry port in line (None: no registry volume); whether it
    changed. Without a usable record other users see the registry only while it listens."""
    record_dir = module.params['host_record_dir']
    if not _recordable(record_dir):
        return False
    if module.check_mode:
        return ledger.registry_port(record_dir, os.geteuid()) != port
    return ledger.write_registry(record_dir, os.geteuid(), port)


def _drop_in_dir(rootless):
    """The owner's registries.conf.d; refused, before anything changes, when a file of kinc's drop-in name there is
    not kinc's (it is never touched)."""
    directory = registry.host_drop_in_dir(rootless, os.environ.get('HOME') or pwd.getpwuid(os.geteuid()).pw_dir)
    path = os.path.join(directory, registry.DROP_IN)
    if registry.foreign_drop_in(files.read_text(path)):
        raise AllocationError('%s exists and kinc did not write it; fix: move it away, kinc writes its own there '
                              '(plain HTTP for localhost:<port>)' % path)
    return directory


def _drop_in(directory, port):
    """FileChanges of the owner's drop-in in `directory`: written for `port`, removed for None."""
    if port is None:
        return files.plan_removal(directory, [registry.DROP_IN])
    return files.changed(files.plan(directory, [(registry.DROP_IN, registry.registries_conf(port))],
                                    registry.DROP_IN_MODE))


def _remove(module, client, systemctl, directory, volume, drop_in_dir):
    actions = []
    removals = files.plan_removal(directory, reversed(registry.UNIT_FILES)) + _drop_in(drop_in_dir, None)
    running = systemctl.active_state(registry.SERVICE) not in ('inactive', 'failed')
    if running:
        actions.append('stopped %s' % registry.SERVICE)
    actions += ['removed %s' % change.name for change in removals]
    if module.params['purge'] and volume is not None:
        actions.append('removed volume %s' % registry.VOLUME)
    if not module.check_mode:
        if running:
            systemctl.stop(registry.SERVICE)
        for change in removals:
            files.apply(change)
        if removals:
            systemctl.daemon_reload()
        if module.params['purge'] and volume is not None:
            client.remove_volume(registry.VOLUME)
    # The port stays the registry's while its volume does.
    if (module.params['purge'] or volume is None) and _record(module, None):
        actions.append('removed the port from the host-wide record')
    return None, actions, removals


def converge(module):
    params = module.params
    rootless = module_base.rootless_environment(module)
    client = module_base.podman(module)
    systemctl = Systemctl(module.run_command, user=rootless)
    directory = params['quadlet_dir'] or quadlet.default_dir(rootless)
    volume = client.volume(registry.VOLUME)
    current = registry.recorded_port(volume.labels) if volume is not None else None
    if volume is not None and current is None:
        raise AllocationError("volume %s exists but has no %s label, so it is not kinc's; fix: remove or "
                              "rename it" % (registry.VOLUME, registry.LABEL_PORT))
    drop_in_dir = _drop_in_dir(rootless)
    if params['state'] == 'absent':
        port, actions, changes = _remove(module, client, systemctl, directory, volume, drop_in_dir)
    else:
        error = cluster_spec.image_error(params['image'])
        if error:
            raise AllocationError(error)
        if not module.get_bin_path('pasta'):
            raise AllocationError('pasta is not installed: the nodes reach the registry through its port '
                                  'forwarding; fix: install the passt package')
        port, actions = _place(module, client, current)
        # A registry of an earlier run without a usable record, or whose record was lost.
        if current is not None and _record(module, port):
            actions.append('recorded port %d in the host-wide record' % port)
        units = files.changed(quadlet.plan(directory, registry.UNIT_FILES, registry.render_units(params['image'], port)))
        changes = units + _drop_in(drop_in_dir, port)
        actions += ['wrote %s' % change.name for change in changes]
        state = systemctl.active_state(registry.SERVICE)
        verb = 'restarted' if units and state == 'active' else 'started' if state != 'active' else None
        if verb:
            actions.append('%s %s' % (verb, registry.SERVICE))
        if not module.check_mode:
            for change in changes:
                files.apply(change, quadlet.DIR_MODE)
            if units:
                systemctl.daemon_reload()
            if verb == 'restarted':
                systemctl.restart(registry.SERVICE)
            elif verb:
                systemctl.reset_failed(registry.SERVICE)
                systemctl.start(registry.SERVICE)
    result = dict(changed=bool(actions), port=port, service_name=registry.SERVICE, volume=registry.VOLUME,
                  actions=actions)
    if module._diff:
        result['diff'] = files.diffs(changes)
    return result


def main():
    module = AnsibleModule(argument_spec=module_base.argument_spec(OPTIONS), supports_check_mode=True)
    module_base.run(module, lambda: converge(module))


if __name__ == '__main__':
    main()

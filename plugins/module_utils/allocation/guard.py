# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Allocation changes made outside kinc_allocate, under the same lock: kinc_cluster creating a cluster's
labelled volumes from an allocation kinc_allocate planned (the role's check-mode call) or recorded before, and
bringing the host-wide record back in line with the labels (after a purge or a kill)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
from contextlib import nullcontext

from ansible_collections.kinc.kinc.plugins.module_utils.allocation import ledger
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming
from ansible_collections.kinc.kinc.plugins.module_utils.allocation.allocator import (
    AllocationError, allocation_labels, existing_allocations)
from ansible_collections.kinc.kinc.plugins.module_utils.allocation.host_facts import labelled_objects

# Seconds kinc_cluster waits by default for the allocation lock that a run of any user may hold.
LOCK_TIMEOUT = 300
LOCK_HINT = "raise kinc.kinc.kinc_cluster's lock_timeout"


def _labelled(client):
    volumes = client.volumes()
    return dict((v.name, v.labels) for v in volumes), existing_allocations(labelled_objects(volumes, client.containers()))


def _overlap(a, b):
    nets = [ipaddress.ip_network(n) for n in (a.pod_subnet, a.service_subnet)]
    return any(n.overlaps(ipaddress.ip_network(m)) for n in nets for m in (b.pod_subnet, b.service_subnet))


def _clash(allocation, holders):
    for holder, other in holders:
        if other.api_port == allocation.api_port:
            return '%d is held by %s' % (allocation.api_port, holder)
        if _overlap(allocation, other):
            return '%s/%s overlap the networks of %s' % (allocation.pod_subnet, allocation.service_subnet, holder)
    return None


def ensure_volumes(client, allocation, lock_timeout, check_mode=False, record_dir=ledger.HOST_RECORD_DIR,
                   warn=None):
    """Create `allocation`'s missing labelled volumes while holding the allocation lock; returns their names.

    The lock makes the planned allocation final: nothing else allocates while the labels are written.

    Refused (AllocationError) when another cluster of this user or of any other user holds its port or
    networks meanwhile; the user's host-wide record is refreshed. `warn(text)` gets the records skipped."""
    uid = os.geteuid()
    lock = ledger.allocation_lock(lock_timeout, record_dir, hint=LOCK_HINT)
    with lock if not check_mode else nullcontext():
        volume_labels, mine = _labelled(client)
        known = mine.get(allocation.name)
        if known is not None and known != allocation:
            raise AllocationError('cluster %r holds %d %s %s, not %d %s %s; fix: take api_port, pod_subnet and '
                                  'service_subnet from kinc.kinc.kinc_allocate'
                                  % (allocation.name, known.api_port, known.pod_subnet, known.service_subnet,
                                     allocation.api_port, allocation.pod_subnet, allocation.service_subnet))
        usable = ledger.unusable_reason(record_dir) is None
        holders = [("cluster %r" % a.name, a) for a in mine.values() if a.name != allocation.name]
        others, warnings = ledger.others(record_dir, uid) if usable else ([], [])
        for warning in warnings if warn else ():
            warn(warning)
        holders += others
        clash = None if known else _clash(allocation, holders)
        if clash:
            raise AllocationError('cluster %r cannot create its volumes: api_port/networks %s since they were '
                                  'allocated; fix: allocate again with kinc.kinc.kinc_allocate (the kinc.kinc.kinc_cluster '
                                  'role does on its next run)' % (allocation.name, clash))
        missing = [v for v in naming.volume_names(allocation.name) if v not in volume_labels]
        if not check_mode:
            client.create_volumes([(volume, allocation_labels(allocation)) for volume in missing])
            if usable and ledger.own_place_reason(record_dir, uid) is None:
                mine[allocation.name] = allocation
                ledger.write(record_dir, uid, mine)
        return missing


def refresh(client, volumes, lock_timeout, record_dir=ledger.HOST_RECORD_DIR):
    """Bring this user's host-wide record in line with its labels (after a purge, or a run killed between
    creating volumes and writing the record); returns whether it was rewritten.

    `volumes` are the volumes this run last saw: when the record already says what their labels say, nothing
    is read or locked; otherwise the labels are read again under the lock."""
    if (ledger.unusable_reason(record_dir) is not None
            or ledger.own_place_reason(record_dir, os.geteuid()) is not None):
        return False
    if ledger.read_own(record_dir, os.geteuid()) == existing_allocations(labelled_objects(volumes)):
        return False
    with ledger.allocation_lock(lock_timeout, record_dir, hint=LOCK_HINT):
        return ledger.write(record_dir, os.geteuid(), _labelled(client)[1])

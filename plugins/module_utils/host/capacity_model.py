# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How many more kinc clusters a host can run for one user, and which resource runs out first (pure).

Each resource has a limit, what is in use now and what one more cluster costs. Costs are the figures kinc
already sizes by (kinc_host's sysctls_per_cluster and tasks_per_cluster) plus a memory figure per cluster.

Counted against what will be in force after kinc_host's fixes: a limit kinc raises (the sysctls it persists,
the TasksMax of its own drop-in) counts as raised to what kinc sizes for the clusters (never beyond
owned_files.MAX_SIZED_CLUSTERS); a limit kinc does not raise (memory, a TasksMax an owner's drop-in sets after
kinc's) counts as it is. So a refusal names only what kinc cannot fix.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

from ansible_collections.kinc.kinc.plugins.module_utils.allocation.allocator import DEFAULT_INDEXES, EXTRA_INDEXES
from ansible_collections.kinc.kinc.plugins.module_utils.host.owned_files import MAX_SIZED_CLUSTERS

# The pod and service network pairs kinc allocates (the allocator's indexes), host-wide: one per cluster of any
# user, an absent cluster without purge included (its allocation stays). Routes and Podman networks that overlap
# one take it too, which kinc_allocate sees when it allocates: this is the most the host can have.
NETWORK_PAIRS = len(DEFAULT_INDEXES) + len(EXTRA_INDEXES)

# Never counts further than this many more clusters (a resource with room for more reports this many).
MAX_COUNTED = 1000

# name: the resource; limit: in force (None: unlimited); used: now; per_cluster: one cluster's cost (0: not
# counted); sizing: None when kinc never raises the limit, else (base, per_cluster, clusters) — kinc raises it to
# base + per_cluster * min(clusters + new, MAX_SIZED_CLUSTERS); unit, fix: for the message.
Resource = namedtuple('Resource', ['name', 'limit', 'used', 'per_cluster', 'sizing', 'unit', 'fix'])


def limit_after_fixes(resource, new):
    """The resource's limit once kinc_host has sized the host for `new` more clusters."""
    if resource.limit is None or resource.sizing is None:
        return resource.limit
    base, per_cluster, clusters = resource.sizing
    return max(resource.limit, base + per_cluster * min(clusters + new, MAX_SIZED_CLUSTERS))


def fits(resource, new):
    limit = limit_after_fixes(resource, new)
    return limit is None or resource.used + resource.per_cluster * new <= limit


def clusters_more(resource):
    """How many more clusters the resource has room for (MAX_COUNTED at most; None when it does not count)."""
    if resource.limit is None or resource.per_cluster <= 0:
        return None
    for new in range(1, MAX_COUNTED + 1):
        if not fits(resource, new):
            return new - 1
    return MAX_COUNTED


def capacity(resources):
    """{clusters_more, limited_by, resources: {name: {limit, limit_after_fixes, used, per_cluster, unit,
    clusters_more, fix}}}: the smallest room of the resources that count, and the first resource with it."""
    report = {}
    more, limited_by = None, None
    for resource in resources:
        room = clusters_more(resource)
        report[resource.name] = {
            'limit': resource.limit, 'limit_after_fixes': limit_after_fixes(resource, room or 0),
            'used': resource.used, 'per_cluster': resource.per_cluster, 'unit': resource.unit,
            'clusters_more': room, 'fix': resource.fix}
        if room is not None and (more is None or room < more):
            more, limited_by = room, resource.name
    return {'clusters_more': more, 'limited_by': limited_by, 'resources': report}


def new_clusters(host_clusters, user, declared):
    """The names of `declared` that `user` does not have on the host yet (host_clusters: (owner, name))."""
    existing = set(tuple(entry) for entry in host_clusters)
    return [name for name in declared if (user, name) not in existing]


def refusal(report, new_clusters, user):
    """(message, fix) when `new_clusters` (names) cannot fit, naming the resource and its numbers; None when
    they fit."""
    more = report['clusters_more']
    if more is None or len(new_clusters) <= more:
        return None
    found = report['resources'][report['limited_by']]
    return ('%d new cluster(s) (%s) for %s do not fit: room for %d more, limited by %s (limit %s %s after '
            "kinc_host's fixes, %s in use, %s per cluster)"
            % (len(new_clusters), ', '.join(new_clusters), user, more, report['limited_by'],
               found['limit_after_fixes'], found['unit'], found['used'], found['per_cluster']),
            '%s; or declare fewer clusters, or remove some' % found['fix'])


# The per-user limits kinc_host raises (its sysctls_per_cluster keys): resource name, sysctl, usage key.
_SYSCTL_RESOURCES = (
    ('inotify_instances', 'fs.inotify.max_user_instances', 'inotify_instances', 'instances'),
    ('inotify_watches', 'fs.inotify.max_user_watches', 'inotify_watches', 'watches'),
    ('kernel_keys', 'kernel.keys.maxkeys', 'keys', 'keys'),
    ('kernel_key_bytes', 'kernel.keys.maxbytes', 'key_bytes', 'bytes'),
)


def host_resources(facts, params):
    """The Resources of the host for facts['user'], from kinc_preflight's facts (facts['usage']: what is in use
    and each limit in force as <name>_max) and its options (the per-cluster figures)."""
    usage = facts['usage']
    clusters = len(facts['host_clusters'])
    user = facts['user']
    resources = []
    for name, key, used, unit in _SYSCTL_RESOURCES:
        limit = usage.get(used + '_max')
        per_cluster = int((params['sysctls_per_cluster'] or {}).get(key) or 0)
        sizing = (int(params['sysctls'].get(key) or 0), per_cluster, clusters) if key in params['sysctls'] else None
        resources.append(Resource(
            name, limit, usage.get(used) or 0, per_cluster, sizing, unit,
            'raise %s (kinc_host sizes it by kinc_host_sysctl_base and kinc_host_sysctl_per_cluster for at most '
            '%d clusters), or end processes of %s that hold them' % (key, MAX_SIZED_CLUSTERS, user)))
    override = facts.get('tasks_override')
    slice_name = 'user-%s.slice' % facts['uid']
    if override:
        tasks_fix = ('raise TasksMax in %s, which comes after kinc\'s drop-in and overrides it (or remove it), '
                     'and run systemctl daemon-reload' % override)
    else:
        tasks_fix = 'raise kinc_host_tasks_per_cluster or the TasksMax of %s' % slice_name
    resources.append(Resource(
        'tasks', facts.get('tasks_max'), usage.get('tasks') or 0, params['tasks_per_cluster'],
        None if override else (params['tasks_base'], params['tasks_per_cluster'], clusters),
        'tasks of %s' % slice_name, tasks_fix))
    resources.append(Resource(
        'memory', usage.get('memory_available_mib'), 0, params['memory_per_cluster'], None, 'MiB available',
        'free memory on the host, or lower kinc_host_memory_per_cluster if the clusters need less'))
    resources.append(Resource(
        'networks', NETWORK_PAIRS, clusters, 1, None, 'pod/service network pairs host-wide (every user)',
        'remove clusters that are no longer needed, of any user, with purge (a cluster removed without purge keeps '
        'its networks)'))
    return resources

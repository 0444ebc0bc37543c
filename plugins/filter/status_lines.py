# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters kinc.kinc.cluster_status_line and kinc.kinc.cluster_step_line (kinc_cluster_info's entries) and
kinc.kinc.capacity_lines (kinc_preflight's capacity): the aligned lines playbooks/status.yml prints."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

CLUSTER_FORMAT = '%-20s %-26s %-13s %-9s %s'
STEP_FORMAT = '%-12s %-8s %-20s %-20s %8s  %s'
CAPACITY_FORMAT = '%-18s %6s %12s %12s %12s %10s  %s'


def _text(value):
    return '-' if value is None or value == '' else str(value)


def cluster_status_line(cluster):
    """One kinc_cluster_info cluster: name, API URL, phase (or the container state), version, age."""
    phase = cluster.get('phase') or cluster.get('container_state')
    return CLUSTER_FORMAT % (cluster.get('name'), _text(cluster.get('api_url')), _text(phase),
                             _text(cluster.get('kubernetes_version')), _text(cluster.get('age')))


def cluster_step_line(step):
    """One init step: name, state, start, end, duration in seconds, message."""
    return STEP_FORMAT % (step.get('name'), step.get('state'), _text(step.get('started')),
                          _text(step.get('finished')), _text(step.get('duration')), step.get('message') or '')


def capacity_lines(capacity):
    """kinc_preflight's capacity: a summary, then one line per resource (room, limit, limit after kinc_host's
    fixes, in use, per cluster, unit)."""
    more = capacity.get('clusters_more')
    lines = ['%s more cluster(s)%s' % ('unlimited' if more is None else more,
                                       ', limited by %s' % capacity['limited_by'] if capacity.get('limited_by') else ''),
             CAPACITY_FORMAT % ('RESOURCE', 'MORE', 'LIMIT', 'AFTER FIXES', 'IN USE', 'PER CLUSTER', 'UNIT')]
    for name, found in sorted((capacity.get('resources') or {}).items()):
        lines.append(CAPACITY_FORMAT % (name, _text(found.get('clusters_more')), _text(found.get('limit')),
                                        _text(found.get('limit_after_fixes')), _text(found.get('used')),
                                        _text(found.get('per_cluster')), found.get('unit') or ''))
    return lines


class FilterModule(object):

    def filters(self):
        return {'cluster_status_line': cluster_status_line, 'cluster_step_line': cluster_step_line,
                'capacity_lines': capacity_lines}

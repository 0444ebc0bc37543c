# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting for nodes: one loop polls every started cluster until each is ready, failed or out of time.

A poll of a node is one `podman exec <node> cat <status> <initialized marker> <admin kubeconfig>`: cat
prints the files that exist and exits 0 only when all three do, so one command tells the phase, whether
the node finished its first initialisation, and (for the kubeconfig export) the admin kubeconfig.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import json

from ansible_collections.kinc.kinc.plugins.module_utils import naming
from ansible_collections.kinc.kinc.plugins.module_utils import node_status

ADMIN_KUBECONFIG = '/etc/kubernetes/admin.conf'
POLL_INTERVAL = 2
# The node service's journal on the host is mostly podman events; the node's own unit journal says more.
HOST_JOURNAL_LINES = 20
NODE_JOURNAL_LINES = 40
_ANY_RC = tuple(range(-255, 256))


def read_node(podman, container):
    """(status or None, complete, rest): the parsed status, whether the marker and admin kubeconfig exist
    too, and the text after the status (marker and admin kubeconfig)."""
    rc, out, _err = podman.call(['exec', container, 'cat', naming.NODE_STATUS_FILE, naming.NODE_INITIALIZED_MARKER,
                                 ADMIN_KUBECONFIG], ok_rcs=_ANY_RC)
    text = (out or '').lstrip()
    if not text.startswith('{'):
        return None, False, ''
    try:
        _raw, end = json.JSONDecoder().raw_decode(text)
    except ValueError:
        return None, False, ''  # caught in the middle of a rename: read again at the next poll
    return node_status.parse(text[:end]), rc == 0, text[end:]


def _times(status):
    for step in status['steps']:
        for key in ('started', 'finished'):
            if step[key]:
                yield node_status.parse_time(step[key])


def from_this_boot(status, since):
    """status.json lives on the /var volume: right after a (re)start it may still be the last boot's.
    Every time a boot writes is at or after its start; any earlier one is from before."""
    if since is None:
        return True
    return all(calendar.timegm(t.timetuple()) >= int(since) - 1 for t in _times(status))


class Waiter:
    """Waits for `runs` (ClusterRuns whose node was started or is running)."""

    def __init__(self, podman, systemctl, now, sleep):
        self.podman = podman
        self.systemctl = systemctl
        self.now = now
        self.sleep = sleep

    def _journal(self, run):
        return self.systemctl.journal_tail(run.service, HOST_JOURNAL_LINES)

    def _crashed(self, run):
        props = self.systemctl.show(run.service, ['ActiveState', 'SubState'])
        return props.get('ActiveState') == 'failed' or props.get('SubState') == 'auto-restart'

    def _node_failure(self, run, status):
        step = node_status.failed_step(status)
        tail = ''
        if step and step['unit']:
            _rc, out, err = self.podman.call(['exec', run.container, 'journalctl', '-u', step['unit'], '-n',
                                              str(NODE_JOURNAL_LINES), '--no-pager'], ok_rcs=_ANY_RC)
            tail = out or err
        return node_status.failure_message(run.name, status, tail)

    def _poll(self, run):
        """True when `run` is settled (ready, or failed with run.error set)."""
        try:
            status, complete, rest = read_node(self.podman, run.container)
        except node_status.StatusError as exc:
            run.error = '%s in container %s does not follow the status contract: %s' % (
                naming.NODE_STATUS_FILE, run.container, exc)
            return True
        if status is not None and not from_this_boot(status, run.since):
            status = None
        if status is not None:
            run.status = status
            if status['phase'] == 'failed':
                run.error = self._node_failure(run, status)
                return True
            if status['phase'] == 'ready' and complete:
                run.admin_text = rest
                return True
        elif self._crashed(run):
            run.error = '%s failed before the node reported any status; last lines of its journal:\n%s' % (
                run.service, self._journal(run))
            return True
        if self.now() >= run.deadline:
            where = node_status.summary(status) if status else 'no status from the node yet'
            run.error = ('cluster %s was not ready after wait_timeout=%ss (%s); last lines of the journal of %s:\n%s'
                         % (run.name, run.params['wait_timeout'], where, run.service, self._journal(run)))
            return True
        return False

    def wait(self, runs):
        """Poll every run until each is settled; failures are left in run.error, never raised."""
        start = self.now()
        for run in runs:
            run.deadline = start + run.params['wait_timeout']
        pending = list(runs)
        while True:
            pending = [run for run in pending if not self._poll(run)]
            if not pending:
                return
            self.sleep(POLL_INTERVAL)

# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting for nodes: one loop polls every started cluster until each is ready, failed or out of time.

A node keeps its status, its initialized marker and its admin kubeconfig on its /var volume, which the host
user reads directly (rootless, the node's root is that user). A poll round is one `podman ps` (is each node
running?) and file reads, whatever the number of clusters; an unchanged run needs no poll command at all.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar

from ansible_collections.kinc.kinc.plugins.module_utils.converge import cluster_facts
from ansible_collections.kinc.kinc.plugins.module_utils import files
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming
from ansible_collections.kinc.kinc.plugins.module_utils.node import init_status

# In the node /etc/kubernetes links to /var/lib/kinc/kubernetes (files/image/README.md).
ADMIN_KUBECONFIG = '/var/lib/kinc/kubernetes/admin.conf'
# Polls start at FIRST_POLL_INTERVAL seconds and double up to POLL_INTERVAL: a node restarted on an already
# initialized volume is ready in seconds, a new one takes tens of seconds (each poll runs one `podman ps`).
FIRST_POLL_INTERVAL = 0.5
POLL_INTERVAL = 2
# The node service's journal on the host is mostly podman events; the node's own unit journal says more.
HOST_JOURNAL_LINES = 20
NODE_JOURNAL_LINES = 40
_ANY_RC = tuple(range(-255, 256))


def read_node(mountpoint, read=files.read_text):
    """(status or None, complete, admin kubeconfig text): the parsed status, and whether the initialized
    marker and the admin kubeconfig exist too. Raises init_status.StatusError on a malformed status."""
    text = read(cluster_facts.var_path(mountpoint, naming.NODE_STATUS_FILE))
    if not text or not text.strip():
        return None, False, None
    admin = read(cluster_facts.var_path(mountpoint, ADMIN_KUBECONFIG))
    complete = read(cluster_facts.var_path(mountpoint, naming.NODE_INITIALIZED_MARKER)) is not None and admin is not None
    return init_status.parse(text), complete, admin


def _times(status):
    for step in status['steps']:
        for key in ('started', 'finished'):
            if step[key]:
                yield init_status.parse_time(step[key])


def from_this_boot(status, since):
    """status.json lives on the /var volume: right after a (re)start it may still be the last boot's.
    Every time a boot writes is at or after its start; any earlier one is from before."""
    if since is None:
        return True
    return all(calendar.timegm(t.timetuple()) >= int(since) - 1 for t in _times(status))


class Waiter:
    """Waits for `runs` (ClusterRuns whose node was started or is running) on the host of `snapshot`."""

    def __init__(self, podman, systemctl, snapshot, now, sleep, read=files.read_text):
        self.podman = podman
        self.systemctl = systemctl
        self.snapshot = snapshot
        self.now = now
        self.sleep = sleep
        self.read = read

    def _journal(self, run):
        return self.systemctl.journal_tail(run.service, HOST_JOURNAL_LINES)

    def _crashed(self, run):
        props = self.systemctl.show(run.service, ['ActiveState', 'SubState'])
        return props.get('ActiveState') == 'failed' or props.get('SubState') == 'auto-restart'

    def _node_failure(self, run, status):
        step = init_status.failed_step(status)
        tail = ''
        if step and step['unit']:
            _rc, out, err = self.podman.call(['exec', run.container, 'journalctl', '-u', step['unit'], '-n',
                                              str(NODE_JOURNAL_LINES), '--no-pager'], ok_rcs=_ANY_RC)
            tail = out or err
        return init_status.failure_message(run.name, status, tail)

    def _read(self, run):
        container = self.snapshot.container(run.name)
        volume = self.snapshot.volume(naming.var_volume_name(run.name))
        if container is None or container.state != 'running' or volume is None or not volume.mountpoint:
            return None, False, None
        return read_node(volume.mountpoint, self.read)

    def _poll(self, run):
        """True when `run` is settled (ready, or failed with run.error set)."""
        try:
            status, complete, admin = self._read(run)
        except init_status.StatusError as exc:
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
                run.admin_text = admin
                return True
        elif self._crashed(run):
            run.error = '%s failed before the node reported any status; last lines of its journal:\n%s' % (
                run.service, self._journal(run))
            return True
        if self.now() >= run.deadline:
            where = init_status.summary(status) if status else 'no status from the node yet'
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
        # Containers of nodes this call started are not in the snapshot yet.
        fresh = any(run.since is not None for run in runs)
        interval = FIRST_POLL_INTERVAL
        while True:
            if fresh:
                self.snapshot.read_containers()
            fresh = True
            pending = [run for run in pending if not self._poll(run)]
            if not pending:
                return
            self.sleep(interval)
            interval = min(POLL_INTERVAL, interval * 2)

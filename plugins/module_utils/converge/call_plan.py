# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_cluster's plan of a call: converge every cluster given, starting all before waiting for any.

1. Read the host once (host_snapshot) and check every cluster against it; any problem fails the call
   before anything changes. A missing node image is such a problem, or (on_missing_image='report', for a
   caller that builds images) the reason the call changes nothing and names the missing images.
2. Files of every cluster: volumes, node configuration, then Quadlet units (volumes' first); removals.
3. One daemon-reload when any cluster needs it.
4. Start, restart (only when the running container's digest label differs from what is wanted, see
   node_digest) or stop every cluster.
5. One wait for all started clusters (readiness), then their kubeconfigs. A cluster that fails here is
   reported by name; the others are still reported ready.

Podman and systemctl are injected (PodmanClient, Systemctl), so unit tests drive this with a fake host.
Check mode plans every change and runs only read-only commands.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.kinc.kinc.plugins.module_utils.allocation import guard
from ansible_collections.kinc.kinc.plugins.module_utils.allocation import ledger
from ansible_collections.kinc.kinc.plugins.module_utils.converge import checks
from ansible_collections.kinc.kinc.plugins.module_utils.converge import removal
from ansible_collections.kinc.kinc.plugins.module_utils import files
from ansible_collections.kinc.kinc.plugins.module_utils.converge import host_snapshot
from ansible_collections.kinc.kinc.plugins.module_utils.kubeconfig import on_host
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming
from ansible_collections.kinc.kinc.plugins.module_utils.node import config_volume
from ansible_collections.kinc.kinc.plugins.module_utils.converge import node_digest
from ansible_collections.kinc.kinc.plugins.module_utils.converge import quadlet
from ansible_collections.kinc.kinc.plugins.module_utils.allocation.allocator import Allocation, AllocationError
from ansible_collections.kinc.kinc.plugins.module_utils.allocation.locking import LockTimeout
from ansible_collections.kinc.kinc.plugins.module_utils.converge.cluster_run import ClusterRun
from ansible_collections.kinc.kinc.plugins.module_utils.module_base import KincError
from ansible_collections.kinc.kinc.plugins.module_utils.converge.readiness import HOST_JOURNAL_LINES, Waiter
from ansible_collections.kinc.kinc.plugins.module_utils.systemd import SystemdError


def restart_needed(run, container):
    """Whether the running node was started from something other than what is wanted now."""
    running = container.labels.get(node_digest.LABEL) if container is not None else None
    return running != run.digest


class ClusterManager:

    def __init__(self, podman, systemctl, check_mode=False, now=time.time, sleep=time.sleep,
                 path_exists=os.path.exists, read_file=files.read_text, record_dir=ledger.HOST_RECORD_DIR,
                 on_missing_image='fail', lock_timeout=guard.LOCK_TIMEOUT, warn=None):
        self.podman = podman
        self.lock_timeout = lock_timeout
        self.warn = warn
        self.on_missing_image = on_missing_image
        # {image: [cluster names]} of the node images found missing by the last converge().
        self.missing_images = {}
        self.record_dir = record_dir
        self.systemctl = systemctl
        self.check_mode = check_mode
        self.now = now
        self.sleep = sleep
        self.path_exists = path_exists
        self.read_file = read_file
        self.runs = []
        self.snapshot = None

    def converge(self, params_list):
        """Converge the clusters described by `params_list`; returns their ClusterRuns (see cluster_run)."""
        self.runs = [ClusterRun(p) for p in params_list]
        self.snapshot = host_snapshot.HostSnapshot(self.podman, self.systemctl, [r.name for r in self.runs])
        problems = [p for run in self.runs for p in checks.problems(run, self.snapshot, self.path_exists)]
        self.missing_images = checks.missing_images(self.runs, self.podman.image_exists)
        if self.on_missing_image == 'fail':
            problems += checks.missing_image_problems(self.missing_images)
        if problems:
            raise KincError('; '.join(problems))
        if self.missing_images and not self.check_mode:
            return self.runs  # reported: the caller brings the images, then converges again
        reload_for = []
        for run in self.runs:
            if self._files(run):
                reload_for.append(run)
        if reload_for:
            self._reload(reload_for)
        if not self.check_mode and any('stop %s' % r.service in r.actions for r in self.runs):
            self.snapshot.read_containers()
        for run in self.runs:
            if run.state == 'absent':
                removal.remove_rest(run, self.snapshot, self.podman, self.check_mode)
            elif run.state == 'stopped':
                removal.stop(run, self.snapshot, self.systemctl, self.check_mode)
            elif not run.error:
                self._start(run)
        if not self.check_mode:
            self._refresh_record()
        self._wait([run for run in self.runs if run.wants_running and run.params.get('wait', True)
                    and not run.error])
        return self.runs

    def _refresh_record(self):
        """Purged clusters free their port and networks for every user; a killed run's record is completed."""
        if any(any(a.startswith('remove volume ') for a in run.actions) for run in self.runs):
            self.snapshot.read_volumes()  # the volumes read before the purge would put the cluster back
        try:
            guard.refresh(self.podman, self.snapshot.volumes.values(), self.lock_timeout, self.record_dir)
        except (AllocationError, LockTimeout) as exc:
            # The clusters are converged; only the copy other users read is behind, which the next run repairs.
            message = 'the host-wide allocation record was not updated: %s' % exc
            if self.warn:
                self.warn(message)
            else:
                for run in self.runs:
                    run.error = run.error or message

    # -- files ---------------------------------------------------------------------------------
    def _files(self, run):
        """Converge the cluster's files; returns whether systemd must reload for it."""
        if run.state == 'absent':
            return removal.remove_units(run, self.snapshot, self.systemctl, self.check_mode)
        states = [self.snapshot.unit(s) for s in host_snapshot.services(run.name)]
        if not run.files_given:
            return quadlet.reload_needed(states, any(os.path.exists(p) for p in run.quadlet_paths()), None)
        units, run.digest = node_digest.stamp(run.params['quadlet_units'], run.params['node_config'],
                                              run.unit_files[-1])
        if not self._volumes(run):
            return False
        config = config_volume.plan(run.name, run.params['node_config'],
                                    self.snapshot.volume(naming.config_volume_name(run.name)))
        unit_changes = quadlet.plan(run.params['quadlet_dir'], run.unit_files, units)
        # The node's configuration before its units: a container started from the new units (by this run, a
        # reboot or systemd's Restart=) must find the configuration that goes with them.
        for change in files.changed(config) + files.changed(unit_changes):
            run.diff.extend(files.diffs([change]))
            run.did('%s %s' % (change.action, change.path))
            if not self.check_mode:
                files.apply(change, quadlet.DIR_MODE)
        written = [c for c in unit_changes if c.action in ('create', 'update')]
        return bool(written) or quadlet.reload_needed(states, True, run.digest)

    def _volumes(self, run):
        """Recreate missing labelled volumes under the allocation lock; False (run.error set) when refused."""
        if all(self.snapshot.volume(v) is not None for v in naming.volume_names(run.name)):
            return True
        p = run.params
        allocation = Allocation(run.name, p['api_port'], p['pod_subnet'], p['service_subnet'])
        try:
            created = guard.ensure_volumes(self.podman, allocation, self.lock_timeout, self.check_mode,
                                           self.record_dir, self.warn)
        except (AllocationError, LockTimeout) as exc:
            run.error = str(exc)
            return False
        for volume_name in created:
            run.did('create volume %s' % volume_name)
        if created and not self.check_mode:
            self.snapshot.read_volumes()
        return True

    def _reload(self, runs):
        for run in runs:
            run.did('daemon-reload')
        if self.check_mode:
            return
        self.systemctl.daemon_reload()
        self.snapshot.read_units()
        for run in runs:
            if run.state != 'absent' and self.snapshot.unit(run.service).get('LoadState') != 'loaded':
                unit = os.path.join(run.params['quadlet_dir'], run.unit_files[-1])
                run.error = ('Quadlet did not generate %s from %s; run /usr/libexec/podman/quadlet -dryrun%s to see '
                             'why' % (run.service, unit, ' -user' if self.systemctl.user else ''))

    # -- start ---------------------------------------------------------------------------------
    def _start(self, run):
        state = self.snapshot.unit(run.service).get('ActiveState') or 'inactive'
        container = self.snapshot.container(run.name)
        try:
            if state in removal.RUNNING_STATES:
                if run.digest is None or (container is None and state != 'active'):
                    return  # started without rendered units, or on its way up from the current units
                if restart_needed(run, container):
                    run.did('restart %s' % run.service)
                    run.restarted = True
                    if not self.check_mode:
                        run.since = self.now()
                        self.systemctl.restart(run.service)
                return
            run.did('start %s' % run.service)
            if not self.check_mode:
                if state == 'failed':
                    self.systemctl.reset_failed(run.service)
                run.since = self.now()
                self.systemctl.start(run.service)
        except SystemdError as exc:
            run.error = '%s\nlast lines of the journal of %s:\n%s' % (
                exc, run.service, self.systemctl.journal_tail(run.service, HOST_JOURNAL_LINES))

    # -- wait ----------------------------------------------------------------------------------
    def _wait(self, runs):
        if self.check_mode:
            for run in runs:
                if not os.path.exists(run.params['kubeconfig_path']):
                    run.did('write %s' % run.params['kubeconfig_path'])
            return
        Waiter(self.podman, self.systemctl, self.snapshot, self.now, self.sleep, self.read_file).wait(runs)
        for run in runs:
            if run.error is None:
                try:
                    on_host.export(run, self.podman, run.server_url(self.snapshot))
                except KincError as exc:
                    run.error = str(exc)

    def results(self):
        return [run.result(self.snapshot) for run in self.runs]

# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Removing a cluster (state=absent): services stopped, units gone from disk and from systemd, container
removed; with purge also its volumes, kubeconfig and merged context.

Every step looks at what is there, not at what this run did, so a removal killed at any point is
finished by the next run (units deleted but still loaded are reloaded).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kinc.kinc.plugins.module_utils import files
from ansible_collections.kinc.kinc.plugins.module_utils.converge import host_snapshot
from ansible_collections.kinc.kinc.plugins.module_utils.kubeconfig import on_host
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming
from ansible_collections.kinc.kinc.plugins.module_utils.converge import quadlet

RUNNING_STATES = ('active', 'activating', 'reloading')


def stop(run, snapshot, systemctl, check_mode):
    """Stop the node's service if it runs or is on its way up."""
    if snapshot.unit(run.service).get('ActiveState') in RUNNING_STATES:
        run.did('stop %s' % run.service)
        if not check_mode:
            systemctl.stop(run.service)


def remove_units(run, snapshot, systemctl, check_mode):
    """Stop the services, delete the unit files (the container's first); return whether systemd must reload."""
    states = [snapshot.unit(s) for s in host_snapshot.services(run.name)]
    stop(run, snapshot, systemctl, check_mode)
    for service in host_snapshot.services(run.name)[1:]:
        if snapshot.unit(service).get('ActiveState') == 'active':
            run.did('stop %s' % service)
            if not check_mode:
                systemctl.stop(service)
    removals = files.plan_removal(run.params['quadlet_dir'], list(reversed(run.unit_files)))
    run.diff.extend(files.diffs(removals))
    for change in removals:
        run.did('remove %s' % change.path)
        if not check_mode:
            files.apply(change)
    return bool(removals) or quadlet.still_loaded(states)


def remove_rest(run, snapshot, podman, check_mode):
    """After systemd forgot the units: the container, and with purge the cluster's data."""
    # Quadlet runs the node with --rm: stopping its service removed the container.
    stopped = 'stop %s' % run.service in run.actions
    if snapshot.container(run.name) is not None and not (check_mode and stopped):
        run.did('remove container %s' % run.container)
        if not check_mode:
            podman.remove_container(run.container)
    if not run.params.get('purge'):
        return
    for volume_name in naming.volume_names(run.name):
        if snapshot.volume(volume_name) is not None:
            run.did('remove volume %s' % volume_name)
            if not check_mode:
                podman.remove_volume(volume_name)
    on_host.purge(run, check_mode)

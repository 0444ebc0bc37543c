# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of a cluster against the host, made for every cluster of a call before anything changes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.kinc.kinc.plugins.module_utils.kubeconfig import document
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming
from ansible_collections.kinc.kinc.plugins.module_utils.converge import quadlet

_ALLOCATION = ((naming.LABEL_API_PORT, 'api_port'), (naming.LABEL_POD_SUBNET, 'pod_subnet'),
               (naming.LABEL_SERVICE_SUBNET, 'service_subnet'))


def allocation_problems(run, snapshot):
    """Options that contradict the allocation recorded on existing volumes: labels of an existing volume
    never change, and the allocator trusts them."""
    problems = []
    wanted = run.labels()
    for volume_name in naming.volume_names(run.name):
        volume = snapshot.volume(volume_name)
        if volume is None:
            continue
        if volume.labels.get(naming.LABEL_CLUSTER) != run.name:
            problems.append('volume %s exists but is not labelled %s=%s, so kinc did not create it; remove it '
                            '(podman volume rm %s) or choose another cluster name'
                            % (volume_name, naming.LABEL_CLUSTER, run.name, volume_name))
            continue
        for label, option in _ALLOCATION:
            recorded = volume.labels.get(label)
            if recorded is not None and recorded != wanted[label]:
                problems.append('cluster %s is allocated %s=%s (label %s on volume %s), but %s=%s was given; pass '
                                'the values kinc.kinc.kinc_allocate returns, or re-create the cluster with '
                                'state=absent purge=true' % (run.name, option, recorded, label, volume_name,
                                                             option, run.params[option]))
    return problems


def mount_problems(run, path_exists=os.path.exists):
    """A missing bind-mount source fails the service start with a terse podman error; say it first."""
    return ['%s mounts %s from the host, which does not exist there; the node needs it (as kind nodes do): '
            'install the kernel modules package or create the directory' % (name, source)
            for name, source in quadlet.mount_sources(run.params['quadlet_units']) if not path_exists(source)]


def merge_problems(run):
    if run.wants_running and run.params.get('merge_kubeconfig') and not document.HAS_YAML:
        return ['cluster %s: merge_kubeconfig: true needs PyYAML (python3-yaml) on the managed host to edit '
                '~/.kube/config; install it or set merge_kubeconfig: false' % run.name]
    return []


def started_problems(run):
    """state=started without the allocation starts existing units, which must be there."""
    if run.state == 'started' and not run.files_given and not any(os.path.exists(p) for p in run.quadlet_paths()):
        return ['cluster %s has no Quadlet units in %s; create it with state=present (or give api_port, pod_subnet '
                'and service_subnet)' % (run.name, run.params['quadlet_dir'])]
    return []


def missing_images(runs, image_exists):
    """{image: [cluster names]} of the node images that clusters about to run from new units lack."""
    missing = {}
    for run in runs:
        if run.files_given and run.wants_running:
            missing.setdefault(run.params['image'], []).append(run.name)
    return dict((image, names) for image, names in missing.items() if not image_exists(image))


def missing_image_problems(missing):
    return ['node image %s (cluster %s) is not in the Podman storage of the clusters\' owner; build it with '
            "'podman build -t %s <collection>/files/image' as that user (files/image/README.md gives the build args "
            "of each Kubernetes version) or load it with 'podman load', then run again"
            % (image, ', '.join(names), image) for image, names in sorted(missing.items())]


def problems(run, snapshot, path_exists=os.path.exists):
    found = merge_problems(run) + started_problems(run)
    if run.files_given:
        found += allocation_problems(run, snapshot) + mount_problems(run, path_exists)
    return found

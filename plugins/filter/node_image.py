# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters kinc.kinc.node_image_choice and kinc.kinc.node_image_build_args: which node image a cluster
runs and how kinc builds it (the version table is plugins/module_utils/node/image_builds.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.kinc.kinc.plugins.module_utils.node import image_builds


def node_image_choice(declared, clusters):
    """`declared` (the clusters with the role defaults applied) with the image of every cluster whose own
    entry in `clusters` names no image and that pins a Kubernetes version set to kinc's image of that version."""
    own_image = set(c['name'] for c in clusters or [] if isinstance(c, dict) and c.get('image'))
    chosen = []
    for index, cluster in enumerate(declared or []):
        cluster = dict(cluster)
        version = cluster.get('kubernetes_version')
        if version and cluster['name'] not in own_image and cluster.get('state') != 'absent':
            error = image_builds.version_error(version, 'kinc_clusters[%d].kubernetes_version' % index)
            if error:
                raise AnsibleFilterError(error)
            cluster['image'] = image_builds.image_for(version)
        chosen.append(cluster)
    return chosen


def node_image_build_args(image, default_image, default_args=None):
    """The --build-arg values kinc builds `image` with, or None when kinc does not build it: kinc builds its
    version-tagged images (localhost/kinc-node:vX.Y.Z) and `default_image` (with `default_args` on top)."""
    version = image_builds.version_of_image(image)
    if image != default_image and version is None:
        return None
    args = image_builds.build_args(version) if version else {}
    if image == default_image:
        args.update(default_args or {})
    return args


class FilterModule(object):

    def filters(self):
        return {'node_image_choice': node_image_choice, 'node_image_build_args': node_image_build_args}

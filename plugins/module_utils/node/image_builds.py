# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node images kinc builds from files/image: one per Kubernetes minor, tagged by version.

VERSIONS pins, per minor, the Kubernetes patch (packages from pkgs.k8s.io core:/stable:/v1.MM), the CRI-O
release of the same minor (isv:cri-o:stable:v1.MM) and the Fedora base; files/image/README.md says where
each pin comes from and how to move to the next minor. The Containerfile's defaults equal DEFAULT_MINOR's
row (tests/node_image/test_versions.py). Pure functions, standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

REPOSITORY = 'localhost/kinc-node'
# kubernetes: the pinned patch; crio: the CRI-O release of the same minor; fedora: the base image's release;
# eol: the minor's end of life (kubernetes.io/releases). A minor past its end of life leaves the table: its
# packages and base image stop installing (files/image/README.md).
VERSIONS = {
    '1.37': dict(kubernetes='1.37.1', crio='1.37.0', fedora='44', eol='2027-10-28'),
    '1.36': dict(kubernetes='1.36.5', crio='1.36.3', fedora='44', eol='2027-06-28'),
    '1.35': dict(kubernetes='1.35.9', crio='1.35.6', fedora='44', eol='2027-02-28'),
}
DEFAULT_MINOR = '1.37'
FEDORA_IMAGE = 'registry.fedoraproject.org/fedora:%s'
_VERSION = re.compile(r'v?(\d+)\.(\d+)\.(\d+)')


def minor_of(version):
    """'v1.36.4' -> '1.36'; None when `version` is not MAJOR.MINOR.PATCH."""
    match = _VERSION.fullmatch(str(version or '').strip())
    return '%s.%s' % match.group(1, 2) if match else None


def version_error(version, field='kubernetes_version'):
    """Why kinc cannot build a node image for `version`, or None when it can."""
    minor = minor_of(version)
    if minor is None:
        return ("%s %r is not a Kubernetes release; write it like '%s'"
                % (field, version, VERSIONS[DEFAULT_MINOR]['kubernetes']))
    if minor not in VERSIONS:
        return ('%s %r: kinc builds node images for Kubernetes %s; choose one of those minors (or leave it '
                'empty for %s)' % (field, version, ', '.join(sorted(VERSIONS, reverse=True)),
                                   VERSIONS[DEFAULT_MINOR]['kubernetes']))
    return None


def image_for(version=None):
    """The tag of kinc's node image for `version` (default: DEFAULT_MINOR's pin), e.g. localhost/kinc-node:v1.36.4."""
    version = str(version or VERSIONS[DEFAULT_MINOR]['kubernetes']).strip().lstrip('v')
    error = version_error(version)
    if error:
        raise ValueError(error)
    return '%s:v%s' % (REPOSITORY, version)


def build_args(version=None):
    """The --build-arg values of files/image/Containerfile for `version`."""
    version = str(version or VERSIONS[DEFAULT_MINOR]['kubernetes']).strip().lstrip('v')
    error = version_error(version)
    if error:
        raise ValueError(error)
    row = VERSIONS[minor_of(version)]
    return {'KUBERNETES_VERSION': version, 'CRIO_VERSION': row['crio'],
            'FEDORA_IMAGE': FEDORA_IMAGE % row['fedora']}


def version_of_image(image):
    """'localhost/kinc-node:v1.36.4' -> '1.36.4' for a tag this module makes; None for any other image."""
    prefix = REPOSITORY + ':v'
    if not isinstance(image, str) or not image.startswith(prefix):
        return None
    version = image[len(prefix):]
    return version if version_error(version) is None else None

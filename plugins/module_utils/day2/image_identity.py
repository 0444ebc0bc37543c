# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image identity without a registry: names as a node's CRI-O stores them, and the image ID inside an
image archive (docker-archive as `podman save` writes it, or oci-archive), read with tarfile.

An image's ID is the sha256 of its config blob; it survives a copy between Podman, an archive and a
node's containers-storage, which is what makes loading idempotent by ID.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import re
import tarfile

from ansible_collections.kinc.kinc.plugins.module_utils.spec import image_reference

_DIGEST = re.compile(r'sha256:([0-9a-f]{64})')
_OCI_REF_NAME = 'org.opencontainers.image.ref.name'


class ArchiveError(ValueError):
    """The file is not an image archive kinc can read."""


def config_id(config_bytes):
    """The image ID (64 hex digits) of a config blob."""
    return hashlib.sha256(config_bytes).hexdigest()


def qualify(reference):
    """The fully qualified name a node stores: 'app:dev' -> 'localhost/app:dev' (Podman names a local
    build so), 'app' -> 'localhost/app:latest'; a name with a registry part keeps it."""
    error = image_reference.reference_error(reference)
    if error:
        raise ValueError('image %r %s' % (reference, error))
    if '@' in reference:
        raise ValueError('image %r names a digest; name a tag (for example localhost/app:dev)' % reference)
    first, sep, _rest = reference.partition('/')
    if not sep or not ('.' in first or ':' in first or first == 'localhost'):
        reference = 'localhost/' + reference
    last = reference.rsplit('/', 1)[1]
    if ':' not in last:
        reference += ':latest'
    return reference


def _member(archive, name):
    try:
        handle = archive.extractfile(name)
    except KeyError:
        return None
    return handle.read() if handle else None


def _json_member(archive, name, path):
    raw = _member(archive, name)
    if raw is None:
        return None
    try:
        return json.loads(raw.decode('utf-8'))
    except ValueError as exc:
        raise ArchiveError('%s: %s is not JSON (%s)' % (path, name, exc))


def _blob(archive, digest, path):
    match = _DIGEST.fullmatch(digest or '')
    if not match:
        raise ArchiveError('%s: unsupported digest %r (only sha256)' % (path, digest))
    raw = _member(archive, 'blobs/sha256/%s' % match.group(1))
    if raw is None:
        raise ArchiveError('%s: blob %s is missing' % (path, digest))
    return raw


def _docker_archive(archive, manifest, path):
    if not isinstance(manifest, list) or len(manifest) != 1 or not isinstance(manifest[0], dict):
        raise ArchiveError('%s: manifest.json must describe exactly one image' % path)
    config = _member(archive, manifest[0].get('Config') or '')
    if config is None:
        raise ArchiveError('%s: the config %r named in manifest.json is missing' % (path, manifest[0].get('Config')))
    names = [qualify(n) for n in manifest[0].get('RepoTags') or []]
    return 'docker-archive', config_id(config), names


def _oci_archive(archive, index, path):
    manifests = (index or {}).get('manifests') or []
    if len(manifests) != 1:
        raise ArchiveError('%s: index.json must describe exactly one image; found %d' % (path, len(manifests)))
    try:
        manifest = json.loads(_blob(archive, manifests[0].get('digest'), path).decode('utf-8'))
    except ValueError as exc:
        raise ArchiveError('%s: the image manifest is not JSON (%s)' % (path, exc))
    config_digest = (manifest.get('config') or {}).get('digest')
    match = _DIGEST.fullmatch(config_digest or '')
    if not match:
        raise ArchiveError('%s: the image manifest names no sha256 config (an index of several platforms?)' % path)
    name = (manifests[0].get('annotations') or {}).get(_OCI_REF_NAME)
    # A bare tag ('dev') in the annotation names no repository: the caller must name the image.
    names = [qualify(name)] if name and ('/' in name or ':' in name) else []
    return 'oci-archive', match.group(1), names


def read_archive(path):
    """(transport, image ID, [qualified names]) of the one image in the archive at `path`.

    transport is 'docker-archive' or 'oci-archive', as skopeo names them."""
    try:
        archive = tarfile.open(path)
    except (tarfile.TarError, EOFError) as exc:
        raise ArchiveError('%s is not a tar archive (%s); write one with podman save -o <file> <image>' % (path, exc))
    with archive:
        manifest = _json_member(archive, 'manifest.json', path)
        if manifest is not None:
            return _docker_archive(archive, manifest, path)
        index = _json_member(archive, 'index.json', path)
        if index is not None:
            return _oci_archive(archive, index, path)
    raise ArchiveError('%s has neither manifest.json (docker-archive) nor index.json (oci-archive); write it '
                       'with podman save -o <file> <image>' % path)

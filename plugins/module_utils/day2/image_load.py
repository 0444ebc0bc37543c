# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Loading an image into a cluster's CRI-O image store (kinc_image).

The node's CRI-O keeps its images in containers-storage under /var/lib/containers/storage, on the node's
/var volume. skopeo in the node writes there through the same storage configuration CRI-O reads, so an
image copied in is what a pod with `imagePullPolicy: Never` runs. The image crosses into the node as an
archive: `podman save` from the owner's storage (or the user's own archive), `podman cp`, `skopeo copy`.
Idempotent by image ID: the ID of the name in the node is compared with the source's before anything moves.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import tempfile
import uuid

from ansible_collections.kinc.kinc.plugins.module_utils.day2 import image_identity
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming
from ansible_collections.kinc.kinc.plugins.module_utils.module_base import KincError
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import PodmanError

NODE_TMP_DIR = '/var/tmp'
# containers/storage decides whether it runs rootless in each process it starts, and the one that unpacks a
# layer (chrooted, without /proc) cannot tell that the node is a user namespace: it then writes trusted.*
# xattrs for an opaque whiteout, which a user namespace refuses. This says so, as CRI-O's environment does
# (kinc-cgroups writes it into /run/kinc/crio.env), so both write the same overlay whiteouts.
USERNS_ENV = '_CONTAINERS_USERNS_CONFIGURED=done'
# Room for the archive in the node plus its unpacked layers, which are about as large.
SPACE_FACTOR = 2
_NO_SPACE = 'no space left on device'
_NOT_THERE = ('does not resolve to an image', 'not known', 'no such image', 'not found', 'identifier is not an image')
_ANY_RC = tuple(range(-255, 256))


class Source(object):
    """What to load: an image of the owner's Podman storage or an archive file, with its ID and names."""

    def __init__(self, kind, location, image_id, names, transport='docker-archive', size=None):
        self.kind = kind            # 'podman' or 'archive'
        self.location = location    # the reference or the archive path
        self.image_id = image_id
        self.names = names
        self.transport = transport
        self.size = size


def podman_source(podman, reference):
    """The image `reference` of the owner's Podman storage; KincError when it is not there."""
    try:
        data = podman.call_json(['image', 'inspect', '--format', 'json', reference])
    except PodmanError as exc:
        data, said = None, (exc.stderr or '').strip()
    else:
        said = 'podman image inspect found nothing'
    if not data:
        raise KincError('image %s is not in the Podman storage of the user running the task (%s); build it with '
                        "'podman build -t %s .' as that user, or name an image archive with 'archive'"
                        % (reference, said, reference))
    entry = data[0]
    image_id = (entry.get('Id') or '').split(':')[-1]
    wanted = image_identity.qualify(reference)
    tags = entry.get('RepoTags') or []
    names = [wanted] if wanted in tags or not tags else [t for t in tags if t.endswith('/' + reference)] or [wanted]
    return Source('podman', reference, image_id, names[:1], size=entry.get('Size'))


def archive_source(path):
    if not os.path.isfile(path):
        raise KincError('image archive %s does not exist on the managed host; write it with '
                        "'podman save -o %s <image>'" % (path, path))
    try:
        transport, image_id, names = image_identity.read_archive(path)
    except image_identity.ArchiveError as exc:
        raise KincError(str(exc))
    return Source('archive', path, image_id, names, transport, size=os.path.getsize(path))


class NodeImages(object):
    """The image store of one cluster's node, through `podman exec <node> skopeo`."""

    def __init__(self, podman, cluster, rootless):
        self.podman = podman
        self.cluster = cluster
        self.container = naming.container_name(cluster)
        # A rootless owner's node is a user namespace.
        self.env = ['--env', USERNS_ENV] if rootless else []

    def check_running(self, check_mode=False):
        """True when the node runs; KincError for a missing or stopped one (False in check mode)."""
        data = self.podman.container_inspect(self.container)
        state = ((data or {}).get('State') or {}).get('Status') or 'absent'
        if state == 'running':
            return True
        if check_mode:
            return False
        if data is None and self.podman.volume(naming.var_volume_name(self.cluster)) is None:
            raise KincError('cluster %s does not exist on this host (no node container %s, no volumes); deploy it '
                            'first with role kinc.kinc.kinc_cluster' % (self.cluster, self.container))
        raise KincError('cluster %s is not running (its node container %s is %s); start it (state: started) and '
                        'load the image then' % (self.cluster, self.container, state if data else 'gone'))

    def _exec(self, argv):
        return self.podman.call(['exec'] + self.env + [self.container] + list(argv), ok_rcs=_ANY_RC)

    def image_id(self, name):
        """ID of `name` in the node's store, or None when the node has no image of that name."""
        rc, out, err = self._exec(['skopeo', 'inspect', '--raw', '--config', 'containers-storage:%s' % name])
        if rc == 0:
            # skopeo prints the config blob as stored; the ID is its digest.
            return image_identity.config_id(out.encode('utf-8', 'surrogateescape'))
        said = (err or out or '').strip()
        if rc in (126, 127) or 'executable file not found' in said:
            raise KincError('the node of cluster %s has no skopeo, which loading images needs; rebuild the node '
                            'image from the collection\'s files/image (its package list has skopeo)' % self.cluster)
        if any(marker in said.lower() for marker in _NOT_THERE):
            return None
        raise KincError('reading image %s in the node of cluster %s failed: %s' % (name, self.cluster, said))

    def free_bytes(self):
        """Free space of the node's image store (its /var volume), or None when df does not answer."""
        rc, out, _err = self._exec(['df', '-P', '-B1', '/var'])
        lines = out.strip().splitlines() if rc == 0 else []
        try:
            return int(lines[-1].split()[3])
        except (IndexError, ValueError):
            return None

    def load(self, archive_path, transport, name):
        """Copy the archive into the node, `skopeo copy` it into containers-storage as `name`, remove it."""
        inside = '%s/kinc-image-%s.tar' % (NODE_TMP_DIR, uuid.uuid4().hex)
        try:
            self._checked(self.podman.call(['cp', archive_path, '%s:%s' % (self.container, inside)], ok_rcs=_ANY_RC),
                          'copying the image archive into the node')
            self._checked(self._exec(['skopeo', 'copy', '--quiet', '%s:%s' % (transport, inside),
                                      'containers-storage:%s' % name]),
                          'writing image %s into the node\'s image store' % name)
        finally:
            self._exec(['rm', '-f', inside])

    def _checked(self, outcome, what):
        rc, out, err = outcome
        if rc == 0:
            return
        said = (err or out or '').strip()
        if _NO_SPACE in said.lower():
            raise KincError('%s of cluster %s failed: the disk holding its /var volume is full (%s); free space on '
                            'the host (podman system df, or remove unused images in the node) and run again'
                            % (what, self.cluster, said))
        raise KincError('%s of cluster %s failed (exit code %s): %s' % (what, self.cluster, rc, said))


def _save(podman, source, tmp_dir):
    """Write the Podman image to an archive in a new directory under tmp_dir; returns the directory."""
    directory = tempfile.mkdtemp(prefix='kinc-image-', dir=tmp_dir)
    path = os.path.join(directory, 'image.tar')
    rc, out, err = podman.call(['save', '--quiet', '--format', 'docker-archive', '-o', path, source.location],
                               ok_rcs=_ANY_RC)
    if rc != 0:
        shutil.rmtree(directory, ignore_errors=True)
        said = (err or out or '').strip()
        if _NO_SPACE in said.lower():
            raise KincError('saving image %s to %s failed: the disk is full (%s); free space there or set tmp_dir'
                            % (source.location, tmp_dir, said))
        raise KincError('podman save %s failed (exit code %s): %s' % (source.location, rc, said))
    return directory, path


def ensure(podman, cluster, source, name, tmp_dir, check_mode, rootless):
    """Load `source` into `cluster` as `name` unless the node has that ID already; returns the result.
    `rootless`: the owner is not root, so the node is a user namespace."""
    node = NodeImages(podman, cluster, rootless)
    running = node.check_running(check_mode)
    previous = node.image_id(name) if running else None
    result = {'cluster': cluster, 'name': name, 'image_id': source.image_id, 'previous_id': previous,
              'changed': previous != source.image_id,
              'diff': {'before': {'cluster': cluster, 'name': name, 'image_id': previous},
                       'after': {'cluster': cluster, 'name': name, 'image_id': source.image_id}}}
    if not result['changed'] or check_mode:
        return result
    free = node.free_bytes()
    if free is not None and source.size and free < SPACE_FACTOR * source.size:
        raise KincError('cluster %s has %d MiB free on its /var volume; image %s needs about %d MiB; free space on '
                        'the host (podman system df) and run again'
                        % (cluster, free // 2 ** 20, name, SPACE_FACTOR * source.size // 2 ** 20))
    directory = None
    try:
        if source.kind == 'podman':
            directory, path = _save(podman, source, tmp_dir)
        else:
            path = source.location
        node.load(path, source.transport, name)
    finally:
        if directory:
            shutil.rmtree(directory, ignore_errors=True)
    loaded = node.image_id(name)
    if loaded != source.image_id:
        raise KincError('image %s in cluster %s has ID %s after loading, not %s as the source; its config was '
                        'rewritten on the way' % (name, cluster, loaded, source.image_id))
    return result

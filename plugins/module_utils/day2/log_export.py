# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Everything needed to debug one cluster, gathered into <dest>/<cluster>/ and <dest>/<cluster>.tar.gz
(kinc_logs, playbooks/export-logs.yml).

Each piece is gathered on its own: a piece that cannot be had (node stopped, API down, file never written) is
recorded as missing with the reason and the rest goes on, so a cluster that failed at any step still yields
an archive. Files are read from the cluster's volumes where possible (that works when the node is down) and
from inside the node otherwise. Certificates and keys are never copied, and every text passes
redaction.redact. Everything is written under <dest> only: the cluster name must be a cluster name, every file
is created new (O_EXCL|O_NOFOLLOW) with mode 0600, a link in the place of a cluster's directory or archive is
removed, never followed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import stat
import tarfile

from ansible_collections.kinc.kinc.plugins.module_utils.converge import cluster_facts
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming
from ansible_collections.kinc.kinc.plugins.module_utils.module_base import KincError
from ansible_collections.kinc.kinc.plugins.module_utils.redaction import redact

# The units of the node's init chain, CRI-O and kubelet (files/image/README.md, "The init chain").
NODE_UNITS = ('kinc-cgroups.service', 'crio.service', 'kinc-preflight.service', 'kinc-kubeadm-init.service',
              'kinc-postinit.service', 'kinc-events.service', 'kubelet.service')
JOURNAL_LINES = 20000
# Node files under /var, read through the /var volume: (node path, name in the bundle).
VAR_FILES = ((naming.NODE_STATUS_FILE, 'node/status.json'),
             (naming.NODE_EVENTS_FILE, 'node/events.jsonl'),
             (naming.NODE_KUBEADM_CONFIG, 'node/kubeadm.yaml'))
# Never copied from the config volume: certificates and keys.
_SECRET_FILE = re.compile(r'\.(key|crt|pem|p12|pfx)$|^(pki|tls|certs?)$', re.I)
_ANY_RC = tuple(range(-255, 256))
FILE_MODE = 0o600
DIR_MODE = 0o700


def create(path, mode=FILE_MODE):
    """A new file at `path` (never an existing one, never through a link), open for binary writing."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode), 'wb')


def _clear(path):
    """Remove what is at `path`: a link or file itself, a directory with its content (never what a link names)."""
    try:
        info = os.lstat(path)
    except OSError:
        return
    if stat.S_ISDIR(info.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)


class Missing(Exception):
    """A piece that cannot be had; the message says why."""


def _said(rc, out, err):
    return ((err or '').strip() or (out or '').strip() or 'no output').splitlines()[-1][:300] + ' (exit code %s)' % rc


class ClusterLogs(object):
    """Gathers one cluster's pieces into `directory`; `run(argv)` runs a host command without a shell."""

    def __init__(self, name, podman, run, user_systemd, quadlet_dir, directory, dump_max_bytes):
        self.name = name
        self.podman = podman
        self.run = run
        self.user_systemd = user_systemd
        self.quadlet_dir = quadlet_dir
        self.directory = directory
        self.dump_max_bytes = dump_max_bytes
        self.container = naming.container_name(name)
        self.files = []
        self.missing = []
        self.running = False
        self.volumes = {}

    # -- writing ---------------------------------------------------------------------------------
    def _write(self, relative, text):
        # `relative` is one of this module's own names ('journal/crio.service.log'), never a host's.
        parent = os.path.join(self.directory, os.path.dirname(relative))
        if not os.path.isdir(parent):
            os.mkdir(parent, DIR_MODE)
        with create(os.path.join(self.directory, relative)) as handle:
            handle.write(redact(text).encode('utf-8', 'replace'))
        self.files.append(relative)

    def piece(self, relative, produce):
        """Write what `produce()` returns as `relative`, or record it as missing."""
        try:
            text = produce()
        except Missing as exc:
            self.missing.append({'piece': relative, 'reason': str(exc)})
            return None
        except (IOError, OSError) as exc:
            self.missing.append({'piece': relative, 'reason': str(exc)})
            return None
        self._write(relative, text)
        return text

    # -- sources ---------------------------------------------------------------------------------
    def _podman(self, args):
        rc, out, err = self.podman.call(args, ok_rcs=_ANY_RC)
        if rc != 0:
            raise Missing(_said(rc, out, err))
        return out

    def _node(self, argv):
        if not self.running:
            raise Missing('the node %s is not running' % self.container)
        return self._podman(['exec', self.container] + list(argv))

    def _host(self, argv, ok_rcs=(0,)):
        rc, out, err = self.run(argv)
        if rc not in ok_rcs:
            raise Missing(_said(rc, out, err))
        if not out.strip():
            raise Missing('%s printed nothing' % ' '.join(argv))
        return out

    def _inspect(self):
        out = self._podman(['container', 'inspect', '--format', 'json', self.container])
        data = json.loads(out or '[]')
        if not data:
            raise Missing('no container %s' % self.container)
        self.running = ((data[0].get('State') or {}).get('Status')) == 'running'
        return json.dumps(data, indent=2, sort_keys=True) + '\n'

    def _volumes(self):
        found = []
        for volume in naming.volume_names(self.name):
            rc, out, _err = self.podman.call(['volume', 'inspect', '--format', 'json', volume], ok_rcs=_ANY_RC)
            # Podman resolves a unique prefix of a volume name: only the volume of that exact name is the cluster's.
            found.extend(v for v in (json.loads(out or '[]') if rc == 0 else []) if v.get('Name') == volume)
        if not found:
            raise Missing('the cluster has no volumes')
        self.volumes = dict((v.get('Name'), v.get('Mountpoint')) for v in found)
        return json.dumps(found, indent=2, sort_keys=True) + '\n'

    def _volume_file(self, volume, relative):
        mountpoint = self.volumes.get(volume)
        if not mountpoint:
            raise Missing('volume %s does not exist' % volume)
        path = os.path.join(mountpoint, relative)
        if not os.path.lexists(path):
            raise Missing('%s was never written' % path)
        # The node's root is the user on the host: a link it planted in a volume must not export a host file.
        if os.path.islink(path) or not os.path.isfile(path):
            raise Missing('%s is not a regular file (a link is not followed)' % path)
        text = cluster_facts.read_text(path)
        if text is None:
            raise Missing('%s cannot be read by the user running the task' % path)
        return text

    def _journal(self, unit):
        try:
            return self._node(['journalctl', '-u', unit, '--no-pager', '-o', 'short-iso', '-n', str(JOURNAL_LINES)])
        except Missing:
            if self.running:
                raise
        # The node is down: its journal may still be on the /var volume.
        journal_dir = os.path.join(self.volumes.get(naming.var_volume_name(self.name)) or '/nonexistent',
                                   'log', 'journal')
        if not os.path.isdir(journal_dir):
            raise Missing('the node %s is not running and its /var volume has no persistent journal' % self.container)
        return self._host(['journalctl', '--directory', journal_dir, '-u', unit, '--no-pager', '-o', 'short-iso',
                           '-n', str(JOURNAL_LINES)])

    def _kubectl(self, argv, timeout):
        return self._node(['timeout', str(timeout), 'kubectl'] + list(argv))

    def _dump(self):
        text = self._kubectl(['cluster-info', 'dump', '--all-namespaces'], 120)
        if len(text) > self.dump_max_bytes:
            text = text[:self.dump_max_bytes] + '\n[kinc: cut at %d bytes of %d]\n' % (self.dump_max_bytes, len(text))
        return text

    # -- the whole -------------------------------------------------------------------------------
    def gather(self):
        systemctl = ['systemctl'] + (['--user'] if self.user_systemd else [])
        journalctl = ['journalctl'] + (['--user'] if self.user_systemd else [])
        service = naming.service_name(self.name)
        self.piece('podman/inspect.json', self._inspect)
        self.piece('podman/volumes.json', self._volumes)
        self.piece('host/service-status.txt', lambda: self._host(systemctl + ['status', '--no-pager', '--full', service],
                                                                 ok_rcs=(0, 3)))
        self.piece('host/service.log', lambda: self._host(journalctl + ['-u', service, '--no-pager', '-o', 'short-iso',
                                                                        '-n', str(JOURNAL_LINES)]))
        for file_name in naming.quadlet_file_names(self.name):
            path = os.path.join(self.quadlet_dir, file_name)
            self.piece('quadlet/' + file_name, lambda path=path: self._file(path))
        config_volume = naming.config_volume_name(self.name)
        for file_name in self._config_files(config_volume):
            self.piece('config/' + file_name, lambda f=file_name: self._volume_file(config_volume, f))
        var_volume = naming.var_volume_name(self.name)
        for node_path, relative in VAR_FILES:
            self.piece(relative, lambda p=node_path: self._volume_file(var_volume, cluster_facts.var_path('', p)))
        for unit in NODE_UNITS:
            self.piece('journal/%s.log' % unit, lambda u=unit: self._journal(u))
        self.piece('journal/node.log', lambda: self._node(['journalctl', '--no-pager', '-o', 'short-iso', '-n',
                                                           str(JOURNAL_LINES)]))
        api = self.piece('kubectl/readyz.txt', lambda: self._kubectl(['get', '--raw', '/readyz'], 30))
        if api is None:
            reason = 'the API does not answer (see kubectl/readyz.txt in missing)'
            for relative in ('kubectl/get-nodes-pods-events.txt', 'kubectl/cluster-info-dump.txt'):
                self.missing.append({'piece': relative, 'reason': reason})
        else:
            self.piece('kubectl/get-nodes-pods-events.txt',
                       lambda: self._kubectl(['get', 'nodes,pods,events', '--all-namespaces', '-o', 'wide'], 60))
            self.piece('kubectl/cluster-info-dump.txt', self._dump)
        self._write('summary.json', json.dumps({'cluster': self.name, 'files': sorted(self.files + ['summary.json']),
                                                'missing': self.missing}, indent=2, sort_keys=True) + '\n')

    def _file(self, path):
        text = cluster_facts.read_text(path)
        if text is None:
            raise Missing('%s does not exist' % path)
        return text

    def _config_files(self, volume):
        mountpoint = self.volumes.get(volume)
        if not mountpoint or not os.path.isdir(mountpoint):
            self.missing.append({'piece': 'config/', 'reason': 'volume %s does not exist' % volume})
            return []
        return sorted(f for f in os.listdir(mountpoint) if not _SECRET_FILE.search(f)
                      and os.path.isfile(os.path.join(mountpoint, f)) and not os.path.islink(os.path.join(mountpoint, f)))


def _owned(info):
    return info.st_uid == os.geteuid()


def dest_error(dest):
    """Why `dest` (existing) cannot receive logs, or None: it must be a directory of the user running the
    task that nobody else can write (a link or another's directory could send the files elsewhere)."""
    info = os.lstat(dest)
    if not stat.S_ISDIR(info.st_mode):
        return '%s is not a directory (a link is not followed)' % dest
    if not _owned(info):
        return '%s belongs to uid %d, not to uid %d running the task' % (dest, info.st_uid, os.geteuid())
    if stat.S_IMODE(info.st_mode) & (stat.S_IWGRP | stat.S_IWOTH):
        return '%s is writable by other users (mode %o)' % (dest, stat.S_IMODE(info.st_mode))
    return None


def export(name, podman, run, user_systemd, quadlet_dir, dest, dump_max_bytes):
    """Gather cluster `name` into <dest>/<name>/ and <dest>/<name>.tar.gz; returns its entry."""
    if naming.name_error(name):
        raise KincError('%r is not a cluster name, so nothing is written under %s for it' % (name, dest))
    directory = os.path.join(dest, name)
    _clear(directory)
    os.mkdir(directory, DIR_MODE)
    logs = ClusterLogs(name, podman, run, user_systemd, quadlet_dir, directory, dump_max_bytes)
    logs.gather()
    archive = os.path.join(dest, '%s.tar.gz' % name)
    _clear(archive)
    with create(archive) as raw:
        with tarfile.open(fileobj=raw, mode='w:gz') as handle:
            handle.add(directory, arcname=name)
    return {'name': name, 'directory': directory, 'archive': archive, 'archive_bytes': os.path.getsize(archive),
            'files': sorted(logs.files), 'missing': logs.missing}

# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place kinc talks to Podman: argument lists in, JSON parsed into typed results out.

The runner is injected so unit tests can feed captured `--format json` output; modules use
`PodmanClient.from_module(module)`, which runs podman through `module.run_command`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from collections import namedtuple

from ansible_collections.kinc.kinc.plugins.module_utils.versions import parse_version

# The oldest Podman whose Quadlet understands every key of files/quadlet/*.j2 (VolumeName= came in 4.7;
# tests/unit/plugins/module_utils/test_quadlet_keys.py keeps the two in step).
MIN_PODMAN_VERSION = '4.7'

Container = namedtuple('Container', ['name', 'id', 'state', 'labels', 'ports'])
Volume = namedtuple('Volume', ['name', 'labels', 'mountpoint'])
Network = namedtuple('Network', ['name', 'subnets'])
# One published port: host address, host port, container port, protocol.
PortMapping = namedtuple('PortMapping', ['host_ip', 'host_port', 'container_port', 'protocol'])


class PodmanError(Exception):
    """podman failed; the message quotes the command and what podman said."""

    def __init__(self, argv, rc, stdout, stderr, what=None):
        self.argv = list(argv)
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        said = (stderr or stdout or '').strip() or 'no output'
        msg = "'%s' failed with exit code %s: %s" % (' '.join(self.argv), rc, said)
        if what:
            msg = '%s: %s' % (what, msg)
        super(PodmanError, self).__init__(msg)


class PodmanNotFound(Exception):
    """The podman executable is missing."""

    def __init__(self, executable):
        super(PodmanNotFound, self).__init__(
            "podman executable %r was not found; install Podman %s or newer "
            "(the kinc.kinc.kinc_host role does it)" % (executable, MIN_PODMAN_VERSION))


def _labels(raw):
    return dict(raw or {})


def _container_from_ps(entry):
    names = entry.get('Names') or []
    name = names[0] if isinstance(names, list) and names else (names or '')
    ports = []
    for port in entry.get('Ports') or []:
        count = int(port.get('range') or 1)
        for offset in range(count):
            ports.append(PortMapping(port.get('host_ip') or '',
                                     int(port.get('host_port', 0)) + offset,
                                     int(port.get('container_port', 0)) + offset,
                                     port.get('protocol') or 'tcp'))
    return Container(name, entry.get('Id', ''), (entry.get('State') or '').lower(),
                     _labels(entry.get('Labels')), ports)


def _volume_from_ls(entry):
    return Volume(entry.get('Name', ''), _labels(entry.get('Labels')), entry.get('Mountpoint', ''))


def _network_from_ls(entry):
    subnets = [s.get('subnet') for s in (entry.get('subnets') or entry.get('Subnets') or []) if s.get('subnet')]
    return Network(entry.get('name') or entry.get('Name', ''), subnets)


class PodmanClient:
    """Typed access to the podman CLI.

    `runner(argv, data=None) -> (rc, stdout, stderr)` runs one command without a shell.
    """

    def __init__(self, runner, executable='podman'):
        self._runner = runner
        self.executable = executable

    @classmethod
    def from_module(cls, module, executable='podman'):
        path = module.get_bin_path(executable)
        if not path:
            raise PodmanNotFound(executable)

        def runner(argv, data=None):
            return module.run_command(argv, data=data, binary_data=data is not None)

        return cls(runner, path)

    # -- raw calls -----------------------------------------------------------------------------
    def call(self, args, data=None, what=None, ok_rcs=(0,)):
        """Run podman with `args`; return (rc, stdout, stderr); raise PodmanError unless rc is in ok_rcs."""
        argv = [self.executable] + list(args)
        rc, out, err = self._runner(argv, data=data)
        if rc not in ok_rcs:
            raise PodmanError(argv, rc, out, err, what)
        return rc, out, err

    def call_json(self, args, what=None):
        rc, out, _err = self.call(args, what=what)
        return self._parse_json(args, rc, out, what)

    def _parse_json(self, args, rc, out, what):
        try:
            return json.loads(out) if out.strip() else None
        except ValueError as exc:
            raise PodmanError([self.executable] + list(args), rc, out, 'could not parse JSON output (%s)' % exc, what)

    # -- facts ---------------------------------------------------------------------------------
    def version(self):
        """Podman's version as a tuple of ints, e.g. (5, 4, 2)."""
        data = self.call_json(['version', '--format', 'json'], what='reading podman version') or {}
        client = data.get('Client') or data.get('Server') or {}
        return parse_version(client.get('Version', '0'))

    # -- containers ----------------------------------------------------------------------------
    def containers(self, label=None):
        """All containers (running or not), optionally filtered by a label `key` or `key=value`."""
        args = ['ps', '--all', '--format', 'json']
        if label:
            args += ['--filter', 'label=%s' % label]
        return [_container_from_ps(e) for e in self.call_json(args, what='listing containers') or []]

    def container_inspect(self, name):
        """`podman container inspect` of `name` as a dict, or None when there is no such container."""
        args = ['container', 'inspect', '--format', 'json', name]
        what = 'inspecting container %s' % name
        rc, out, err = self.call(args, ok_rcs=(0, 125), what=what)
        if rc != 0:
            if 'no such container' in (err or '').lower():
                return None
            raise PodmanError([self.executable] + args, rc, out, err, what)
        data = self._parse_json(args, rc, out, what)
        return data[0] if data else None

    def image_exists(self, name):
        rc, _out, _err = self.call(['image', 'exists', name], ok_rcs=(0, 1), what='looking for image %s' % name)
        return rc == 0

    def remove_container(self, name, timeout=10):
        self.call(['rm', '--force', '--ignore', '--time', str(timeout), name], what='removing container %s' % name)

    # -- volumes -------------------------------------------------------------------------------
    def volumes(self, label=None):
        args = ['volume', 'ls', '--format', 'json']
        if label:
            args += ['--filter', 'label=%s' % label]
        return [_volume_from_ls(e) for e in self.call_json(args, what='listing volumes') or []]

    def volume(self, name):
        for found in self.volumes():
            if found.name == name:
                return found
        return None

    def create_volumes(self, volumes):
        """Create labelled volumes, `volumes` a list of (name, labels), in one podman run.

        `podman kube play` makes one volume per PersistentVolumeClaim with the claim's labels, the same volume
        `podman volume create --label` makes; one process instead of one per volume (a fleet's allocation
        creates two per cluster). JSON is YAML, so the claims need no YAML library. `--network none`: without
        it Podman creates its network for kube pods (podman-default-kube-network), which would take a subnet."""
        if not volumes:
            return
        claims = '\n---\n'.join(json.dumps({
            'apiVersion': 'v1', 'kind': 'PersistentVolumeClaim',
            'metadata': {'name': name, 'labels': dict(labels)},
        }, sort_keys=True) for name, labels in volumes)
        self.call(['kube', 'play', '--network', 'none', '-'], data=claims,
                  what='creating volume%s %s' % ('s' if len(volumes) > 1 else '', ', '.join(v[0] for v in volumes)))

    def remove_volume(self, name):
        # Podman resolves a unique prefix of a volume name: with `name` gone, rm would remove another volume.
        if self.volume(name) is None:
            return
        rc, out, err = self.call(['volume', 'rm', '--force', name], ok_rcs=(0, 1),
                                 what='removing volume %s' % name)
        if rc != 0 and 'no such volume' not in (err or '').lower():
            raise PodmanError([self.executable, 'volume', 'rm', '--force', name], rc, out, err)

    # -- networks ------------------------------------------------------------------------------
    def networks(self):
        return [_network_from_ls(e) for e in self.call_json(['network', 'ls', '--format', 'json'],
                                                            what='listing networks') or []]

# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One fake host for the unit tests: answers the podman and systemctl argv kinc runs like the real tools.

It keeps the state those commands change, with the semantics kinc relies on:
- systemd runs what it *loaded* at the last daemon-reload (Quadlet's generated services), not what is on disk;
  NeedDaemonReload says when the Quadlet file differs from what was loaded;
- a started node container carries the labels of the loaded .container unit, is removed when its service
  stops (Quadlet's --rm), and starting it creates missing volumes from the .volume units;
- a node's status, initialized marker and admin kubeconfig live on its /var volume, which is the node's
  /var inside: `podman exec <node> cat /var/...` and `podman cp` into /var/... are files of that volume;
- `podman kube play` of PersistentVolumeClaims creates labelled volumes (how kinc creates volumes);
- the owner's image storage holds images by name (their config, whose digest is the ID), the node images of
  NODE_IMAGES from the start; `podman save`
  writes the config as the archive, and `skopeo copy` in the node stores an archive's config under a name in
  the node's own store;
- in a running node, kubectl answers while `api_up` (readyz, get, cluster-info dump) and reads admin.conf.
Files are real, under a temporary directory. `kill_after(n)` simulates a SIGKILL right after the n-th
mutating step (a mutating command, or a file created, replaced, removed or chmod'ed): from then on nothing
happens any more and every call raises Killed.
"""

import contextlib
import datetime
import hashlib
import json
import os
import re

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils.spec import cluster_spec
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming

# The node images the owner's storage holds from the start: the default and the one tests change to.
NODE_IMAGES = (cluster_spec.DEFAULT_IMAGE, 'localhost/kinc-node:v2')

STEPS = [{'name': 'crio', 'unit': 'crio.service', 'state': 'done', 'started': '', 'finished': '', 'message': ''}]
ADMIN = {
    'clusters': [{'name': 'kubernetes', 'cluster': {'server': 'https://x:6443', 'certificate-authority-data': 'Q0E='}}],
    'users': [{'name': 'kubernetes-admin', 'user': {'client-certificate-data': 'Q0VSVA==', 'client-key-data': 'S0VZ'}}],
    'contexts': [{'name': 'kubernetes-admin@kubernetes', 'context': {'cluster': 'kubernetes', 'user': 'kubernetes-admin'}}],
    'current-context': 'kubernetes-admin@kubernetes',
}
ADMIN_TEXT = ('apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: Q0E=\n    server: https://x:6443\n'
              'users:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: Q0VSVA==\n'
              '    client-key-data: S0VZ\n')
_LABEL = re.compile(r'^Label="?([^=]+)=(.*?)"?$')


class Killed(BaseException):
    """The simulated SIGKILL: nothing (not even `except Exception`) stops it."""


def iso(seconds):
    return datetime.datetime.fromtimestamp(int(seconds), datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def status_text(phase, steps=None, cluster='', at=None):
    steps = [dict(s) for s in (steps or STEPS)]
    if at is not None:
        for step in steps:
            step['started'] = step['finished'] = iso(at)
    return json.dumps({'schema': 1, 'cluster': cluster, 'phase': phase, 'steps': steps})


def labels_of(unit_text):
    found = {}
    for line in unit_text.splitlines():
        match = _LABEL.match(line.strip())
        if match:
            found[match.group(1)] = match.group(2)
    return found


def make_record_dir(directory, *uids):
    """The host-wide record directory (0755) with the directory of each of `uids`, theirs."""
    os.mkdir(directory)
    os.chmod(directory, 0o755)
    for uid in uids:
        os.mkdir(os.path.join(directory, str(uid)), 0o755)
        os.chown(os.path.join(directory, str(uid)), uid, uid)


def plant_record(directory, uid, content):
    """Another user's record file: `content` (text, or the clusters mapping to write as JSON), owned by uid."""
    place = os.path.join(directory, str(uid))
    if not os.path.isdir(place):
        os.mkdir(place, 0o755)
        os.chown(place, uid, uid)
    path = os.path.join(place, 'record.json')
    with open(path, 'w') as handle:
        handle.write(content if isinstance(content, str) else json.dumps({'uid': uid, 'clusters': content}))
    os.chown(path, uid, uid)
    return path


class FakeHost:

    def __init__(self, root):
        self.root = root
        self.quadlet_dir = str(root / 'systemd')
        self.generator_dir = root / 'generator'
        self.home = root / 'home'
        # The host-wide allocation record as role kinc_host makes it: root's 0755, a directory per user.
        self.record_dir = str(root / 'allocations')
        make_record_dir(self.record_dir, os.geteuid())
        self.calls = []
        self.volumes = {}      # name -> [labels, mountpoint]
        self.created = {}      # volume name -> CreatedAt as podman prints it
        self.containers = {}   # name -> {'id', 'state', 'labels', 'ports'}
        self.networks = {'podman': ['10.88.0.0/16']}
        self.images = {}       # the owner's storage: name -> {'config', 'size'}
        for node_image in NODE_IMAGES:
            self.add_image(node_image, '{"node": "%s"}' % node_image)
        self.node_images = {}  # node container -> {name: config} of its own store
        self.free = 10 ** 10   # free bytes of the disk holding the volumes (df in a node)
        self.node_missing = set()  # executables a node's image lacks
        self.node_refuse = {}  # 'tool verb' run in a node -> stderr of a failure (e.g. a full disk)
        self.api_up = True     # a running node's API server answers kubectl
        self.journal_extra = ''  # more lines of every journal (node and host), e.g. a secret
        self.cluster_dump = 'kubectl cluster-info dump of the node\n'
        self.active = {}       # service -> ActiveState
        self.sub = {}          # service -> SubState
        self.loaded = {}       # service -> Quadlet file text loaded at the last daemon-reload
        self.clock = 1000.0
        self.sleeps = 0
        self.next_id = 1
        # Scripted answers of `cat status.json ...` (the last one repeats); empty: the node boots at once.
        self.statuses = []
        self.initialized = True
        self.refuse = {}       # systemctl verb -> stderr of a failure
        self._steps_left = None
        self.dead = False
        # The fake's own file operations (volumes, generated units, node files) are not kinc's steps.
        self._internal = False

    # -- clock ---------------------------------------------------------------------------------
    def now(self):
        return self.clock

    def sleep(self, seconds):
        self.sleeps += 1
        self.clock += seconds

    # -- the kill switch -----------------------------------------------------------------------
    def step(self):
        """Count one mutating step; the one that exhausts the budget is carried out, then the host dies."""
        if self._steps_left is None:
            return
        self._steps_left -= 1
        if self._steps_left == 0:
            self.dead = True

    def _check_alive(self):
        if self.dead:
            raise Killed()

    @contextlib.contextmanager
    def kill_after(self, steps):
        """Run the body with a kill after `steps` mutating steps (None: never)."""
        monkeypatch = pytest.MonkeyPatch()
        self._steps_left = steps
        self.dead = False
        for name in ('replace', 'unlink', 'mkdir', 'chmod', 'fchmod'):
            monkeypatch.setattr(os, name, self._mutating(getattr(os, name)))
        original_open = os.open

        def guarded_open(path, flags, *args):
            if self._internal:
                return original_open(path, flags, *args)
            self._check_alive()
            fd = original_open(path, flags, *args)
            if flags & os.O_CREAT:
                self.step()
            return fd
        monkeypatch.setattr(os, 'open', guarded_open)
        try:
            yield
        finally:
            monkeypatch.undo()
            self._steps_left = None

    def _mutating(self, function):
        def wrapper(*args, **kwargs):
            if self._internal:
                return function(*args, **kwargs)
            self._check_alive()
            result = function(*args, **kwargs)
            self.step()
            return result
        return wrapper

    # -- the world -----------------------------------------------------------------------------
    def add_volume(self, name, labels, created=None):
        mountpoint = self.root / 'volumes' / name
        mountpoint.mkdir(parents=True)
        self.volumes[name] = [dict(labels), str(mountpoint)]
        self.created[name] = created or iso(self.clock)

    def volume_labels(self):
        return dict((n, v[0]) for n, v in self.volumes.items())

    def add_container(self, name, labels, state='running', ports=()):
        """A container made outside Quadlet (or one whose service is gone); ports as `podman ps` prints them."""
        self.containers[name] = {'id': 'c%d' % self.next_id, 'state': state, 'labels': dict(labels),
                                 'ports': list(ports)}
        self.next_id += 1

    def add_image(self, name, config, size=10 ** 8):
        """An image of the owner's storage; its ID is the digest of its config."""
        self.images[name] = {'config': config, 'size': size}

    def node_path(self, container, path):
        """The host path of `path` (under /var) inside node `container`: a file of its /var volume."""
        assert path.startswith('/var/'), path
        volume = naming.var_volume_name(container[len('kinc-'):-len('-control-plane')])
        if volume not in self.volumes:
            return None
        return os.path.join(self.volumes[volume][1], path[len('/var/'):])

    def node_file(self, container, name):
        """A file of the node's /var volume (status.json, initialized, admin.conf) on the host."""
        volume = naming.var_volume_name(container[len('kinc-'):-len('-control-plane')])
        where = {'status.json': 'lib/kinc', 'initialized': 'lib/kinc', 'admin.conf': 'lib/kinc/kubernetes'}[name]
        return os.path.join(self.volumes[volume][1], where, name)

    def snapshot(self):
        """Everything kinc may change, without what differs between equal end states (container ids)."""
        tree = {}
        for dirpath, _dirs, names in os.walk(str(self.root)):
            if dirpath.startswith(str(self.generator_dir)):
                continue
            for name in names:
                path = os.path.join(dirpath, name)
                if os.path.basename(path) in ('status.json', 'initialized', 'admin.conf'):
                    continue
                with open(path) as handle:
                    tree[os.path.relpath(path, str(self.root))] = (handle.read(), oct(os.stat(path).st_mode & 0o7777))
        return {
            'files': tree,
            'volumes': dict((n, v[0]) for n, v in self.volumes.items()),
            'containers': dict((n, (c['state'], c['labels'])) for n, c in self.containers.items()),
            'active': dict((s, a) for s, a in self.active.items() if a != 'inactive'),
            'loaded': dict(self.loaded),
        }

    def _is_mutating(self, argv):
        read_only = (('volume', 'ls'), ('volume', 'inspect'), ('container', 'inspect'), ('image', 'inspect'),
                     ('image', 'exists'),
                     ('network', 'ls'), ('ps',), ('exec',), ('show',), ('status',))
        args = self._args(argv)
        if args[:1] == ['exec'] and (args[2:4] == ['skopeo', 'copy'] or args[2:3] == ['rm']):
            return True
        return (os.path.basename(argv[0]) != 'journalctl'
                and not any(tuple(args[:len(r)]) == r for r in read_only))

    def mutating(self):
        """The commands run that change something on a real host."""
        return [argv for argv in self.calls if self._is_mutating(argv)]

    def podman_calls(self):
        return [argv for argv in self.calls if os.path.basename(argv[0]) == 'podman']

    # -- commands ------------------------------------------------------------------------------
    @staticmethod
    def _args(argv):
        """The podman arguments without --user and the --env pairs of `podman exec`."""
        args, rest = [], list(argv[1:])
        while rest:
            arg = rest.pop(0)
            if arg == '--env':
                rest.pop(0)
            elif arg != '--user':
                args.append(arg)
        return args

    def run(self, argv, data=None):
        self._check_alive()
        self.calls.append(list(argv))
        tool = os.path.basename(argv[0])
        self._internal = True
        try:
            handler = getattr(self, '_' + tool)
            answer = handler(self._args(argv), data) if tool == 'podman' else handler(self._args(argv))
        finally:
            self._internal = False
        if self._is_mutating(argv):
            self.step()
        return answer

    def _podman(self, args, data=None):
        if args[:2] == ['volume', 'ls']:
            return 0, json.dumps([{'Name': n, 'Labels': v[0], 'Mountpoint': v[1]}
                                  for n, v in sorted(self.volumes.items())]), ''
        if args == ['kube', 'play', '--network', 'none', '-']:
            claims = [json.loads(doc) for doc in data.split('\n---\n')]
            assert all(c['kind'] == 'PersistentVolumeClaim' for c in claims), 'kinc plays only volume claims'
            for claim in claims:
                self._create_volume(claim['metadata']['name'], claim['metadata']['labels'])
            return 0, 'Volumes:\n' + ''.join(c['metadata']['name'] + '\n' for c in claims), ''
        if args[:2] == ['volume', 'rm']:
            self.volumes.pop(args[-1], None)
            self.created.pop(args[-1], None)
            return 0, '', ''
        if args[:4] == ['volume', 'inspect', '--format', 'json']:
            if args[-1] not in self.volumes:
                return 125, '[]', 'Error: inspecting object: no such volume %s' % args[-1]
            labels, mountpoint = self.volumes[args[-1]]
            return 0, json.dumps([{'Name': args[-1], 'Labels': labels, 'Mountpoint': mountpoint,
                                   'CreatedAt': self.created[args[-1]]}]), ''
        if args[:2] == ['container', 'inspect']:
            if args[-1] not in self.containers:
                return 125, '[]', 'Error: no such container %s' % args[-1]
            return 0, json.dumps([{'Name': args[-1], 'State': {'Status': self.containers[args[-1]]['state']}}]), ''
        if args[:2] == ['image', 'exists']:
            return (0 if self._image(args[-1])[1] is not None else 1), '', ''
        if args[:2] == ['image', 'inspect']:
            return self._image_inspect(args[-1])
        if args[:2] == ['network', 'ls']:
            return 0, json.dumps([{'name': n, 'subnets': [{'subnet': s} for s in subnets]}
                                  for n, subnets in sorted(self.networks.items())]), ''
        if args[0] == 'ps':
            return 0, json.dumps([{'Names': [n], 'Id': c['id'], 'State': c['state'], 'Labels': c['labels'],
                                   'Ports': c.get('ports', [])}
                                  for n, c in sorted(self.containers.items())]), ''
        if args[0] == 'rm':
            self.containers.pop(args[-1], None)
            return 0, '', ''
        if args[0] == 'exec':
            return self._exec(args[1], args[2:])
        if args[0] == 'save':
            return self._save(args[args.index('-o') + 1], args[-1])
        if args[0] == 'cp':
            return self._cp(args[1], *args[2].split(':', 1))
        raise AssertionError('unexpected podman %s' % args)

    def _image(self, reference):
        """The owner's image `reference` names (a short name is looked up under localhost/), or None."""
        for name in (reference, 'localhost/' + reference):
            if name in self.images:
                return name, self.images[name]
        return None, None

    def _image_inspect(self, reference):
        name, image = self._image(reference)
        if image is None:
            return 125, '[]', 'Error: %s: image not known' % reference
        image_id = hashlib.sha256(image['config'].encode()).hexdigest()
        return 0, json.dumps([{'Id': image_id, 'RepoTags': [name], 'Size': image['size']}]), ''

    def _save(self, path, reference):
        _name, image = self._image(reference)
        if image is None:
            return 125, '', 'Error: %s: image not known' % reference
        with open(path, 'w') as handle:
            handle.write(image['config'])
        return 0, '', ''

    def _cp(self, source, container, inside):
        if container not in self.containers:
            return 125, '', 'Error: no container with name or ID "%s" found' % container
        target = self.node_path(container, inside)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(source) as src, open(target, 'w') as dst:
            dst.write(src.read())
        return 0, '', ''

    def _create_volume(self, name, labels):
        if name not in self.volumes:
            self.add_volume(name, labels)

    def _exec(self, container, argv):
        if (self.containers.get(container) or {}).get('state') != 'running':
            return 125, '', 'Error: no container with name or ID "%s" found' % container
        if argv[0] == 'timeout':
            argv = argv[2:]
        if argv[0] == 'kubectl':
            return self._kubectl(argv[1:])
        if argv[0] == 'journalctl':
            return 0, 'node journal of %s\n%s' % (argv[2] if argv[1] == '-u' else 'the node', self.journal_extra), ''
        if argv[0] in self.node_missing:
            return 127, '', 'exec: "%s": executable file not found in $PATH' % argv[0]
        if ' '.join(argv[:2]) in self.node_refuse:
            return 1, '', self.node_refuse[' '.join(argv[:2])]
        if argv[0] == 'cat':
            path = self.node_path(container, argv[1])
            if path is None or not os.path.exists(path):
                return 1, '', 'cat: %s: No such file or directory' % argv[1]
            with open(path) as handle:
                return 0, handle.read(), ''
        if argv[:2] == ['rm', '-f']:
            path = self.node_path(container, argv[2])
            if path is not None and os.path.exists(path):
                os.remove(path)
            return 0, '', ''
        if argv[0] == 'df':
            return 0, 'Filesystem 1-blocks Used Available Capacity Mounted on\nvar 100 0 %d 0%% /var\n' % self.free, ''
        if argv[0] == 'skopeo':
            return self._skopeo(container, argv[1:])
        raise AssertionError('unexpected exec %s' % argv)

    def _kubectl(self, args):
        if args[:2] == ['--kubeconfig', '/etc/kubernetes/admin.conf'] and args[2:4] == ['config', 'view']:
            return 0, json.dumps(ADMIN), ''
        if not self.api_up:
            return 1, '', 'The connection to the server localhost:6443 was refused - did you specify the right host?'
        if args == ['get', '--raw', '/readyz']:
            return 0, 'ok', ''
        if args[:2] == ['get', 'nodes,pods,events']:
            return 0, 'NAME STATUS\nnode Ready\n', ''
        if args[:2] == ['cluster-info', 'dump']:
            return 0, self.cluster_dump, ''
        raise AssertionError('unexpected kubectl %s' % args)

    def _skopeo(self, container, args):
        store = self.node_images.setdefault(container, {})
        if args[0] == 'inspect':
            name = args[-1].split(':', 1)[1]
            if name not in store:
                return 1, '', ('reference "[vfs@/var/lib/containers/storage+/run/containers/storage]%s" does not '
                               'resolve to an image ID' % name)
            return 0, store[name], ''
        if args[0] == 'copy':
            archive = self.node_path(container, args[-2].split(':', 1)[1])
            with open(archive) as handle:
                store[args[-1].split(':', 1)[1]] = handle.read()
            return 0, '', ''
        raise AssertionError('unexpected skopeo %s' % args)

    def read_file(self, path):
        """kinc's reads of the node's files on its /var volume, with the scripted statuses when there are."""
        name = os.path.basename(path)
        if name == 'status.json' and self.statuses:
            return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        if name == 'initialized' and not self.initialized:
            return None
        if not os.path.exists(path):
            return None
        with open(path) as handle:
            return handle.read()

    def _systemctl(self, args):
        verb = args[0]
        if verb in self.refuse:
            return 1, '', self.refuse[verb]
        if verb == 'show':
            props = args[1].split('=', 1)[1].split(',')
            return 0, '\n'.join(self._show(unit, props) for unit in args[2:]), ''
        if verb == 'status':
            unit = args[-1]
            state = self.active.get(unit, 'inactive')
            return (0 if state == 'active' else 3), '%s\n   Active: %s\n' % (unit, state), ''
        if verb == 'daemon-reload':
            self._reload()
        elif verb in ('start', 'restart'):
            if args[1] not in self.loaded:
                return 5, '', 'Unit %s not found.' % args[1]
            if verb == 'restart':
                self._stop(args[1])
            self._start(args[1])
        elif verb == 'stop':
            self._stop(args[1])
        elif verb == 'reset-failed':
            self.active[args[1]] = 'inactive'
        else:
            raise AssertionError('unexpected systemctl %s' % args)
        return 0, '', ''

    def _journalctl(self, args):
        return 0, 'host journal of %s\n%s' % (args[1], self.journal_extra), ''

    # -- systemd -------------------------------------------------------------------------------
    @staticmethod
    def _source(service):
        """The Quadlet file a generated service comes from."""
        if service.endswith('-volume.service'):
            return service[:-len('-volume.service')] + '.volume'
        return service[:-len('.service')] + '.container'

    def _file_text(self, service):
        path = os.path.join(self.quadlet_dir, self._source(service))
        if not os.path.exists(path):
            return None
        with open(path) as handle:
            return handle.read()

    def _show(self, unit, props):
        loaded = unit in self.loaded
        values = {
            'Id': unit,
            'LoadState': 'loaded' if loaded else 'not-found',
            'ActiveState': self.active.get(unit, 'inactive'),
            'SubState': self.sub.get(unit, 'dead'),
            'NeedDaemonReload': 'yes' if loaded and self._file_text(unit) != self.loaded[unit] else 'no',
            'FragmentPath': str(self.generator_dir / unit) if loaded else '',
        }
        return ''.join('%s=%s\n' % (p, values[p]) for p in props)

    def _reload(self):
        self.generator_dir.mkdir(exist_ok=True)
        for service in list(self.loaded):
            if self._file_text(service) is None and self.active.get(service, 'inactive') == 'inactive':
                del self.loaded[service]
                os.remove(str(self.generator_dir / service))
        if not os.path.isdir(self.quadlet_dir):
            return
        for name in os.listdir(self.quadlet_dir):
            if name.endswith('.container'):
                service = name[:-len('.container')] + '.service'
            elif name.endswith('.volume'):
                service = name[:-len('.volume')] + '-volume.service'
            else:
                continue
            self.loaded[service] = self._file_text(service)
            labels = labels_of(self.loaded[service])
            # The generated service passes the labels to podman, as Quadlet does (--label k=v).
            (self.generator_dir / service).write_text(
                'ExecStart=podman run %s\n' % ' '.join('--label %s=%s' % kv for kv in sorted(labels.items())))

    def _start(self, service):
        self.active[service], self.sub[service] = 'active', 'running'
        if service.endswith('-volume.service'):
            text = self.loaded[service]
            name = re.search(r'^VolumeName=(.*)$', text, re.M).group(1)
            self._create_volume(name, labels_of(text))
            return
        text = self.loaded[service]
        for line in text.splitlines():
            if line.startswith('Volume=') and '.volume:' in line:
                self._start(line[len('Volume='):].split('.volume:')[0] + '-volume.service')
        container = service[:-len('.service')]
        self.add_container(container, labels_of(text))
        if not container.endswith('-control-plane'):
            return  # not a node (the local registry): nothing boots
        # The node boots at once: a fresh status of this boot, initialized, with its admin kubeconfig.
        for name, content in (('status.json', status_text('ready', at=self.clock)),
                              ('initialized', '2026-11-22T10:00:01Z\n' if self.initialized else None),
                              ('admin.conf', ADMIN_TEXT)):
            path = self.node_file(container, name)
            if content is None:
                continue
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w') as handle:
                handle.write(content)

    def _stop(self, service):
        self.active[service], self.sub[service] = 'inactive', 'dead'
        if not service.endswith('-volume.service'):
            self.containers.pop(service[:-len('.service')], None)

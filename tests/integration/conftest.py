# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Integration test fixtures: real ansible-playbook runs against real Podman.

- `private_podman`: root Podman of this machine with a private storage (own graphroot/runroot through
  CONTAINERS_STORAGE_CONF), so the allocator sees only the test's own objects.
- `testhost`: one booted kinc test host (systemd, rootless Podman 5.4 for user kinc) per session.
  `TestHost` is reusable: copy the pattern or import it (`from conftest import TestHost`).
- `run_playbook`: runs a playbook of tests/integration/playbooks and returns its task's result.

Run after `. tests/tooling/lib.sh` (the test venv on PATH, kinc.kinc and containers.podman resolvable).
"""

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PLAYBOOKS = os.path.join(HERE, 'playbooks')
REPO = os.path.dirname(os.path.dirname(HERE))
TESTHOST_IMAGE = os.environ.get('KINC_TESTHOST_IMAGE', 'localhost/kinc-testhost:trixie')
BUSYBOX_IMAGE = os.environ.get('KINC_BUSYBOX_IMAGE', 'localhost/kinc-busybox:latest')


def run(argv, env=None, check=True, input=None, timeout=600):
    """Run argv (no shell); on failure raise with everything it printed."""
    proc = subprocess.run(argv, env=env, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError('%s failed with exit code %d\nstdout:\n%s\nstderr:\n%s' % (
            argv, proc.returncode, proc.stdout.decode(errors='replace'), proc.stderr.decode(errors='replace')))
    return proc


def wait_until(what, probe, attempts=300, interval=0.2):
    """Poll `probe()` until it returns a true value; a bounded wait, never a timing assertion."""
    for _attempt in range(attempts):
        value = probe()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError('gave up waiting for %s' % what)


def _require(tool):
    if not shutil.which(tool):
        pytest.fail('%s is not on PATH: run `. tests/tooling/lib.sh` (and tests/tooling/setup-machine.sh)' % tool)


class PrivatePodman:
    """Root Podman with its own storage; `env` makes podman and the kinc modules use it."""

    def __init__(self, root):
        self.root = root
        self.storage_conf = os.path.join(root, 'storage.conf')
        with open(self.storage_conf, 'w') as handle:
            handle.write('[storage]\ndriver = "overlay"\ngraphroot = "%s/graph"\nrunroot = "%s/run"\n'
                         % (root, root))
        self.env = dict(os.environ, CONTAINERS_STORAGE_CONF=self.storage_conf)
        self.lock_path = os.path.join(root, 'allocate.lock')

    def podman(self, *args, check=True):
        return run(['podman'] + list(args), env=self.env, check=check)

    def json(self, *args):
        return json.loads(self.podman(*args).stdout or b'null')

    def volume_labels(self):
        return dict((v['Name'], v['Labels'] or {}) for v in self.json('volume', 'ls', '--format', 'json'))

    def create_volume(self, name, labels):
        self.podman('volume', 'create', *[a for k, v in sorted(labels.items()) for a in ('--label', '%s=%s' % (k, v))],
                    name)

    def import_busybox(self, cache=os.environ.get('KINC_CACHE', '/var/tmp/kinc-tests')):
        self.podman('import', '-q', os.path.join(cache, 'busybox.tar'), BUSYBOX_IMAGE)

    def reset(self):
        """Remove every container and volume of the private store (networks are global: left alone)."""
        self.podman('rm', '--all', '--force', '--time', '0')
        self.podman('volume', 'rm', '--all', '--force')


@pytest.fixture(scope='session')
def private_podman():
    _require('podman')
    root = tempfile.mkdtemp(prefix='kinc-ta-podman-', dir='/var/tmp')
    store = PrivatePodman(root)
    try:
        yield store
    finally:
        store.reset()
        store.podman('image', 'rm', '--all', '--force', check=False)
        run(['umount', '-R', os.path.join(root, 'graph', 'overlay')], check=False)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def clean_private_podman(private_podman):
    """The private store, emptied before the test."""
    private_podman.reset()
    return private_podman


class TestHost:
    """A booted kinc test host container (Debian trixie, systemd PID 1, rootless Podman for user kinc)."""

    __test__ = False  # a helper, not a test class, wherever a test module imports it

    USER = 'kinc'
    UID = 1000

    def __init__(self, name, image=TESTHOST_IMAGE):
        self.name = name
        self.image = image

    @property
    def user_env(self):
        return ['XDG_RUNTIME_DIR=/run/user/%d' % self.UID,
                'DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/%d/bus' % self.UID]

    def run_args(self):
        """More `podman run` arguments of the host container (a subclass's volumes)."""
        return []

    def start(self):
        run(['podman', 'rm', '--force', '--time', '0', self.name], check=False)
        run(['podman', 'run', '-d', '--name', self.name, '--hostname', self.name, '--privileged',
             '--systemd=always', '--cgroupns=private'] + self.run_args() + [self.image])
        wait_until('%s to boot' % self.name, lambda: self.exec(
            'systemctl', 'is-system-running', check=False).stdout.strip() in (b'running', b'degraded'))
        return self

    def exec(self, *argv, check=True, input=None, detach=False):
        return run(['podman', 'exec'] + (['-d'] if detach else ['-i']) + [self.name] + list(argv),
                   check=check, input=input)

    def as_user(self, *argv, check=True, input=None, detach=False):
        return self.exec('runuser', '-u', self.USER, '--', 'env', *(self.user_env + list(argv)),
                         check=check, input=input, detach=detach)

    def enable_linger(self):
        """Start the user's systemd (as a login would) so rootless Podman and `systemctl --user` work."""
        self.exec('loginctl', 'enable-linger', self.USER)
        wait_until('user@%d.service' % self.UID, lambda: self.exec(
            'systemctl', 'is-active', 'user@%d.service' % self.UID, check=False).returncode == 0)

    def load_image(self, image, cache_dir):
        """Copy an image of the outer host's root Podman into the user's rootless store."""
        tar = os.path.join(cache_dir, 'image.tar')
        run(['podman', 'save', '-q', '-o', tar, image])
        run(['podman', 'cp', tar, '%s:/tmp/image.tar' % self.name])
        self.exec('chmod', '0644', '/tmp/image.tar')
        self.as_user('podman', 'load', '-q', '-i', '/tmp/image.tar')
        self.exec('rm', '-f', '/tmp/image.tar')
        os.remove(tar)

    def wait_listening(self, port):
        """Wait until something in the test host listens on TCP `port`."""
        def listening():
            return self.exec('ss', '-ltnH', 'sport = :%d' % port).stdout.strip()
        wait_until('a listener on port %d in %s' % (port, self.name), listening)

    def inventory(self, become_user=USER):
        """An inventory line reaching this host via containers.podman.podman, become `become_user`."""
        return ('%s ansible_connection=containers.podman.podman ansible_host=%s ansible_user=root '
                'ansible_python_interpreter=/usr/bin/python3 ansible_become=true ansible_become_method=sudo '
                'ansible_become_user=%s\n' % (self.name, self.name, become_user))

    def remove(self):
        run(['podman', 'rm', '--force', '--time', '0', self.name], check=False)


@contextlib.contextmanager
def booted_testhost(kind, host_class=TestHost):
    """A booted test host with lingering for its user, removed afterwards, whatever happened."""
    _require('podman')
    if run(['podman', 'image', 'exists', TESTHOST_IMAGE], check=False).returncode != 0:
        pytest.fail('%s is missing: run tests/tooling/build-testhost.sh' % TESTHOST_IMAGE)
    host = host_class('kinc-ta-%s-%d' % (kind, os.getpid()))
    try:
        host.start()
        host.enable_linger()
        yield host
    finally:
        host.remove()


@pytest.fixture(scope='session')
def testhost():
    with booted_testhost('testhost') as host:
        yield host


_RESULT_LINE = re.compile(r'^(\S+) \| ([A-Z!]+) => ', re.M)


def task_results(output):
    """{host: result} of the last task from the `minimal` stdout callback ('host | CHANGED => {json}')."""
    results = {}
    for match in _RESULT_LINE.finditer(output):
        result = json.JSONDecoder().raw_decode(output, match.end())[0]
        # A loop's result as the playbook registered it and showed it with debug: ansible-core 2.21's callbacks
        # leave 'failed' out of loop items.
        result = result.get('kinc_test_results', result)
        # The callback drops 'failed' from a failed result; its status says it.
        result.setdefault('failed', match.group(2) == 'FAILED!')
        results[match.group(1)] = result
    return results


class PlaybookRunner:
    """Runs tests/integration/playbooks/<name> with ansible-playbook and returns the result of its (last)
    task on the single host of `inventory`, read from the `minimal` stdout callback."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.count = 0

    def start(self, playbook, inventory, extra_vars=None, env=None, check=False, diff=False):
        """Start ansible-playbook without waiting; `finish(handle)` collects it."""
        _require('ansible-playbook')
        self.count += 1
        run_dir = os.path.join(self.workdir, 'run-%d' % self.count)
        os.makedirs(run_dir)
        with open(os.path.join(run_dir, 'inventory'), 'w') as handle:
            handle.write(inventory)
        argv = ['ansible-playbook', '-i', os.path.join(run_dir, 'inventory'), '-e', json.dumps(extra_vars or {}),
                os.path.join(PLAYBOOKS, playbook)] + (['--check'] if check else []) + (['--diff'] if diff else [])
        env = dict(env or os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.builtin.minimal', ANSIBLE_NOCOLOR='1',
                   ANSIBLE_LOCAL_TEMP=os.path.join(run_dir, 'tmp'))
        proc = subprocess.Popen(argv, env=env, cwd=run_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return proc, argv

    def finish(self, handle):
        proc, argv = handle
        output = proc.communicate(timeout=600)[0].decode(errors='replace')
        results = task_results(output)
        if proc.returncode != 0 or len(results) != 1:
            raise AssertionError('%s failed (exit code %d):\n%s' % (' '.join(argv), proc.returncode, output))
        result = list(results.values())[0]
        result['_output'] = output
        return result

    def __call__(self, playbook, inventory, **kwargs):
        return self.finish(self.start(playbook, inventory, **kwargs))


@pytest.fixture
def run_playbook(tmp_path):
    return PlaybookRunner(str(tmp_path))


@pytest.fixture(scope='module')
def module_run_playbook(tmp_path_factory):
    """`run_playbook` for module-scoped fixtures."""
    return PlaybookRunner(str(tmp_path_factory.mktemp('playbooks')))


@pytest.fixture
def local_inventory():
    """This machine as the target, with the test venv's python (it has ansible's module deps)."""
    return 'localhost ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable


def pytest_configure(config):
    config.addinivalue_line('markers', 'runtime: the real container runtime of the node (the runtime stage of tests/run.sh)')

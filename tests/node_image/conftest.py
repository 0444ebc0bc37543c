# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the node image tests: the stand-in node test image and booted nodes on root Podman."""

import json
import os
import subprocess
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..'))
IMAGE_DIR = os.path.join(REPO, 'files', 'image')
ROOTFS = os.path.join(IMAGE_DIR, 'rootfs')
TEST_IMAGE = 'localhost/kinc-node-test:latest'
STEPS = ['cgroups', 'crio', 'preflight', 'certs', 'kubeconfigs', 'static-pods', 'kubelet', 'apiserver',
         'bootstrap', 'addons', 'cni', 'storage', 'node-ready', 'dns', 'datapath', 'network-policy']
# Booting the stand-in chain takes seconds; this only bounds a hung boot.
BOOT_LIMIT = 180


def run(*args, check=True, **kwargs):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kwargs)


@pytest.fixture(scope='session')
def node_image():
    """The node test image built (or found current) by build-test-image.sh, by the tag of its content key
    (localhost/kinc-node-test:<key>), which another checkout's build cannot move."""
    result = run('bash', os.path.join(HERE, 'build-test-image.sh'), check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.split()[-1] if result.stdout.split() else TEST_IMAGE


class Node:
    """One kinc node container on root Podman: a config dir bind-mounted at /etc/kinc/config, a /var volume."""

    def __init__(self, scenario, tmp_path, image):
        self.name = 'kinc-tc-%s-%s' % (scenario, uuid.uuid4().hex[:6])
        self.volume = self.name + '-var'
        self.config_dir = tmp_path / 'config'
        self.config_dir.mkdir()
        self.image = image

    def write_config(self, cluster_env=None, kubeadm_conf=None):
        if cluster_env is not None:
            (self.config_dir / 'cluster.env').write_text(cluster_env)
        if kubeadm_conf is not None:
            (self.config_dir / 'kubeadm.conf').write_text(kubeadm_conf)

    def start(self, *extra):
        """(Re)create the container on the same volumes, as Quadlet does at every start. The last boot's status
        goes first: settle() would otherwise read it before the new boot's entrypoint resets it (kinc_cluster
        tells the boots apart by time instead, readiness.from_this_boot)."""
        run('podman', 'exec', self.name, 'rm', '-f', '/var/lib/kinc/status.json', check=False)
        run('podman', 'rm', '-f', '-t', '0', self.name, check=False)
        run('podman', 'run', '-d', '--name', self.name, '--hostname', self.name, '--privileged',
            '--systemd=always', '--cgroupns=private', '--tmpfs', '/tmp',
            '-v', '%s:/var' % self.volume, '-v', '%s:/etc/kinc/config' % self.config_dir,
            *extra, self.image)

    def exec_(self, *args, check=True):
        return run('podman', 'exec', self.name, *args, check=check)

    def status(self):
        result = self.exec_('cat', '/var/lib/kinc/status.json', check=False)
        return json.loads(result.stdout) if result.returncode == 0 and result.stdout else None

    def settle(self):
        """The status once the boot has ended (phase ready or failed) and systemd has no job left."""
        deadline = time.monotonic() + BOOT_LIMIT
        while time.monotonic() < deadline:
            running = run('podman', 'inspect', '--format', '{{.State.Running}}', self.name, check=False).stdout
            if running.strip() != 'true':
                logs = run('podman', 'logs', self.name, check=False)
                raise AssertionError('%s stopped: %s%s' % (self.name, logs.stdout[-2000:], logs.stderr[-2000:]))
            status = self.status()
            if status and status['phase'] != 'initializing':
                jobs = self.exec_('systemctl', 'list-jobs', '--no-legend', check=False).stdout
                if not any(unit in jobs for unit in ('kinc-', 'crio.service', 'kubelet.service')):
                    return status
            time.sleep(1)
        journal = self.exec_('journalctl', '-b', '--no-pager', '-n', '60', check=False).stdout
        raise AssertionError('%s did not settle; status %s\n%s' % (self.name, self.status(), journal))

    def file_exists(self, path):
        return self.exec_('test', '-e', path, check=False).returncode == 0

    def read(self, path):
        return self.exec_('cat', path).stdout

    def remove(self):
        run('podman', 'rm', '-f', '-t', '0', self.name, check=False)
        run('podman', 'volume', 'rm', '-f', self.volume, check=False)


@pytest.fixture
def make_node(node_image, tmp_path_factory):
    nodes = []

    def factory(scenario):
        node = Node(scenario, tmp_path_factory.mktemp(scenario), node_image)
        nodes.append(node)
        return node
    yield factory
    for node in nodes:
        node.remove()


def cluster_env(name='tc', events=0, **extra):
    lines = ['KINC_CLUSTER_NAME=%s' % name, 'KINC_API_PORT=20443', 'KINC_POD_SUBNET=10.244.43.0/24',
             'KINC_SERVICE_SUBNET=10.43.0.0/16', 'KINC_EVENTS=%d' % events]
    lines += ['%s=%s' % item for item in extra.items()]
    return '\n'.join(lines) + '\n'


def pytest_configure(config):
    config.addinivalue_line('markers', 'e2e: builds the real node image and deploys a real cluster (KINC_E2E=1)')

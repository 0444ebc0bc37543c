# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end with the real node image: build files/image/Containerfile, deploy a cluster with the
collection's playbook as the current (non-root) user, prove it works with playbooks/verify.yml, remove it.

Needs what this repository's CI machine lacks: registry.fedoraproject.org, pkgs.k8s.io and
download.opensuse.org for the build, registry.k8s.io for the cluster's images, a systemd user manager and
cgroup v2 with delegated controllers. Opt in with KINC_E2E=1 (it takes 10-20 minutes).
"""

import json
import os
import socket
import subprocess

import pytest

from conftest import IMAGE_DIR, REPO

pytestmark = pytest.mark.e2e

IMAGE = 'localhost/kinc-node:e2e'
CLUSTER = 'kinc-e2e'
API_PORT = int(os.environ.get('KINC_E2E_API_PORT', '26443'))
NEEDED_HOSTS = ['registry.fedoraproject.org', 'pkgs.k8s.io', 'download.opensuse.org', 'registry.k8s.io']


def unreachable(hosts):
    missing = []
    for host in hosts:
        try:
            socket.create_connection((host, 443), timeout=3).close()
        except OSError:
            missing.append(host)
    return missing


def skip_reason():
    if os.environ.get('KINC_E2E') != '1':
        return 'set KINC_E2E=1 to build the real node image and deploy a cluster (10-20 minutes, needs the network)'
    if os.geteuid() == 0:
        return 'kinc clusters are rootless: run the e2e test as the (non-root) user who owns the clusters'
    missing = unreachable(NEEDED_HOSTS)
    if missing:
        return 'cannot reach %s (the image build and the cluster need them)' % ', '.join(missing)
    return None


def playbook(name, *extra):
    result = subprocess.run(['ansible-playbook', os.path.join(REPO, 'playbooks', name)] + list(extra),
                            capture_output=True, text=True, cwd=REPO, check=False)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    return result


@pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or '')
def test_real_image_deploys_a_working_cluster():
    build = subprocess.run(['podman', 'build', '--tag', IMAGE, IMAGE_DIR], capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr[-6000:]
    clusters = '{"kinc_clusters": [{"name": "%s", "api_port": %d}]}' % (CLUSTER, API_PORT)
    try:
        playbook('deploy.yml', '-e', 'kinc_node_image=%s' % IMAGE, '-e', clusters)
        status = subprocess.run(['podman', 'exec', 'kinc-%s-control-plane' % CLUSTER, 'cat',
                                 '/var/lib/kinc/status.json'], capture_output=True, text=True, check=True).stdout
        assert json.loads(status)['phase'] == 'ready', status
        playbook('verify.yml', '-e', 'kinc_verify_cluster=%s' % CLUSTER)
    finally:
        subprocess.run(['ansible-playbook', os.path.join(REPO, 'playbooks', 'cleanup.yml'),
                        '-e', 'kinc_cluster_name=%s' % CLUSTER, '-e', 'kinc_purge=true'], capture_output=True, cwd=REPO,
                       check=False)

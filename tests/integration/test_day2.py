# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Day-2 work on real clusters in the booted test host, as its rootless user kinc: an image built there with
podman build is loaded into two clusters' containers-storage (kinc_image and the role's images.yml), idempotently
by ID; playbooks/status.yml shows every init step; playbooks/export-logs.yml gathers a healthy and a failed
cluster without secrets. The nodes run the node test image (stand-ins for Kubernetes, the real skopeo).

KINC_DAY2_IMAGE_MB sets the size of the test image's random layer (default 4); with KINC_DAY2_MEASURE=<file>
the load and export times and the archive sizes are appended to that file (figures, never assertions)."""

import hashlib
import json
import os
import re
import tarfile
import time

import pytest

from conftest import BUSYBOX_IMAGE, REPO, booted_testhost, wait_until

NODE_IMAGE = os.environ.get('KINC_NODE_TEST_IMAGE', 'localhost/kinc-node-test:latest')
IMAGE_MB = int(os.environ.get('KINC_DAY2_IMAGE_MB', '4'))
MEASURE = os.environ.get('KINC_DAY2_MEASURE')
APP = 'localhost/app:dev'
STEPS = ['cgroups', 'crio', 'preflight', 'certs', 'kubeconfigs', 'static-pods', 'kubelet', 'apiserver', 'bootstrap',
         'addons', 'cni', 'storage', 'node-ready', 'dns', 'datapath', 'network-policy']
PLANTED_KEY = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIKINCTESTKEYMATERIAL\n-----END EC PRIVATE KEY-----\n'


def measure(what, value):
    if MEASURE:
        with open(MEASURE, 'a') as handle:
            handle.write('%s (image layer %d MB): %s\n' % (what, IMAGE_MB, value))


class Day2(object):
    def __init__(self, host, run_playbook, workdir):
        self.host = host
        self.run_playbook = run_playbook
        self.workdir = workdir
        self.inventory = ('%s ansible_connection=containers.podman.podman ansible_host=%s ansible_user=root '
                          'ansible_python_interpreter=/usr/bin/python3\n' % (host.name, host.name))
        self.extra = {'kinc_user': host.USER, 'kinc_hosts': 'all'}

    def playbook(self, path, **extra):
        return self.run_playbook(path, self.inventory, extra_vars=dict(self.extra, **extra))

    def user(self, *argv, **kwargs):
        return self.host.as_user(*argv, **kwargs)

    def build_app(self, seed):
        """podman build of localhost/app:dev as kinc: busybox plus a random layer; returns the image ID."""
        self.user('mkdir', '-p', '/home/kinc/app')
        self.user('tee', '/home/kinc/app/Containerfile',
                  input=b'FROM %s\nCOPY blob seed /\n' % BUSYBOX_IMAGE.encode())
        self.user('tee', '/home/kinc/app/seed', input=seed.encode())
        self.user('dd', 'if=/dev/urandom', 'of=/home/kinc/app/blob', 'bs=1M', 'count=%d' % IMAGE_MB, 'status=none')
        self.user('podman', 'build', '-q', '--pull=never', '-t', APP, '/home/kinc/app')
        return self.user('podman', 'image', 'inspect', '--format', '{{.Id}}', APP).stdout.decode().strip()

    def load(self, *runs):
        started = time.monotonic()
        results = self.playbook('day2-image.yml', runs=list(runs))['results']
        return results, time.monotonic() - started

    def node(self, cluster, *argv, check=True):
        return self.user('podman', 'exec', 'kinc-%s-control-plane' % cluster, *argv, check=check)

    def node_image_id(self, cluster, name):
        """The ID of `name` in the node's containers-storage: the digest of its config as skopeo reads it."""
        config = self.node(cluster, 'skopeo', 'inspect', '--raw', '--config', 'containers-storage:' + name).stdout
        return hashlib.sha256(config).hexdigest()

    def status(self, cluster):
        out = self.node(cluster, 'cat', '/var/lib/kinc/status.json', check=False).stdout
        return json.loads(out) if out.strip() else {}


@pytest.fixture(scope='module')
def day2_host():
    """A test host of its own: the clusters these tests leave must not change other tests' allocations."""
    with booted_testhost('day2') as host:
        yield host


@pytest.fixture(scope='module')
def day2(day2_host, module_run_playbook, tmp_path_factory):
    testhost = day2_host
    cache = str(tmp_path_factory.mktemp('images'))
    testhost.load_image(NODE_IMAGE, cache)
    testhost.load_image(BUSYBOX_IMAGE, cache)
    env = Day2(testhost, module_run_playbook, str(tmp_path_factory.mktemp('day2')))
    env.app_v1 = env.build_app('v1')
    started = time.monotonic()
    env.deployed = env.playbook('day2-deploy.yml', kinc_node_image=NODE_IMAGE, kinc_node_image_build=False,
                                kinc_clusters=[{'name': 'one'}, {'name': 'two'}], day2_images=[APP])
    measure('deploy of two clusters with the image declared', '%.1f s' % (time.monotonic() - started))
    return env


def test_an_image_built_on_the_host_is_loaded_into_two_clusters_idempotently_by_id(day2):
    # The role's images.yml loaded it into both clusters after they were ready.
    loaded = day2.deployed['results']
    assert [(r['cluster'], r['name'], r['changed'], r['image_id']) for r in loaded] == \
        [('one', APP, True, day2.app_v1), ('two', APP, True, day2.app_v1)]
    for cluster in ('one', 'two'):
        assert day2.node_image_id(cluster, APP) == day2.app_v1
        # What CRI-O resolves a pod's `image: localhost/app:dev` (imagePullPolicy: Never) to: the name in the
        # store CRI-O and skopeo share, /var/lib/containers/storage.
        pod_image = {'containers': [{'name': 'app', 'image': APP, 'imagePullPolicy': 'Never'}]}['containers'][0]
        images = json.loads(day2.node(cluster, 'cat', '/var/lib/containers/storage/vfs-images/images.json').stdout)
        assert [i['id'] for i in images if pod_image['image'] in (i.get('names') or [])] == [day2.app_v1]

    again, seconds = day2.load({'cluster': 'one', 'image': APP}, {'cluster': 'two', 'image': 'app:dev'})
    assert [(r['changed'], r['previous_id'], r.get('failed')) for r in again] == \
        [(False, day2.app_v1, False), (False, day2.app_v1, False)]
    measure('unchanged load into two clusters (playbook)', '%.1f s' % seconds)

    app_v2 = day2.build_app('v2')
    assert app_v2 != day2.app_v1
    rebuilt, seconds = day2.load({'cluster': 'one', 'image': APP})
    assert (rebuilt[0]['changed'], rebuilt[0]['previous_id'], rebuilt[0]['image_id']) == (True, day2.app_v1, app_v2)
    assert day2.node_image_id('one', APP) == app_v2 and day2.node_image_id('two', APP) == day2.app_v1
    measure('load of a rebuilt image into one cluster (playbook)', '%.1f s' % seconds)

    # An archive on the host, under a name of its own; then the errors a user meets.
    day2.user('podman', 'save', '-q', '-o', '/home/kinc/app.tar', APP)
    runs = [{'cluster': 'two', 'archive': '/home/kinc/app.tar', 'name': 'localhost/app:archived'},
            {'cluster': 'two', 'archive': '/home/kinc/app.tar', 'name': 'localhost/app:archived'},
            {'cluster': 'one', 'image': 'localhost/missing:1'},
            {'cluster': 'nope', 'image': APP}]
    archived, again, missing, nope = day2.load(*runs)[0]
    assert (archived['changed'], archived['image_id'], again['changed']) == (True, app_v2, False)
    assert day2.node_image_id('two', 'localhost/app:archived') == app_v2
    assert missing['failed'] and 'image localhost/missing:1 is not in the Podman storage' in missing['msg']
    assert nope['failed'] and 'cluster nope does not exist on this host' in nope['msg']


def test_status_prints_one_line_per_cluster_and_every_step_of_one(day2):
    status = os.path.join(REPO, 'playbooks', 'status.yml')
    overview = day2.playbook(status)['_output']
    lines = [line.split() for line in re.findall(r'"(\S+ +https://\S+ +\S+ +\S+ +\S+)"', overview)]
    assert [line[0] for line in lines] == ['one', 'two'] and [line[2] for line in lines] == ['ready', 'ready']
    steps = day2.playbook(status, kinc_cluster_name='one')
    table = [line.split()[:2] for line in steps['msg'][1:]]
    assert table == [[step, 'done'] for step in STEPS]


def test_export_logs_of_a_healthy_and_a_failed_cluster_without_secrets(day2):
    # Cluster two fails at the storage step of its next start; a key and a client key are planted in its config.
    config = json.loads(day2.user('podman', 'volume', 'inspect', 'kinc-two-config').stdout)[0]['Mountpoint']
    day2.user('tee', '-a', config + '/cluster.env', input=b'KINC_STANDIN_FAIL_AT=storage\n')
    day2.user('tee', config + '/admin.key', input=PLANTED_KEY.encode())
    day2.user('tee', config + '/notes.yaml', input=b'client-key-data: S0lOQ1RFU1RDTElFTlRLRVk=\n')
    day2.user('systemctl', '--user', 'restart', 'kinc-two-control-plane.service')
    wait_until('cluster two to fail', lambda: day2.status('two').get('phase') == 'failed', attempts=600)

    dest = os.path.join(day2.workdir, 'logs')
    started = time.monotonic()
    result = day2.playbook(os.path.join(REPO, 'playbooks', 'export-logs.yml'), kinc_logs_dest=dest)
    measure('export-logs.yml of two clusters', '%.1f s' % (time.monotonic() - started))
    host_dir = os.path.join(dest, day2.host.name)
    assert sorted(os.listdir(host_dir)) == ['one', 'one.tar.gz', 'two', 'two.tar.gz']
    assert result['msg'][0] == dest + '/' + day2.host.name + '/<cluster>.tar.gz and <cluster>/'
    assert [line.split(':')[0] for line in result['msg'][1:]] == ['one', 'two']

    for cluster, phase in (('one', 'ready'), ('two', 'failed')):
        directory = os.path.join(host_dir, cluster)
        summary = json.load(open(os.path.join(directory, 'summary.json')))
        files = set(summary['files'])
        for unit in ('kinc-cgroups', 'crio', 'kinc-preflight', 'kinc-kubeadm-init', 'kinc-postinit', 'kubelet'):
            assert 'journal/%s.service.log' % unit in files
        for piece in ('journal/node.log', 'node/status.json', 'node/kubeadm.yaml', 'config/cluster.env',
                      'podman/inspect.json', 'podman/volumes.json', 'host/service-status.txt', 'kubectl/readyz.txt',
                      'quadlet/kinc-%s-control-plane.container' % cluster, 'quadlet/kinc-%s-var-data.volume' % cluster):
            assert piece in files, (cluster, piece, summary['missing'])
        # Every piece is either there or named missing with a reason (the stand-in kubectl cannot list pods).
        missing = dict((m['piece'], m['reason']) for m in summary['missing'])
        for piece in ('kubectl/get-nodes-pods-events.txt', 'kubectl/cluster-info-dump.txt', 'node/events.jsonl'):
            assert (piece in files) != (piece in missing), piece
        assert json.load(open(os.path.join(directory, 'node', 'status.json')))['phase'] == phase
        size = os.path.getsize(os.path.join(host_dir, cluster + '.tar.gz'))
        measure('archive of cluster %s (%s)' % (cluster, phase), '%d bytes' % size)
        with tarfile.open(os.path.join(host_dir, cluster + '.tar.gz')) as archive:
            assert sorted(n[len(cluster) + 1:] for n in archive.getnames() if archive.getmember(n).isfile()) == \
                sorted(files)
            everything = b''.join(archive.extractfile(m).read() for m in archive.getmembers() if m.isfile())
        assert b'PRIVATE KEY' not in everything and b'KINCTESTKEYMATERIAL' not in everything
        values = re.findall(rb'client-key-data["\']?\s*[:=]\s*["\']?([^"\'\s,}]+)', everything)
        assert set(values) <= {b'REDACTED-BY-KINC'}

    two = os.path.join(host_dir, 'two')
    assert 'config/admin.key' not in json.load(open(os.path.join(two, 'summary.json')))['files']
    assert open(os.path.join(two, 'config', 'notes.yaml')).read() == 'client-key-data: REDACTED-BY-KINC\n'
    storage = [step for step in json.load(open(os.path.join(two, 'node', 'status.json')))['steps']
               if step['name'] == 'storage']
    assert storage[0]['state'] == 'failed' and 'KINC_STANDIN_FAIL_AT' in storage[0]['message']
    assert 'storage' in open(os.path.join(two, 'journal', 'kinc-postinit.service.log')).read()

    # The status table names the failed step; a stopped cluster refuses images with a message.
    steps = day2.playbook(os.path.join(REPO, 'playbooks', 'status.yml'), kinc_cluster_name='two')
    assert ['storage', 'failed'] in [line.split()[:2] for line in steps['msg'][1:]]
    day2.user('systemctl', '--user', 'stop', 'kinc-two-control-plane.service')
    stopped, = day2.load({'cluster': 'two', 'image': APP})[0]
    assert stopped['failed'] and 'cluster two is not running' in stopped['msg']


def test_a_missing_node_image_is_named_and_changes_nothing(day2):
    unit = '/home/kinc/.config/containers/systemd/kinc-one-control-plane.container'
    before = (day2.user('podman', 'inspect', '--format', '{{.Id}}', 'kinc-one-control-plane').stdout,
              day2.user('cat', unit).stdout)
    with pytest.raises(AssertionError) as failed:
        day2.playbook('day2-deploy.yml', kinc_node_image=NODE_IMAGE, kinc_node_image_build=False, day2_images=[],
                      kinc_clusters=[{'name': 'one', 'image': 'localhost/not-built:1'}])
    # kinc_cluster found the image missing before any change; the role's build.yml names it (it builds none).
    assert 'node image localhost/not-built:1 is not in the Podman storage of kinc' in str(failed.value)
    assert (day2.user('podman', 'inspect', '--format', '{{.Id}}', 'kinc-one-control-plane').stdout,
            day2.user('cat', unit).stdout) == before

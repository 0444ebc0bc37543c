# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node's REAL container runtime in a rootless node on the test host, deployed by kinc's own role: CRI-O
1.36 and crictl built from upstream source (tests/node_image/build-runtime.sh) with kinc's configuration
(files/image/rootfs), Debian's conmon, crun and CNI plugins. Stand-ins remain only for kubeadm, kubelet,
kubectl and the pause image; the pods here are made through the CRI with crictl, as kubelet makes them. The
deploy also runs the owner's local registry (kinc_registry), whose pushed image the node pulls and runs.

The `runtime` stage of tests/run.sh (marker `runtime`). KINC_RUNTIME_MEASURE=<file> appends the pod start
times to that file (figures, never assertions)."""

import hashlib
import io
import json
import os
import re
import tarfile
import time

import pytest

from conftest import BUSYBOX_IMAGE, REPO, TestHost, booted_testhost, run, wait_until

pytestmark = pytest.mark.runtime

NODE_IMAGE = os.environ.get('KINC_NODE_TEST_IMAGE', 'localhost/kinc-node-test:latest')
MEASURE = os.environ.get('KINC_RUNTIME_MEASURE')
CLUSTER = 'rt'
NODE = 'kinc-%s-control-plane' % CLUSTER
SERVICE = NODE + '.service'
APP = 'localhost/kinc-rt-app:1'
WHITEOUT = 'localhost/kinc-rt-whiteout:1'
HOST_PORT = 30080
# The cluster's published port (`ports`): the test host's PUBLISHED_PORT reaches the node's HOST_PORT.
PUBLISHED_PORT = 18080
# The owner's local registry (kinc_registry: true in the deploy): Debian's docker-registry package standing in
# for the upstream registry:3 image (tests/tooling/build-registry-image.sh), on the first free port from 5000.
REGISTRY_IMAGE = 'localhost/kinc-test-registry:latest'
REGISTRY_PORT = 5000
PUSHED = 'localhost:%d/app:dev' % REGISTRY_PORT
# critest's own images come from registries; these are built here from Debian's busybox-static (every applet
# a hard link, so masking one path masks only it; users root, www-data, nobody) and named by its
# --test-images-file, the way cri-tools documents for runtimes without registry access.
CRITEST_BUSYBOX = 'localhost/kinc-critest-busybox:1'
CRITEST_WEB = 'localhost/kinc-critest-web:1'
CRITEST_CONTAINERFILE = b"""FROM %s
RUN ["/bin/busybox", "sh", "-c", "cd /bin && for a in $(./busybox --list); do [ $a = busybox ] || ln -f busybox $a; done"]
RUN ["/bin/sh", "-c", "mkdir -p -m 1777 /tmp"]
COPY passwd group /etc/
ENV PATH=/bin
CMD ["sh"]
"""
CRITEST_USERS = {'passwd': b'root:x:0:0::/root:/bin/sh\nwww-data:x:33:33::/var/www:/bin/false\n'
                           b'nobody:x:65534:65534::/nonexistent:/bin/false\n',
                 'group': b'root:x:0:\nwww-data:x:33:\nnobody:x:65534:\n'}
CRITEST_WEB_CONTAINERFILE = b"""FROM %s
RUN ["/bin/busybox", "sh", "-c", "mkdir -p /www && echo kinc-critest > /www/index.html"]
CMD ["httpd", "-f", "-p", "80", "-h", "/www"]
"""
# Specs critest cannot pass here, each for a reason that is not kinc's configuration (the test asserts that
# every other spec passes):
CRITEST_SKIPS = {
    # Their images are made for them upstream (fixed digests, users and groups baked in, nginx, httpd,
    # nonewprivs) and only a registry has them.
    'registry': r'Image Manager|Image Consistency|Image Identifier Consistency|NoNewPrivs|SupplementalGroupsPolicy'
                r'|support HostPID|support PodPID|support ContainerPID|portforward in host network'
                r'|Multiple Containers',
    # The runtime route crio-rootless: this machine delegates no cgroup controller to the test host's user, so
    # containers get no cgroup of their own (files/image/README.md, "cgroups and the runtime route").
    'no cgroup controllers': r'stats|OOMKilled',
    # A hostPort on 127.0.0.1 needs net.ipv4.conf.all.route_localnet, which kube-proxy (iptables mode) sets in
    # a real node; kube-proxy is a stand-in here. The same port through the node's address is tested above.
    'kube-proxy stand-in': r'port mapping with host port and container port',
    # Debian's busybox-static has no pgrep and no ipcs, and its shell runs ls itself (a masked /bin/ls is never
    # executed).
    'test image': r'execSync with timeout|HostIpc|MaskedPaths',
}


def measure(what, value):
    if MEASURE:
        with open(MEASURE, 'a') as handle:
            handle.write('%s: %s\n' % (what, value))


def whiteout_archive(base_layer):
    """A docker-archive of WHITEOUT: `base_layer` (busybox), a layer with /data/old, then a layer that makes
    /data opaque (.wh..wh..opq) and adds /data/new, as a Containerfile's `RUN rm -rf /data && mkdir /data`
    would. Running it must show only `new` in /data."""
    def layer(entries):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode='w') as tar:
            for name, data in entries:
                info = tarfile.TarInfo(name)
                if data is None:
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
                else:
                    info.size, info.mode = len(data), 0o644
                    tar.addfile(info, io.BytesIO(data))
        return buffer.getvalue()

    layers = [base_layer, layer([('data', None), ('data/old', b'old\n')]),
              layer([('data', None), ('data/.wh..wh..opq', b''), ('data/new', b'new\n')])]
    diff_ids = ['sha256:' + hashlib.sha256(data).hexdigest() for data in layers]
    config = json.dumps({'architecture': 'amd64', 'os': 'linux',
                         'config': {'Cmd': ['ls', '/data'], 'Env': ['PATH=/bin']},
                         'rootfs': {'type': 'layers', 'diff_ids': diff_ids}}).encode()
    config_name = hashlib.sha256(config).hexdigest() + '.json'
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w') as tar:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        names = []
        for index, data in enumerate(layers):
            names.append('layer%d.tar' % index)
            add(names[-1], data)
        add(config_name, config)
        add('manifest.json', json.dumps([{'Config': config_name, 'RepoTags': [WHITEOUT], 'Layers': names}]).encode())
    return buffer.getvalue()


class HomeOnDiskHost(TestHost):
    """A test host whose /home is a volume of this machine's Podman, as a workstation's home is a disk: the
    user's Podman storage and the node's /var volume lie on a real file system, so the node runs CRI-O on
    overlay like the real image (kinc-test-init falls back to vfs where /var lies on overlayfs)."""

    def run_args(self):
        return ['-v', '%s-home:/home' % self.name]

    def remove(self):
        TestHost.remove(self)
        run(['podman', 'volume', 'rm', '--force', '%s-home' % self.name], check=False)


class Runtime(object):
    """The deployed cluster's node, reached as the test host's user through `podman exec`."""

    def __init__(self, host, run_playbook):
        self.host = host
        self.run_playbook = run_playbook
        self.inventory = ('%s ansible_connection=containers.podman.podman ansible_host=%s ansible_user=root '
                          'ansible_python_interpreter=/usr/bin/python3\n' % (host.name, host.name))
        # The cluster's published host port now (a test moves it).
        self.published_port = PUBLISHED_PORT

    def user(self, *argv, **kwargs):
        return self.host.as_user(*argv, **kwargs)

    def node(self, *argv, check=True, input=None):
        return self.user('podman', 'exec', '-i', NODE, *argv, check=check, input=input)

    def crictl(self, *argv, check=True):
        return self.node('crictl', *argv, check=check).stdout.decode().strip()

    def node_json(self, path, data):
        self.node('tee', path, input=json.dumps(data).encode())
        return path

    def status(self):
        out = self.node('cat', '/var/lib/kinc/status.json', check=False).stdout
        return json.loads(out) if out.strip() else {}

    def deploy_vars(self, published_port):
        """The inventory of every deploy here: the cluster with its published port, and the owner's registry (a
        deploy without kinc_registry would remove it)."""
        return {'kinc_user': self.host.USER, 'kinc_hosts': 'all', 'kinc_node_image': NODE_IMAGE,
                'kinc_node_image_build': False,
                'kinc_clusters': [{'name': CLUSTER, 'ports': [{'host_port': published_port, 'node_port': HOST_PORT}]}],
                'kinc_registry': True, 'kinc_registry_image': REGISTRY_IMAGE}

    def deploy(self):
        return self.run_playbook('day2-deploy.yml', self.inventory, extra_vars=dict(
            self.deploy_vars(self.published_port),
            day2_images=[APP, '/home/kinc/whiteout.tar', CRITEST_BUSYBOX, CRITEST_WEB]))

    def pod(self, name, port_mappings=()):
        """A pod sandbox as kubelet asks for one (cgroup parent under kubelet's /kubelet root); its ID."""
        config = {'metadata': {'name': name, 'namespace': 'kinc-rt', 'uid': 'uid-' + name, 'attempt': 0},
                  'hostname': name, 'log_directory': '/var/log/pods/kinc-rt_' + name,
                  'port_mappings': [{'protocol': 0, 'container_port': c, 'host_port': h} for c, h in port_mappings],
                  'linux': {'cgroup_parent': '/kubelet/kubepods/poduid-' + name}}
        path = self.node_json('/tmp/pod-%s.json' % name, config)
        started = time.monotonic()
        pod = self.crictl('runp', path)
        measure('pod sandbox %s started (crictl runp, real CRI-O, ptp)' % name, '%.2f s' % (time.monotonic() - started))
        return pod, path

    def container(self, pod, pod_config, name, image, command):
        """Create and start a container in `pod`; its ID."""
        path = self.node_json('/tmp/ctr-%s.json' % name, {
            'metadata': {'name': name}, 'image': {'image': image}, 'command': command, 'log_path': name + '.log'})
        started = time.monotonic()
        container = self.crictl('create', pod, path, pod_config)
        self.crictl('start', container)
        return container, time.monotonic() - started

    def pod_ip(self, pod):
        return json.loads(self.crictl('inspectp', pod))['status']['network']['ip']

    def http_from_node(self, address, port):
        """GET /index.html from the node's own network namespace (bash's /dev/tcp: the node has no client)."""
        script = ('exec 3<>/dev/tcp/%s/%d; printf "GET /index.html HTTP/1.0\\r\\n\\r\\n" >&3; cat <&3'
                  % (address, port))
        return self.node('timeout', '10', 'bash', '-c', script).stdout.decode()


@pytest.fixture(scope='module')
def runtime(module_run_playbook, tmp_path_factory):
    with booted_testhost('runtime', HomeOnDiskHost) as host:
        cache = str(tmp_path_factory.mktemp('images'))
        host.load_image(NODE_IMAGE, cache)
        host.load_image(BUSYBOX_IMAGE, cache)
        run(['bash', os.path.join(REPO, 'tests', 'tooling', 'build-registry-image.sh')])
        host.load_image(REGISTRY_IMAGE, cache)
        env = Runtime(host, module_run_playbook)
        env.user('mkdir', '-p', '/home/kinc/app/www')
        env.user('tee', '/home/kinc/app/www/index.html', input=b'kinc-rt-app\n')
        env.user('tee', '/home/kinc/app/Containerfile', input=b'FROM %s\nCOPY www /www\n' % BUSYBOX_IMAGE.encode())
        env.user('podman', 'build', '-q', '--pull=never', '-t', APP, '/home/kinc/app')
        for name, content in CRITEST_USERS.items():
            env.user('tee', '/home/kinc/app/' + name, input=content)
        for image, containerfile, base in ((CRITEST_BUSYBOX, CRITEST_CONTAINERFILE, BUSYBOX_IMAGE),
                                           (CRITEST_WEB, CRITEST_WEB_CONTAINERFILE, CRITEST_BUSYBOX)):
            env.user('tee', '/home/kinc/app/Containerfile', input=containerfile % base.encode())
            env.user('podman', 'build', '-q', '--pull=never', '-t', image, '/home/kinc/app')
        busybox_layer = run(['podman', 'image', 'save', '--format', 'docker-archive', BUSYBOX_IMAGE]).stdout
        with tarfile.open(fileobj=io.BytesIO(busybox_layer)) as saved:
            manifest = json.load(saved.extractfile('manifest.json'))[0]
            base_layer = saved.extractfile(manifest['Layers'][0]).read()
        env.user('tee', '/home/kinc/whiteout.tar', input=whiteout_archive(base_layer))
        started = time.monotonic()
        env.deployed = env.deploy()
        measure('deploy of one cluster, real CRI-O, four images loaded', '%.1f s' % (time.monotonic() - started))
        yield env


def test_the_real_crio_runs_with_kincs_configuration_and_lists_the_loaded_images(runtime):
    status = runtime.status()
    assert status['phase'] == 'ready', status
    crio_step = [s for s in status['steps'] if s['name'] == 'crio'][0]
    assert crio_step['state'] == 'done'
    version = runtime.crictl('version')
    assert 'RuntimeName:  cri-o' in version and 'RuntimeVersion:  1.36.3' in version, version
    info = json.loads(runtime.crictl('info'))
    conditions = dict((c['type'], c['status']) for c in info['status']['conditions'])
    assert conditions == {'RuntimeReady': True, 'NetworkReady': True}
    # The rootless test host delegates no controller: the status names the route the node chose and why.
    assert status['runtime'] == {
        'route': 'crio-rootless',
        'reason': "rootless without cpu, memory and pids delegated: CRI-O's _CRIO_ROOTLESS=1; pod limits and "
                  'stats do not see containers'}
    crio_pid = runtime.node('systemctl', 'show', '-P', 'MainPID', 'crio.service').stdout.decode().strip()
    environment = runtime.node('cat', '/proc/%s/environ' % crio_pid).stdout.split(b'\0')
    assert b'_CRIO_ROOTLESS=1' in environment
    # Its storage knows it runs in a user namespace, in every process it starts (overlay whiteouts).
    assert b'_CONTAINERS_USERNS_CONFIGURED=done' in environment
    # kinc_image (the role's images.yml) loaded both images where CRI-O finds them.
    assert [(r['name'], r['changed']) for r in runtime.deployed['results']] == [
        (APP, True), (WHITEOUT, True), (CRITEST_BUSYBOX, True), (CRITEST_WEB, True)]
    images = json.loads(runtime.crictl('images', '-o', 'json'))['images']
    tags = sorted(tag for image in images for tag in image['repoTags'])
    assert APP in tags and WHITEOUT in tags


def test_the_pause_image_is_preloaded_read_only_and_never_pulled(runtime):
    config = runtime.node('crio', 'config').stdout.decode(errors='replace')
    pause_image = [line.split('"')[1] for line in config.splitlines()
                   if line.lstrip('# ').startswith('pause_image = ')][0]
    images = json.loads(runtime.crictl('images', '-o', 'json'))['images']
    assert [i for i in images if pause_image in i['repoTags']], images
    # It lives in the image's read-only store under /usr, not in the node's /var volume.
    store = runtime.node('cat', '/usr/lib/containers/storage/overlay-images/images.json').stdout.decode()
    assert pause_image in store
    assert pause_image not in runtime.node('cat', '/var/lib/containers/storage/overlay-images/images.json').stdout.decode()
    journal = runtime.node('journalctl', '-u', 'crio.service', '--no-pager').stdout.decode()
    assert 'Pulling image' not in journal and 'Trying to access' not in journal


def test_two_pods_get_addresses_of_the_pod_range_talk_over_tcp_and_a_host_port_reaches_one(runtime):
    web, web_config = runtime.pod('web', port_mappings=[(8080, HOST_PORT)])
    client, client_config = runtime.pod('client')
    server_id, server_seconds = runtime.container(web, web_config, 'httpd', APP, ['httpd', '-f', '-p', '8080', '-h', '/www'])
    client_id, client_seconds = runtime.container(client, client_config, 'sleeper', APP, ['sleep', '3600'])
    measure('container create+start in a running pod (crictl, real CRI-O)', '%.2f s, %.2f s'
            % (server_seconds, client_seconds))
    web_ip, client_ip = runtime.pod_ip(web), runtime.pod_ip(client)
    # The range is the node's pod CIDR, from kinc's rendered CNI configuration.
    cni = json.loads(runtime.node('cat', '/etc/cni/net.d/10-kinc.conflist').stdout)
    subnet = cni['plugins'][0]['ipam']['ranges'][0][0]['subnet']
    prefix = subnet.rsplit('.', 1)[0] + '.'
    assert subnet.endswith('.0/24') and web_ip.startswith(prefix) and client_ip.startswith(prefix)
    assert web_ip != client_ip
    # Pod to pod over TCP across ptp.
    wait_until('the web pod to serve', lambda: runtime.node(
        'crictl', 'exec', client_id, 'wget', '-qO-', 'http://%s:8080/index.html' % web_ip, check=False).returncode == 0,
        attempts=50)
    assert runtime.crictl('exec', client_id, 'wget', '-qO-', 'http://%s:8080/index.html' % web_ip) == 'kinc-rt-app'
    # The host port, from the node's network namespace, through CRI-O's hostport DNAT.
    assert runtime.http_from_node('10.255.255.254', HOST_PORT).rstrip().endswith('kinc-rt-app')
    assert 'KUBE-HOSTPORTS' in runtime.node('iptables', '-t', 'nat', '-S').stdout.decode()
    for pod in (web, client):
        runtime.crictl('stopp', pod)
        runtime.crictl('rmp', pod)
    assert server_id and client_id


def test_a_host_port_pod_is_reached_from_the_test_host_through_the_published_port(runtime):
    unit = runtime.user('cat', '/home/kinc/.config/containers/systemd/%s.container' % NODE).stdout.decode()
    assert 'PublishPort=127.0.0.1:%d:%d/tcp' % (PUBLISHED_PORT, HOST_PORT) in unit.splitlines()
    # An ingress controller's way: a pod with a hostPort (CRI-O's hostport DNAT in the node), no Service.
    web, web_config = runtime.pod('ingress', port_mappings=[(8080, HOST_PORT)])
    runtime.container(web, web_config, 'httpd', APP, ['httpd', '-f', '-p', '8080', '-h', '/www'])
    script = ('exec 3<>/dev/tcp/127.0.0.1/%d; printf "GET /index.html HTTP/1.0\\r\\n\\r\\n" >&3; cat <&3'
              % PUBLISHED_PORT)
    wait_until('the hostPort pod to answer on the test host', lambda: runtime.host.exec(
        'timeout', '10', 'bash', '-c', script, check=False).stdout.rstrip().endswith(b'kinc-rt-app'), attempts=50)
    runtime.crictl('rmp', '--force', web)


def test_check_diff_shows_a_port_change_and_the_restart_it_causes_then_the_run_moves_the_port(runtime):
    moved = runtime.deploy_vars(PUBLISHED_PORT + 1)
    unit_path = '/home/kinc/.config/containers/systemd/%s.container' % NODE
    before = runtime.user('cat', unit_path).stdout
    planned = runtime.run_playbook('deploy-converged.yml', runtime.inventory, extra_vars=moved, check=True,
                                   diff=True)['kinc_cluster_converged']
    assert planned['changed'] is True
    assert 'restart %s' % SERVICE in [a.split(': ', 1)[-1] for a in planned['actions']], planned['actions']
    diff = [d for d in planned['diff'] if d.get('before_header', '').endswith('.container')][0]
    old, new = ['PublishPort=127.0.0.1:%d:%d/tcp' % (port, HOST_PORT) for port in (PUBLISHED_PORT, PUBLISHED_PORT + 1)]
    assert old in diff['before'].splitlines() and new not in diff['before'].splitlines()
    assert new in diff['after'].splitlines() and old not in diff['after'].splitlines()
    # Check mode changed nothing.
    assert runtime.user('cat', unit_path).stdout == before
    applied = runtime.run_playbook('deploy-converged.yml', runtime.inventory, extra_vars=moved)['kinc_cluster_converged']
    assert applied['clusters'][0]['restarted'] is True
    runtime.published_port = PUBLISHED_PORT + 1
    ports = runtime.user('podman', 'port', NODE).stdout.decode()
    assert '30080/tcp -> 127.0.0.1:%d' % (PUBLISHED_PORT + 1) in ports and ':%d\n' % PUBLISHED_PORT not in ports


def test_an_image_with_an_opaque_whiteout_unpacks_and_runs(runtime):
    # The node's storage is overlay in the user namespace, as in the real image: whiteouts are user.* xattrs
    # (userxattr). Loading WHITEOUT (the deploy did, with kinc_image's skopeo) failed with "operation not
    # permitted" before skopeo and CRI-O were told they run in a user namespace.
    assert 'driver = "overlay"' in runtime.node('cat', '/etc/containers/storage.conf').stdout.decode()
    pod, pod_config = runtime.pod('whiteout')
    container, _seconds = runtime.container(pod, pod_config, 'ls', WHITEOUT, ['ls', '/data'])
    wait_until('the ls container to exit', lambda: json.loads(runtime.crictl('inspect', container))
               ['status']['state'] == 'CONTAINER_EXITED', attempts=50)
    assert runtime.crictl('logs', container) == 'new'
    mounts = runtime.node('cat', '/proc/self/mountinfo').stdout.decode()
    assert [line for line in mounts.splitlines() if ' overlay ' in line and 'userxattr' in line]
    runtime.crictl('rmp', '--force', pod)


def test_the_node_unit_lifts_no_pids_limit_here_and_stops_crio_cleanly(runtime):
    unit = runtime.user('systemctl', '--user', 'cat', SERVICE).stdout.decode()
    exec_start = [line for line in unit.splitlines() if line.startswith('ExecStart=')][0]
    assert '--stop-timeout=100' in exec_start
    # The test host delegates no controller: a pids limit of -1 would make crun refuse the node.
    assert 'pids-limit' not in exec_start
    assert 'TimeoutStopSec=120' in unit

    stopped = time.monotonic()
    runtime.user('systemctl', '--user', 'stop', SERVICE)
    measure('stop of a node with real CRI-O', '%.1f s' % (time.monotonic() - stopped))
    volume = json.loads(runtime.user('podman', 'volume', 'inspect', 'kinc-%s-var-data' % CLUSTER).stdout)[0]
    # CRI-O wrote its clean-shutdown file: it was not killed while it synced its storage.
    assert runtime.user('test', '-e', volume['Mountpoint'] + '/lib/crio/clean.shutdown', check=False).returncode == 0

    runtime.user('systemctl', '--user', 'start', SERVICE)
    wait_until('the node to be ready again', lambda: runtime.status().get('phase') == 'ready', attempts=600)
    journal = runtime.node('journalctl', '-b', '-u', 'crio.service', '--no-pager').stdout.decode()
    assert 'unclean shutdown' not in journal, journal[-3000:]
    tags = [tag for image in json.loads(runtime.crictl('images', '-o', 'json'))['images'] for tag in image['repoTags']]
    assert APP in tags and WHITEOUT in tags


def test_critest_passes_against_the_node_but_for_what_this_machine_cannot_give(runtime):
    """cri-tools' CRI validation suite (built from the same source as crictl) against the node's CRI-O with
    kinc's configuration, in the rootless node."""
    runtime_dir = run(['bash', os.path.join(REPO, 'tests', 'node_image', 'build-runtime.sh')]).stdout.split()[-1]
    run(['podman', 'cp', os.path.join(runtime_dir.decode(), 'critest'), '%s:/usr/local/bin/critest' % runtime.host.name])
    runtime.user('podman', 'cp', '/usr/local/bin/critest', NODE + ':/usr/local/bin/critest')
    runtime.node_json('/var/tmp/critest-images.yaml', {'defaultTestContainerImage': CRITEST_BUSYBOX,
                                                       'webServerTestImage': CRITEST_WEB})
    started = time.monotonic()
    done = runtime.node('critest', '--runtime-endpoint', 'unix:///var/run/crio/crio.sock',
                        '--test-images-file', '/var/tmp/critest-images.yaml', '-ginkgo.no-color',
                        '-ginkgo.skip=' + '|'.join(CRITEST_SKIPS.values()), check=False)
    output = done.stdout.decode(errors='replace') + done.stderr.decode(errors='replace')
    summary = re.search(r'Ran (\d+) of (\d+) Specs.*\n.*?(\d+) Passed \| (\d+) Failed \| (\d+) Pending \| (\d+) Skipped',
                        output)
    assert summary, output[-5000:]
    ran, total, passed, failed, _pending, skipped = [int(n) for n in summary.groups()]
    measure('critest (cri-tools 1.36.0) against the node', '%d passed, %d failed, %d skipped of %d specs in %.0f s'
            % (passed, failed, skipped, total, time.monotonic() - started))
    # Each failed spec's report: its name and what ginkgo says failed.
    failures = [block for block in output.split('-' * 30) if '[FAILED]' in block]
    assert failed == 0 and done.returncode == 0, '\n'.join(failures)[-8000:] or output[-5000:]
    assert passed == ran and passed >= 60, summary.group(0)


def registry_volume_port(runtime):
    done = runtime.user('podman', 'volume', 'inspect', '--format', '{{index .Labels "io.kinc.registry-port"}}',
                        'kinc-registry', check=False)
    return done.stdout.decode().strip() if done.returncode == 0 else None


def started_at(runtime, container):
    return runtime.user('podman', 'inspect', '--format', '{{.Id}} {{.State.StartedAt}}', container).stdout


def test_an_image_pushed_from_the_host_to_the_local_registry_runs_in_the_node(runtime):
    """kinc_registry: the owner pushes to localhost:<port> on the host; the node's real CRI-O pulls the same name
    (pasta forwards that one loopback port of the node to the host's) and runs it."""
    assert registry_volume_port(runtime) == str(REGISTRY_PORT)
    # Plain HTTP only for that registry, from the drop-in kinc wrote for the owner's Podman and into the node.
    host_drop_in = runtime.user('cat', '/home/kinc/.config/containers/registries.conf.d/50-kinc-registry.conf').stdout
    assert host_drop_in == runtime.node('cat', '/etc/containers/registries.conf.d/50-kinc-registry.conf').stdout
    assert b'\n[[registry]]\nlocation = "localhost:%d"\ninsecure = true\n' % REGISTRY_PORT in host_drop_in
    runtime.user('podman', 'tag', APP, PUSHED)
    runtime.user('podman', 'push', '-q', PUSHED)
    assert PUSHED not in runtime.crictl('images')
    runtime.crictl('pull', PUSHED)
    assert PUSHED.rsplit(':', 1)[0] in runtime.crictl('images')
    web, web_config = runtime.pod('pushed')
    runtime.container(web, web_config, 'pushed', PUSHED, ['httpd', '-f', '-p', '8080', '-h', '/www'])
    address = runtime.pod_ip(web)
    wait_until('the pushed image to serve', lambda: 'kinc-rt-app' in runtime.node(
        'timeout', '5', 'bash', '-c', 'exec 3<>/dev/tcp/%s/8080; printf "GET /index.html HTTP/1.0\\r\\n\\r\\n" >&3; '
        'cat <&3' % address, check=False).stdout.decode(), attempts=30)
    runtime.crictl('stopp', web)
    runtime.crictl('rmp', web)
    # Only that port of the host is the node's: another host loopback port stays out of reach.
    runtime.user('sh', '-c', 'nohup python3 -m http.server 5999 --bind 127.0.0.1 >/dev/null 2>&1 &', detach=True)
    runtime.host.wait_listening(5999)
    assert runtime.node('timeout', '5', 'bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/5999', check=False).returncode != 0


def test_an_unchanged_deploy_with_the_registry_restarts_nothing(runtime):
    before = [started_at(runtime, name) for name in (NODE, 'kinc-registry')]
    again = runtime.deploy()
    assert ' | CHANGED => ' not in again['_output'], again['_output'][-3000:]
    assert [started_at(runtime, name) for name in (NODE, 'kinc-registry')] == before


def test_cleanup_keeps_the_registry_volume_and_purge_removes_it(runtime):
    """Runs last: it removes the cluster."""
    units = '/home/kinc/.config/containers/systemd/'
    runtime.run_playbook('cleanup.yml', runtime.inventory, extra_vars={'kinc_user': runtime.host.USER, 'kinc_hosts': 'all'})
    assert runtime.user('podman', 'container', 'exists', 'kinc-registry', check=False).returncode == 1
    assert runtime.user('ls', units).stdout.decode().split() == []
    assert registry_volume_port(runtime) == str(REGISTRY_PORT), 'the pushed images are kept'
    assert runtime.user('ls', '/home/kinc/.config/containers/registries.conf.d').stdout == b''
    runtime.run_playbook('cleanup.yml', runtime.inventory, extra_vars={
        'kinc_user': runtime.host.USER, 'kinc_hosts': 'all', 'kinc_purge': True})
    assert registry_volume_port(runtime) is None

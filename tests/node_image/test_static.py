# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Static checks of files/image: systemd units, shell scripts, Kubernetes manifests, the kubeadm configs
kinc renders, and the fallback crun wrapper's edits of an OCI spec."""

import glob
import json
import os
import re
import shutil
import stat
import subprocess
import tomllib

import jsonschema
import kubernetes_validate
import pytest
import yaml

from conftest import HERE, IMAGE_DIR, REPO, ROOTFS, run
from kube_config_schemas import BY_KIND

from ansible_collections.kinc.kinc.plugins.module_utils.node import config_render
from ansible_collections.kinc.kinc.plugins.module_utils.node import image_builds

# Every Kubernetes version kinc builds a node image for.
SUPPORTED = sorted(row['kubernetes'] for row in image_builds.VERSIONS.values())
KINC_UNITS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOTFS, 'etc/systemd/system/*.service')))
# Allocations as kinc_allocate hands them out (default mapping and a few other ports), rootless and not.
ALLOCATIONS = [
    ('dev', '10.244.43.0/24', '10.43.0.0/16', None, True),
    ('ci-1', '10.244.1.0/24', '10.1.0.0/16', '1.36.4', True),
    ('a' * 40, '10.244.99.0/24', '10.99.0.0/16', 'v1.35.9', False),
    ('x', '192.168.128.0/17', '172.16.0.0/12', '1.38.0-rc.1', True),
]


def shell_scripts():
    paths = []
    for root in (os.path.join(ROOTFS, 'usr'), HERE):
        for dirpath, dummy, files in os.walk(root):
            for name in files:
                path = os.path.join(dirpath, name)
                with open(path, 'rb') as handle:
                    head = handle.readline()
                if head.startswith(b'#!') and (b'sh' in head.split(b'/')[-1]) or name.endswith('.sh'):
                    paths.append(path)
    return sorted(paths)


def test_every_unit_and_drop_in_passes_systemd_analyze_verify(node_image):
    # Verified inside the node test image: the units see the image's binaries and the package units
    # (stand-ins there) their drop-ins extend.
    units = ['/etc/systemd/system/%s' % unit for unit in KINC_UNITS] + ['crio.service', 'kubelet.service']
    result = run('podman', 'run', '--rm', '--entrypoint', 'systemd-analyze', node_image,
                 'verify', '--man=no', *units, check=False)
    assert result.returncode == 0 and result.stderr == '', result.stderr
    assert set(KINC_UNITS) == {'kinc-cgroups.service', 'kinc-preflight.service', 'kinc-kubeadm-init.service',
                               'kinc-postinit.service', 'kinc-events.service'}


@pytest.mark.skipif(not shutil.which('shellcheck'), reason='shellcheck is not installed')
def test_every_shell_script_passes_shellcheck():
    scripts = shell_scripts()
    assert len(scripts) >= 15, scripts
    result = run('shellcheck', '-x', '-P', 'SCRIPTDIR', *scripts, check=False)
    assert result.returncode == 0, result.stdout
    for path in scripts:
        with open(path, 'rb') as handle:
            if handle.read(2) == b'#!':
                assert os.stat(path).st_mode & stat.S_IXUSR, '%s is not executable' % path


def manifest_objects(path):
    """The objects of a manifest file, the items of a List included."""
    with open(path) as handle:
        docs = list(yaml.safe_load_all(handle))
    return [obj for doc in docs for obj in (doc['items'] if doc['kind'] == 'List' else [doc])]


@pytest.mark.parametrize('version', SUPPORTED)
def test_every_manifest_validates_against_each_supported_kubernetes(version):
    manifests = glob.glob(os.path.join(ROOTFS, 'etc/kinc/manifests/*.yaml'))
    assert manifests
    kinds = []
    for path in manifests:
        for obj in manifest_objects(path):
            kubernetes_validate.validate(obj, image_builds.minor_of(version) + '.0', strict=True)
            kinds.append(obj['kind'])
    assert 'StorageClass' in kinds and 'Deployment' in kinds


def test_the_storage_class_is_the_default_standard():
    classes = [obj for obj in manifest_objects(os.path.join(ROOTFS, 'etc/kinc/manifests/local-path-storage.yaml'))
               if obj['kind'] == 'StorageClass']
    assert [c['metadata']['name'] for c in classes] == ['standard']
    assert classes[0]['metadata']['annotations']['storageclass.kubernetes.io/is-default-class'] == 'true'


NETPOL_MANIFEST = os.path.join(ROOTFS, 'etc/kinc/manifests/kube-network-policies.yaml')


def test_the_network_policy_engine_runs_in_every_node_and_watches_the_policies():
    objects = dict((obj['kind'], obj) for obj in manifest_objects(NETPOL_MANIFEST))
    daemonset = objects['DaemonSet']
    spec = daemonset['spec']['template']['spec']
    container = spec['containers'][0]
    # Its rules must be in the node's network namespace, where ptp routes every pod's traffic.
    assert spec['hostNetwork'] is True and container['securityContext']['privileged'] is True
    assert re.match(r'\Aregistry\.k8s\.io/networking/kube-network-policies:v\d+\.\d+\.\d+\Z', container['image'])
    assert spec['serviceAccountName'] == objects['ServiceAccount']['metadata']['name']
    binding = objects['ClusterRoleBinding']
    assert binding['roleRef']['name'] == objects['ClusterRole']['metadata']['name']
    assert binding['subjects'][0]['namespace'] == daemonset['metadata']['namespace'] == 'kube-system'
    watched = dict((resource, set(rule['verbs'])) for rule in objects['ClusterRole']['rules']
                   for resource in rule['resources'])
    assert all(watched[r] >= {'list', 'watch'} for r in ('networkpolicies', 'pods', 'namespaces'))
    # kinc-postinit's network-policy step applies this file and waits for this DaemonSet, the last step.
    with open(os.path.join(ROOTFS, 'usr/local/bin/kinc-postinit')) as handle:
        postinit = handle.read()
    step = re.search(r'^    network-policy\)\n(.*?);;$', postinit, re.M | re.S).group(1)
    assert 'apply -f /etc/kinc/manifests/kube-network-policies.yaml' in step
    assert '-n kube-system rollout status daemonset/%s ' % daemonset['metadata']['name'] in step
    assert re.search(r'^for name in .* datapath network-policy; do$', postinit, re.M)
    with open(os.path.join(ROOTFS, 'usr/local/bin/kinc-status')) as handle:
        assert '["network-policy", "kinc-postinit.service"]\n]' in handle.read()


@pytest.mark.parametrize('version', SUPPORTED)
def test_verify_proves_a_deny_policy_blocks_and_an_allow_policy_lets_through(version):
    with open(os.path.join(REPO, 'playbooks/verify.yml')) as handle:
        play = yaml.safe_load(handle)[0]
    deny, allow = play['vars']['kinc_verify_deny_policy'], play['vars']['kinc_verify_allow_policy']
    for policy in (deny, allow):
        kubernetes_validate.validate(dict(policy, metadata=dict(policy['metadata'], namespace='kinc-verify')),
                                     image_builds.minor_of(version) + '.0', strict=True)
    assert deny['spec'] == {'podSelector': {}, 'policyTypes': ['Ingress']}, 'deny: every pod, no ingress rule'
    client = [o for o in play['vars']['kinc_verify_manifest'] if o['kind'] == 'Pod' and o['metadata']['name'] == 'client']
    web = [o for o in play['vars']['kinc_verify_manifest'] if o['kind'] == 'Deployment']
    rule = allow['spec']['ingress'][0]
    assert rule['from'][0]['podSelector']['matchLabels'].items() <= client[0]['metadata']['labels'].items()
    assert allow['spec']['podSelector']['matchLabels'] == web[0]['spec']['template']['metadata']['labels']
    assert rule['ports'][0]['port'] == web[0]['spec']['template']['spec']['containers'][0]['ports'][0]['containerPort']
    tasks = dict((t['name'], t) for t in play['tasks'][0]['block'])
    names = list(tasks)
    denied = tasks['The deny policy blocks the pod-to-pod request']
    allowed = tasks['The allow policy lets the pod-to-pod request through']
    assert denied['until'] == 'kinc_verify_denied.rc != 0' and denied['ansible.builtin.command']['argv'] == \
        allowed['ansible.builtin.command']['argv'] == '{{ kinc_verify_web_request }}'
    assert tasks['Fail when the deny policy is not enforced']['ansible.builtin.assert']['that'] == 'kinc_verify_denied.rc != 0'
    assert "stdout == 'kinc-ok'" in allowed['until'] and 'failed_when' not in allowed
    assert names.index('Deny all ingress in the namespace') < names.index(denied['name']) \
        < names.index('Allow the client pod to reach the web pods') < names.index(allowed['name'])
    # The e2e workflow runs tests/node_image/e2e.sh, which runs test_e2e_real_image.py, which runs verify.yml
    # on every cluster of the real node image, twice.
    with open(os.path.join(REPO, '.github/workflows/e2e.yml')) as handle:
        steps = [step.get('run', '') for job in yaml.safe_load(handle)['jobs'].values() for step in job['steps']]
    assert 'tests/node_image/e2e.sh' in steps
    with open(os.path.join(HERE, 'e2e.sh')) as handle:
        assert re.search(r'^exec python -m pytest .* tests/node_image/test_e2e_real_image.py', handle.read(), re.M)
    with open(os.path.join(HERE, 'test_e2e_real_image.py')) as handle:
        assert len(re.findall(r"playbook\('verify.yml', inventory, '-e', 'kinc_verify_cluster=", handle.read())) == 2


def test_the_schemas_catch_misplaced_fields():
    bad = {'apiVersion': 'kubeadm.k8s.io/v1beta4', 'kind': 'ClusterConfiguration',
           'apiServer': {'timeoutForControlPlane': '4m0s'}}  # v1beta3 field, moved to InitConfiguration.timeouts
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, BY_KIND['ClusterConfiguration'])
    with pytest.raises(jsonschema.ValidationError):  # v1beta3's map form of extraArgs
        jsonschema.validate({'apiVersion': 'kubeadm.k8s.io/v1beta4', 'kind': 'ClusterConfiguration',
                             'apiServer': {'extraArgs': {'v': '2'}}}, BY_KIND['ClusterConfiguration'])


def template_text():
    with open(os.path.join(REPO, config_render.TEMPLATE_PATH)) as handle:
        return handle.read()


@pytest.mark.parametrize('image_version', SUPPORTED)
@pytest.mark.parametrize('allocation', ALLOCATIONS, ids=[a[0][:8] for a in ALLOCATIONS])
def test_rendered_kubeadm_config_matches_the_api_schemas(allocation, image_version):
    name, pods, services, version, rootless = allocation
    text = config_render.render_kubeadm_config(template_text(), name, pods, services, version, rootless)
    # What the node does with the placeholders left for it.
    text = text.replace('${KINC_KUBERNETES_VERSION}', 'v' + image_version) \
        .replace('${KINC_NODE_IP}', config_render.NODE_IP)
    docs = [d for d in yaml.safe_load_all(text) if d]
    assert sorted(d['kind'] for d in docs) == sorted(BY_KIND)
    for doc in docs:
        jsonschema.validate(doc, BY_KIND[doc['kind']])
    cluster = next(d for d in docs if d['kind'] == 'ClusterConfiguration')
    assert (cluster['clusterName'], cluster['networking']['podSubnet'], cluster['networking']['serviceSubnet']) \
        == (name, pods, services)


@pytest.mark.skipif(not shutil.which('jq'), reason='jq is not installed')
@pytest.mark.parametrize('allocation', ALLOCATIONS, ids=[a[0][:8] for a in ALLOCATIONS])
def test_node_and_collection_render_the_template_identically(allocation):
    name, pods, services, version, rootless = allocation
    values = config_render.template_values(name, pods, services, version or 'v' + SUPPORTED[-1], rootless)
    values['KINC_NODE_IP'] = config_render.NODE_IP
    env = dict(os.environ, **values)
    node = subprocess.run([os.path.join(ROOTFS, 'usr/local/bin/kinc-render-config'),
                           os.path.join(REPO, config_render.TEMPLATE_PATH)],
                          env=env, capture_output=True, text=True, check=True).stdout
    assert node == config_render.render(template_text(), values)


def test_node_render_names_the_unset_placeholders(tmp_path):
    template = tmp_path / 't.tmpl'
    template.write_text('a: ${KINC_SET}\nb: ${KINC_UNSET_ONE} ${KINC_UNSET_TWO}\n')
    env = {'PATH': os.environ['PATH'], 'KINC_SET': 'x'}
    result = subprocess.run([os.path.join(ROOTFS, 'usr/local/bin/kinc-render-config'), str(template)],
                            env=env, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert 'no value for KINC_UNSET_ONE, KINC_UNSET_TWO' in result.stderr


def render_node_template(path, **values):
    env = dict({'PATH': os.environ['PATH']}, **values)
    return subprocess.run([os.path.join(ROOTFS, 'usr/local/bin/kinc-render-config'), os.path.join(ROOTFS, path)],
                          env=env, capture_output=True, text=True, check=True).stdout


def test_cni_template_renders_a_ptp_network_that_needs_nothing_from_the_host():
    conf = json.loads(render_node_template('etc/kinc/cni/10-kinc.conflist.tmpl', KINC_POD_CIDR='10.244.7.0/24'))
    # ptp (like kindnet): no Linux bridge, so neither br_netfilter nor bridge-nf-call-iptables is needed.
    assert [p['type'] for p in conf['plugins']] == ['ptp']
    ipam = conf['plugins'][0]['ipam']
    assert ipam['type'] == 'host-local' and ipam['ranges'] == [[{'subnet': '10.244.7.0/24'}]]
    # /run is a tmpfs of each container start: no reservation outlives the network namespace it was made in.
    assert ipam['dataDir'].startswith('/run/')


@pytest.mark.parametrize('version', SUPPORTED)
def test_the_datapath_probe_pod_validates_and_checks_dns_and_the_api_service(version):
    with open(os.path.join(ROOTFS, 'usr/local/lib/kinc/common.sh')) as handle:
        image = re.search(r'^KINC_PROBE_IMAGE=(\S+)$', handle.read(), re.M).group(1)
    text = render_node_template('etc/kinc/datapath-probe.yaml.tmpl', KINC_DNS_IP='10.43.0.10',
                                KINC_API_IP='10.43.0.1', KINC_DNS_DOMAIN='cluster.local', KINC_PROBE_IMAGE=image)
    pod = yaml.safe_load(text)
    kubernetes_validate.validate(pod, image_builds.minor_of(version) + '.0', strict=True)
    assert (pod['metadata']['namespace'], pod['metadata']['name']) == ('kube-system', 'kinc-datapath')
    assert pod['spec']['restartPolicy'] == 'Never' and not pod['spec'].get('hostNetwork')
    script = pod['spec']['containers'][0]['command'][-1]
    assert 'nslookup "$name" 10.43.0.10' in script and 'https://10.43.0.1/livez' in script
    with open(os.path.join(REPO, 'playbooks/verify.yml')) as handle:
        assert image in handle.read(), 'the probe uses the image verify.yml pulls anyway'


@pytest.mark.skipif(not shutil.which('jq'), reason='jq is not installed')
@pytest.mark.parametrize('delegated', ['cpu memory pids', 'cpuset cpu io memory hugetlb pids rdma'])
def test_crun_wrapper_keeps_the_cgroup_path_and_drops_what_a_user_namespace_refuses(tmp_path, delegated):
    bundle = tmp_path / 'bundle'
    bundle.mkdir()
    resources = {'memory': {'limit': 1}, 'cpu': {'shares': 2, 'cpus': '0-1', 'mems': '0'}, 'pids': {'limit': 3},
                 'blockIO': {'weight': 10}, 'devices': [{'allow': False, 'access': 'rwm'}]}
    spec = {'ociVersion': '1.0.2', 'process': {'args': ['sh'], 'oomScoreAdj': -997, 'apparmorProfile': 'x'},
            'mounts': [{'destination': '/sys', 'type': 'sysfs', 'source': 'sysfs', 'options': ['ro']},
                       {'destination': '/dev/pts', 'type': 'devpts', 'source': 'devpts',
                        'options': ['nosuid', 'gid=5', 'mode=620']}],
            'linux': {'cgroupsPath': '/kubelet/kubepods/burstable/pod1/ctr1', 'resources': resources,
                      'namespaces': [{'type': 'pid'}, {'type': 'mount'}]}}
    (bundle / 'config.json').write_text(json.dumps(spec))
    controllers = tmp_path / 'cgroup.controllers'
    controllers.write_text(delegated + '\n')
    fake_crun = tmp_path / 'crun'
    fake_crun.write_text('#!/bin/sh\necho "$@" > "%s"\n' % (tmp_path / 'args'))
    fake_crun.chmod(0o755)
    env = dict(os.environ, KINC_CRUN=str(fake_crun), KINC_CGROUP_CONTROLLERS_FILE=str(controllers))
    args = ['--root', '/run/crun', 'create', '--bundle', str(bundle), 'ctr1']
    subprocess.run([os.path.join(ROOTFS, 'usr/local/bin/kinc-crun-wrapper')] + args, env=env, check=True)

    edited = json.loads((bundle / 'config.json').read_text())
    assert edited['linux']['cgroupsPath'] == spec['linux']['cgroupsPath']
    assert 'oomScoreAdj' not in edited['process'] and 'apparmorProfile' not in edited['process']
    kept = edited['linux']['resources']
    assert 'devices' not in kept
    assert kept['memory'] == resources['memory'] and kept['pids'] == resources['pids']
    assert ('blockIO' in kept) == ('io' in delegated.split())
    assert kept['cpu'] == (resources['cpu'] if 'cpuset' in delegated.split() else {'shares': 2})
    # No network namespace of its own (a hostNetwork pod): /sys becomes a read-only bind of the node's.
    assert edited['mounts'][0] == {'destination': '/sys', 'type': 'bind', 'source': '/sys',
                                   'options': ['nosuid', 'noexec', 'nodev', 'ro', 'rbind']}
    assert edited['mounts'][1]['options'] == ['nosuid', 'mode=620']
    assert (tmp_path / 'args').read_text().split() == args


@pytest.mark.parametrize('in_userns, controllers, route', [
    ('0', 'cpu memory pids', 'root'),
    ('0', '', 'root'),
    ('1', 'cpuset cpu io memory pids', 'crun-wrapper'),
    ('1', 'memory pids', 'crio-rootless'),
    ('1', '', 'crio-rootless'),
])
def test_the_runtime_route_keeps_cgroup_paths_whenever_the_controllers_are_delegated(in_userns, controllers, route):
    script = '. "$1"; shift; kinc_runtime_route "$@"'
    result = subprocess.run(['bash', '-c', script, 'route', os.path.join(ROOTFS, 'usr/local/lib/kinc/common.sh'),
                             in_userns] + controllers.split(), capture_output=True, text=True, check=True)
    assert result.stdout == route + '\n'


def enable_controllers(directory, *controllers):
    script = '. "$1"; shift; kinc_enable_controllers "$@"'
    return subprocess.run(['bash', '-c', script, 'enable', os.path.join(ROOTFS, 'usr/local/lib/kinc/common.sh'),
                           str(directory)] + list(controllers), capture_output=True, text=True, check=False)


def test_enabling_cgroup_controllers_checks_what_the_kernel_took(tmp_path):
    # Already enabled: nothing to write, success.
    (tmp_path / 'cgroup.subtree_control').write_text('cpu memory pids\n')
    assert enable_controllers(tmp_path, 'cpu', 'memory', 'pids').returncode == 0
    assert enable_controllers(tmp_path).returncode == 0
    # The kernel refuses (here: a subtree_control that cannot be written): the step fails naming what is
    # missing, after its retries, instead of warning and reporting a node whose pods get no limits.
    refused = tmp_path / 'refused'
    (refused / 'cgroup.subtree_control').mkdir(parents=True)
    result = enable_controllers(refused, 'cpu', 'pids')
    assert result.returncode == 1 and result.stdout == 'cpu pids\n'


def test_the_image_preloads_every_image_a_first_boot_needs_into_the_store_storage_conf_names():
    containerfile = open(os.path.join(IMAGE_DIR, 'Containerfile')).read()
    preload = containerfile[containerfile.index('preload-images overlay') - 700:]
    for source in ('pause_image', 'KINC_PROBE_IMAGE', 'kubeadm config images list --kubernetes-version',
                   '/etc/kinc/manifests/*.yaml', 'docker://$image=$image'):
        assert source in preload, source
    script = open(os.path.join(ROOTFS, 'usr/local/libexec/kinc/preload-images')).read()
    store = re.search(r'^store=(\S+)$', script, re.M).group(1)
    storage = tomllib.loads(open(os.path.join(ROOTFS, 'etc/containers/storage.conf')).read())
    assert storage['storage']['driver'] == 'overlay'
    assert storage['storage']['options']['additionalimagestores'] == [store]
    assert not storage['storage']['graphroot'].startswith(store)


def common_sh(function, *args, stdin=None):
    script = '. "$1"; shift; %s "$@"' % function
    return subprocess.run(['bash', '-c', script, function, os.path.join(ROOTFS, 'usr/local/lib/kinc/common.sh')]
                          + list(args), input=stdin, capture_output=True, text=True, check=False)


GIB = 1024 ** 3


@pytest.mark.parametrize('memtotal_kb, memory_max, cpus, cpu_max, reserved', [
    # 16 GiB, 8 CPUs on the host; memory: 4g, cpus: 1.5 on the node: allocatable = the limits.
    (16 * 1024 * 1024, str(4 * GIB), '8', '150000 100000', 'memory=%d,cpu=6500m' % (12 * GIB)),
    (16 * 1024 * 1024, 'max', '8', '200000 100000', 'cpu=6000m'),
    (16 * 1024 * 1024, str(2 * GIB), '8', 'max 100000', 'memory=%d' % (14 * GIB)),
    # No limits, or limits at or above what the host has: nothing reserved.
    (16 * 1024 * 1024, 'max', '8', 'max 100000', ''),
    (4 * 1024 * 1024, str(8 * GIB), '2', '400000 100000', ''),
])
def test_the_node_reserves_what_lies_beyond_its_limits_so_allocatable_is_the_limit(memtotal_kb, memory_max, cpus,
                                                                                   cpu_max, reserved):
    result = common_sh('kinc_system_reserved', str(memtotal_kb), memory_max, cpus, cpu_max)
    assert result.returncode == 0, result.stderr
    assert result.stdout == reserved + '\n'


def test_kubelet_reads_the_reservation_the_cgroups_step_writes():
    with open(os.path.join(ROOTFS, 'etc/systemd/system/kubelet.service.d/20-kinc.conf')) as handle:
        assert 'EnvironmentFile=-/run/kinc/kubelet.env\n' in handle.read()
    with open(os.path.join(ROOTFS, 'usr/local/bin/kinc-cgroups')) as handle:
        script = handle.read()
    assert '--system-reserved=$system_reserved' in script and '/run/kinc/kubelet.env' in script
    assert '"$cgroup/memory.max"' in script and '"$cgroup/cpu.max"' in script


@pytest.mark.skipif(not shutil.which('jq'), reason='jq is not installed')
def test_a_baked_node_puts_the_labels_where_the_collection_does():
    from ansible_collections.kinc.kinc.plugins.module_utils.spec import node_settings
    labels = {'ingress-ready': 'true', 'example.com/tier': 'edge'}
    values = config_render.template_values('dev', '10.244.43.0/24', '10.43.0.0/16', 'v' + SUPPORTED[-1])
    values['KINC_NODE_IP'] = config_render.NODE_IP
    rendered = config_render.render(template_text(), values)
    # cluster.env as kinc writes it, read back as the node reads it: the '=' of the pairs survives.
    env_file = config_render.cluster_env('dev', 6443, '10.244.43.0/24', '10.43.0.0/16', node_labels=labels)
    read = subprocess.run(['bash', '-c', '. "$1"; kinc_read_env /dev/stdin; echo "$KINC_NODE_LABELS"', 'read',
                           os.path.join(ROOTFS, 'usr/local/lib/kinc/common.sh')],
                          input=env_file, capture_output=True, text=True, check=True)
    assert read.stderr == '' and read.stdout.strip() == node_settings.labels_arg(labels)
    node = common_sh('kinc_with_node_labels', read.stdout.strip(), stdin=rendered)
    assert node.returncode == 0, node.stderr
    assert node.stdout == node_settings.with_node_labels(rendered, labels)
    refused = common_sh('kinc_with_node_labels', 'a=b', stdin='kind: InitConfiguration\n')
    assert refused.returncode == 1 and 'no kubeletExtraArgs line' in refused.stderr


@pytest.mark.parametrize('image_version', SUPPORTED)
def test_labels_and_patches_keep_the_config_valid_for_each_supported_kubernetes(image_version):
    import importlib
    action = importlib.import_module('ansible_collections.kinc.kinc.plugins.action.kinc_cluster')
    from ansible_collections.kinc.kinc.plugins.module_utils.spec import cluster_spec
    params = cluster_spec.normalize({
        'name': 'dev', 'api_port': 6443, 'pod_subnet': '10.244.43.0/24', 'service_subnet': '10.43.0.0/16',
        'node_labels': {'ingress-ready': 'true'}, 'kubeadm_patches': [
            {'kind': 'ClusterConfiguration', 'apiServer': {'extraArgs': [{'name': 'v', 'value': '2'}]}},
            {'kind': 'KubeletConfiguration', 'serverTLSBootstrap': True},
            {'kind': 'InitConfiguration', 'nodeRegistration': {'taints': None}}]})[0]
    text = action.render_node_config(params, rootless=True)['kubeadm.conf']
    text = text.replace('${KINC_KUBERNETES_VERSION}', 'v' + image_version) \
        .replace('${KINC_NODE_IP}', config_render.NODE_IP)
    docs = [d for d in yaml.safe_load_all(text) if d]
    for doc in docs:
        jsonschema.validate(doc, BY_KIND[doc['kind']])
    init = next(d for d in docs if d['kind'] == 'InitConfiguration')
    assert 'taints' not in init['nodeRegistration']
    assert next(d for d in docs if d['kind'] == 'KubeletConfiguration')['serverTLSBootstrap'] is True
    assert init['nodeRegistration']['kubeletExtraArgs'][0] == {'name': 'node-labels', 'value': 'ingress-ready=true'}


def test_the_opt_in_tests_call_no_fixture_and_request_only_fixtures():
    """The e2e test runs only where GitHub is reachable: here, a helper that became a fixture by a misplaced
    decorator (or a fixture that lost it) must fail statically."""
    import ast
    for path in glob.glob(os.path.join(HERE, 'test_e2e*.py')):
        with open(path) as handle:
            tree = ast.parse(handle.read())
        functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
        fixtures = set(f.name for f in functions if any('fixture' in ast.unparse(d) for d in f.decorator_list))
        called = set(node.func.id for node in ast.walk(tree)
                     if isinstance(node, ast.Call) and isinstance(node.func, ast.Name))
        requested = set(a.arg for f in functions if f.name.startswith('test_') for a in f.args.args)
        assert not fixtures & called, (path, fixtures & called)
        assert requested <= fixtures | {'tmp_path', 'request', 'monkeypatch'}, (path, requested - fixtures)

# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller half of kinc_cluster: the Quadlet units rendered from files/quadlet/*.j2 with real Jinja2,
checked by the real Quadlet generator of the test host image."""

import os
import re
import shutil
import subprocess

import pytest
from jinja2 import UndefinedError

from ansible_collections.kinc.kinc.plugins.action import kinc_cluster as action
from ansible_collections.kinc.kinc.plugins.module_utils.spec import cluster_spec
from ansible_collections.kinc.kinc.plugins.module_utils.node import config_render

TESTHOST_IMAGE = os.environ.get('KINC_TESTHOST_IMAGE', 'localhost/kinc-testhost:trixie')


# Published ports of the node the Quadlet generator tests render: one on the API address, one of its own.
PORTS = [{'host_port': 8080, 'node_port': 30080}, {'host_port': 5353, 'node_port': 53, 'protocol': 'udp', 'address': '::1'}]
# What the generated service of a node rendered with options(api_port=7443, ports=PORTS) runs `podman run` with.
NODE_RUN_ARGUMENTS = (
    '--name kinc-dev-control-plane', '--hostname kinc-dev-control-plane', '--publish 127.0.0.1:7443:6443',
    '--publish 127.0.0.1:8080:30080/tcp', '--publish [::1]:5353:53/udp',
    '-v kinc-dev-var-data:/var:suid,exec,dev', '-v kinc-dev-config:/etc/kinc/config', '-v /lib/modules:/lib/modules:ro',
    '--tmpfs /tmp', '--tmpfs /run', '--label io.kinc.cluster=dev', '--label io.kinc.api-port=7443',
    '--label io.kinc.managed-by=kinc.kinc', '--privileged', '--stop-timeout=100', '--pids-limit -1',
    '--env container=podman', cluster_spec.DEFAULT_IMAGE)


def options(**overrides):
    args = {'name': 'dev', 'api_port': 6443, 'pod_subnet': '10.244.43.0/24', 'service_subnet': '10.43.0.0/16'}
    args.update(overrides)
    return cluster_spec.normalize(args)[0]


def lines(text, key):
    return [line.split('=', 1)[1] for line in text.splitlines() if line.startswith(key + '=')]


def test_normalize_fills_the_module_defaults_and_coerces_types():
    params, problems = cluster_spec.normalize({'name': 'dev', 'api_port': '7443', 'events': 'yes', 'image': None,
                                               'wait_timeout': '30'})
    assert problems == []
    assert params['api_port'] == 7443 and params['events'] is True and params['wait_timeout'] == 30
    assert params['image'] == cluster_spec.DEFAULT_IMAGE
    assert params['api_address'] == '127.0.0.1' and params['config_mode'] == 'mounted'


def test_render_units_names_the_three_contract_files():
    assert sorted(action.render_units(options())) == [
        'kinc-dev-config.volume', 'kinc-dev-control-plane.container', 'kinc-dev-var-data.volume']


def test_container_unit_carries_names_labels_publish_and_volumes():
    unit = action.render_units(options(api_port=7443, api_address='127.0.0.2',
                                       image='localhost/kinc-node-test:latest'))['kinc-dev-control-plane.container']
    assert lines(unit, 'Image') == ['localhost/kinc-node-test:latest']
    assert lines(unit, 'ContainerName') == lines(unit, 'HostName') == ['kinc-dev-control-plane']
    assert lines(unit, 'Label') == [
        '"io.kinc.api-port=7443"', '"io.kinc.cluster=dev"', '"io.kinc.managed-by=kinc.kinc"',
        '"io.kinc.pod-subnet=10.244.43.0/24"', '"io.kinc.service-subnet=10.43.0.0/16"']
    assert lines(unit, 'PublishPort') == ['127.0.0.2:7443:6443']
    assert lines(unit, 'Volume') == ['kinc-dev-var-data.volume:/var:suid,exec,dev',
                                     'kinc-dev-config.volume:/etc/kinc/config', '/lib/modules:/lib/modules:ro']
    assert lines(unit, 'Tmpfs') == ['/tmp', '/run']
    assert lines(unit, 'WantedBy') == ['default.target']
    assert lines(unit, 'Restart') == ['on-failure']


def test_each_published_port_is_one_publish_line_after_the_api_in_the_order_given():
    unit = action.render_units(options(api_address='127.0.0.2', ports=[
        {'host_port': '8443', 'node_port': 443}, {'host_port': 8080, 'node_port': 80, 'address': '0.0.0.0'},
        {'host_port': 5353, 'node_port': 53, 'protocol': 'udp', 'address': '::1'}]))['kinc-dev-control-plane.container']
    assert lines(unit, 'PublishPort') == ['127.0.0.2:6443:6443', '127.0.0.2:8443:443/tcp', '0.0.0.0:8080:80/tcp',
                                          '[::1]:5353:53/udp']
    assert lines(action.render_units(options())['kinc-dev-control-plane.container'], 'PublishPort') == [
        '127.0.0.1:6443:6443']


def test_a_port_change_changes_what_the_node_runs_with_so_a_running_node_restarts():
    # The digest the container carries is over the units: a changed PublishPort= restarts the node
    # (call_plan.restart_needed), and only a change does.
    from ansible_collections.kinc.kinc.plugins.module_utils.converge import node_digest
    before = node_digest.digest(action.render_units(options(ports=[{'host_port': 8080, 'node_port': 30080}])), {})
    same = node_digest.digest(action.render_units(options(ports=[{'host_port': 8080, 'node_port': 30080}])), {})
    after = node_digest.digest(action.render_units(options(ports=[{'host_port': 8081, 'node_port': 30080}])), {})
    assert before == same != after


def test_the_node_stops_within_podmans_stop_timeout_and_lifts_podmans_pids_limit():
    unit = action.render_units(options())['kinc-dev-control-plane.container']
    # Podman's default stop timeout is 10 s; the node's systemd needs up to 2 x 45 s for kubelet and CRI-O.
    assert lines(unit, 'PodmanArgs') == ['--privileged --systemd=always --cgroupns=private --stop-timeout=100']
    assert lines(unit, 'TimeoutStopSec') == ['120']
    # Podman's own pids limit (2048) would cap every pod of the node; the module drops the line where the
    # owner has no pids controller (quadlet.for_host).
    assert lines(unit, 'PidsLimit') == ['-1']


def test_volume_units_name_the_contract_volumes_with_the_allocation_labels():
    units = action.render_units(options())
    for volume in ('kinc-dev-var-data', 'kinc-dev-config'):
        text = units[volume + '.volume']
        assert lines(text, 'VolumeName') == [volume]
        assert '"io.kinc.cluster=dev"' in lines(text, 'Label')


def test_rendering_is_deterministic():
    assert action.render_units(options()) == action.render_units(options())


def test_a_template_variable_that_is_not_provided_fails_loudly(tmp_path):
    shutil.copy(os.path.join(action.QUADLET_TEMPLATES, action.VOLUME_TEMPLATE), str(tmp_path))
    (tmp_path / action.CONTAINER_TEMPLATE).write_text('Image={{ no_such_value }}\n')
    with pytest.raises(UndefinedError):
        action.render_units(options(), template_dir=str(tmp_path))


def test_mounted_mode_renders_the_node_images_kubeadm_template_for_the_cluster():
    files = action.render_node_config(options(kubernetes_version='1.33.5', events=True), rootless=True)
    assert sorted(files) == ['cluster.env', 'kubeadm.conf']
    assert 'KINC_EVENTS=1\n' in files['cluster.env'] and 'KINC_KUBERNETES_VERSION=v1.33.5\n' in files['cluster.env']
    kubeadm = files['kubeadm.conf']
    assert 'podSubnet: "10.244.43.0/24"' in kubeadm and 'serviceSubnet: "10.43.0.0/16"' in kubeadm
    assert 'KubeletInUserNamespace: true' in kubeadm and 'kubernetesVersion: "v1.33.5"' in kubeadm
    # Only the placeholders the node fills itself are left.
    assert set(re.findall(r'\$\{(KINC_[A-Z0-9_]+)\}', kubeadm)) <= config_render.NODE_FILLED


def test_a_rootful_node_gets_the_rootful_kubelet_settings():
    kubeadm = action.render_node_config(options(), rootless=False)['kubeadm.conf']
    assert 'KubeletInUserNamespace: false' in kubeadm


def test_baked_mode_hands_over_only_cluster_env():
    assert sorted(action.render_node_config(options(config_mode='baked'), rootless=True)) == ['cluster.env']


def _quadlet_dryrun(directory):
    return subprocess.run(
        ['podman', 'run', '--rm', '-v', '%s:/units:ro' % directory, '-e', 'QUADLET_UNIT_DIRS=/units',
         TESTHOST_IMAGE, '/usr/libexec/podman/quadlet', '-dryrun', '-user'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)


def _generated_services(output):
    """Split quadlet -dryrun output ('---name.service---' headers) into {service: text}."""
    services, current = {}, None
    for line in output.splitlines():
        if line.startswith('---') and line.endswith('---'):
            current = line.strip('-')
            services[current] = ''
        elif current:
            services[current] += line + '\n'
    return services


def test_the_real_quadlet_generator_accepts_the_units(tmp_path):
    if shutil.which('podman') is None:
        pytest.skip('podman is not installed')
    if subprocess.run(['podman', 'image', 'exists', TESTHOST_IMAGE], check=False).returncode != 0:
        pytest.skip('%s is missing; build it with tests/tooling/build-testhost.sh' % TESTHOST_IMAGE)
    for name, text in action.render_units(options(api_port=7443, ports=PORTS)).items():
        (tmp_path / name).write_text(text)
    os.chmod(str(tmp_path), 0o755)
    done = _quadlet_dryrun(str(tmp_path))
    assert done.returncode == 0, done.stderr
    services = _generated_services(done.stdout)
    assert sorted(services) == ['kinc-dev-config-volume.service', 'kinc-dev-control-plane.service',
                                'kinc-dev-var-data-volume.service']
    node = services['kinc-dev-control-plane.service']
    exec_start = [line for line in node.splitlines() if line.startswith('ExecStart=')][0]
    for fragment in NODE_RUN_ARGUMENTS:
        assert fragment in exec_start
    # The node waits for its volumes' services, which create them with the same labels.
    assert 'Requires=kinc-dev-var-data-volume.service' in node
    assert 'Requires=kinc-dev-config-volume.service' in node
    volume = services['kinc-dev-config-volume.service']
    volume_start = [line for line in volume.splitlines() if line.startswith('ExecStart=')][0]
    assert '--label io.kinc.pod-subnet=10.244.43.0/24' in volume_start
    assert volume_start.endswith(' kinc-dev-config')


class _Task:
    def __init__(self, args):
        self.args = args
        self.async_val = 0
        self.action = 'kinc.kinc.kinc_cluster'
        self.check_mode = False
        self.diff = False


def run_action(args, uid='1000'):
    from unittest import mock
    plugin = action.ActionModule(_Task(args), mock.MagicMock(), mock.MagicMock(), loader=None, templar=None,
                                 shared_loader_obj=None)
    sent = {}

    def execute_module(module_name, module_args, task_vars):
        sent.update(module_args)
        return {'changed': False}
    plugin._execute_module = execute_module
    plugin._low_level_execute_command = mock.MagicMock(return_value={'rc': 0, 'stdout': uid + '\n'})
    with mock.patch.object(action.ActionBase, 'run', return_value={}):
        plugin.run(task_vars={})
    return sent, plugin._low_level_execute_command.call_count


def test_the_action_renders_every_cluster_of_a_list_without_asking_the_host_anything():
    sent, asked = run_action({'clusters': [
        {'name': 'a', 'api_port': 6443, 'pod_subnet': '10.244.43.0/24', 'service_subnet': '10.43.0.0/16',
         'kubernetes_version': '', 'kubeconfig_path': ''},
        {'name': 'b', 'api_port': '6444', 'pod_subnet': '10.244.44.0/24', 'service_subnet': '10.44.0.0/16'},
        {'name': 'old', 'state': 'absent', 'purge': True}]})
    a, b, old = sent['clusters']
    assert sorted(a['quadlet_units']) == ['kinc-a-config.volume', 'kinc-a-control-plane.container',
                                          'kinc-a-var-data.volume']
    assert 'kubernetes_version' not in a and 'kubeconfig_path' not in a
    assert b['api_port'] == 6444 and 'KubeletInUserNamespace: true' in b['node_config']['kubeadm.conf']
    assert 'KubeletInUserNamespace: false' in b['node_config_rootful']['kubeadm.conf']
    assert old == {'name': 'old', 'state': 'absent', 'purge': True}
    assert asked == 0


def test_the_action_names_each_bad_cluster_of_a_list():
    with pytest.raises(action.AnsibleActionFail) as err:
        run_action({'clusters': [
            {'name': 'a', 'api_port': 6443, 'pod_subnet': '10.244.43.0/24', 'service_subnet': '10.43.0.0/16',
             'api_address': 'x'},
            {'name': 'b', 'api_port': 6444, 'pod_subnet': '10.244.44.0/24', 'service_subnet': '10.44.0.0/16',
             'quadlet_units': {}}]})
    assert 'clusters[0] (a): api_address' in str(err.value)
    assert 'clusters[1] (b): quadlet_units is set by the kinc.kinc.kinc_cluster action plugin' in str(err.value)


PATCHES = [{'kind': 'ClusterConfiguration', 'apiServer': {'extraArgs': [{'name': 'v', 'value': '2'}]}},
           {'kind': 'KubeletConfiguration', 'maxPods': 50, 'evictionHard': {'imagefs.available': None}}]


def test_labels_and_patches_are_in_the_mounted_kubeadm_config():
    import yaml
    files = action.render_node_config(options(node_labels={'ingress-ready': 'true', 'example.com/tier': 'edge'},
                                              kubeadm_patches=PATCHES), rootless=True)
    text = files['kubeadm.conf']
    assert text.startswith(action.PATCHED_HEADER)
    docs = dict((d['kind'], d) for d in yaml.safe_load_all(text) if d)
    assert docs['InitConfiguration']['nodeRegistration']['kubeletExtraArgs'] == [
        {'name': 'node-labels', 'value': 'example.com/tier=edge,ingress-ready=true'},
        {'name': 'node-ip', 'value': '${KINC_NODE_IP}'}]
    assert docs['ClusterConfiguration']['apiServer']['extraArgs'] == [{'name': 'v', 'value': '2'}]
    assert docs['ClusterConfiguration']['apiServer']['certSANs'][0] == 'localhost'
    assert docs['KubeletConfiguration']['maxPods'] == 50
    assert docs['KubeletConfiguration']['evictionHard'] == {'nodefs.available': '0%', 'nodefs.inodesFree': '0%'}
    assert docs['KubeletConfiguration']['featureGates'] == {'KubeletInUserNamespace': True}
    # The node's own readers of the file still find what they look for (kinc_cert_sans, dnsDomain).
    assert re.search(r'^  certSANs:\n  - localhost\n', text, re.M)
    assert re.search(r'^  dnsDomain: cluster.local$', text, re.M)
    # The labels reach baked nodes through cluster.env.
    assert 'KINC_NODE_LABELS=example.com/tier=edge,ingress-ready=true\n' in files['cluster.env']
    # Without patches the template's text is kept as it is, comments included.
    plain = action.render_node_config(options(node_labels={'a': 'b'}), rootless=True)['kubeadm.conf']
    assert plain.startswith('# kinc\'s kubeadm configuration. The single template') and '      value: "a=b"\n' in plain


def test_a_patch_that_matches_no_document_fails_the_action():
    from ansible.errors import AnsibleActionFail
    with pytest.raises(AnsibleActionFail, match=r'kubeadm_patches\[0\]\.apiVersion'):
        action.render_node_config(options(kubeadm_patches=[{'kind': 'KubeletConfiguration', 'apiVersion': 'v9'}]),
                                  rootless=True)


def test_limits_become_podman_args_of_the_node_unit_only_when_declared():
    unit = action.render_units(options(memory='4g', cpus='1.5'))['kinc-dev-control-plane.container']
    assert lines(unit, 'PodmanArgs')[1:] == ['--memory=4g --cpus=1.5']
    unit = action.render_units(options())['kinc-dev-control-plane.container']
    assert len(lines(unit, 'PodmanArgs')) == 1 and '--memory' not in unit


def test_the_real_quadlet_generator_passes_the_limits_to_podman(tmp_path):
    if shutil.which('podman') is None:
        pytest.skip('podman is not installed')
    if subprocess.run(['podman', 'image', 'exists', TESTHOST_IMAGE], check=False).returncode != 0:
        pytest.skip('%s is missing; build it with tests/tooling/build-testhost.sh' % TESTHOST_IMAGE)
    for name, text in action.render_units(options(memory='2g', cpus='2')).items():
        (tmp_path / name).write_text(text)
    os.chmod(str(tmp_path), 0o755)
    done = _quadlet_dryrun(str(tmp_path))
    assert done.returncode == 0, done.stderr
    node = _generated_services(done.stdout)['kinc-dev-control-plane.service']
    exec_start = [line for line in node.splitlines() if line.startswith('ExecStart=')][0]
    assert ' --memory=2g --cpus=2 ' in exec_start


def test_patches_in_ansibles_own_container_types_are_written_as_plain_yaml():
    # ansible-core hands task arguments over as subclasses of list, dict and str (data tagging).
    class Tagged(list):
        pass

    class Text(str):
        pass

    patch = {'kind': Text('ClusterConfiguration'), 'apiServer': {'extraArgs': Tagged([{'name': Text('v'),
                                                                                       'value': Text('2')}])}}
    text = action.patch_kubeadm_config('kind: ClusterConfiguration\napiServer: {}\n', [patch])
    assert text == action.PATCHED_HEADER + '---\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n  - name: v\n' \
        '    value: \'2\'\n'

# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cluster's node labels, kubeadm patches and memory/cpus limits: rules, merge, rendering."""

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils.spec import cluster_spec
from ansible_collections.kinc.kinc.plugins.module_utils.spec import node_settings


@pytest.mark.parametrize('labels', [
    {}, {'ingress-ready': 'true'}, {'example.com/role': 'edge', 'zone': 1, 'empty': ''},
    {'node.kubernetes.io/exclude-from-external-load-balancers': 'true'}, {'a' * 63: 'b' * 63},
])
def test_labels_kubelet_accepts_pass(labels):
    assert node_settings.labels_error(labels) is None


@pytest.mark.parametrize('labels, message', [
    (['a=b'], "node_labels: ['a=b'] is not a mapping; fix: write labels as {ingress-ready: \"true\"}"),
    ({'-bad': 'x'}, "node_labels['-bad']: is not a label key"),
    ({'a' * 64: 'x'}, 'is not a label key'),
    ({'Example.com/x': 'y'}, 'is not a label key'),
    ({'a=b': 'x'}, 'is not a label key'),
    ({'ingress-ready': True}, "node_labels['ingress-ready']: value True is not a label value; fix: quote a value"),
    ({'x': 'a b'}, "value 'a b' is not a label value"),
    ({'x': '"$(id)"'}, 'is not a label value'),
    ({'x': 'v' * 64}, 'is not a label value'),
    ({'node-role.kubernetes.io/control-plane': ''}, 'in a kubernetes.io or k8s.io namespace that kubelet may not set'),
    ({'x.k8s.io/y': 'z'}, 'kubelet may not set'),
])
def test_labels_kubelet_refuses_are_named_with_the_fix(labels, message):
    assert message in node_settings.labels_error(labels)


def test_labels_become_one_sorted_node_labels_argument():
    assert node_settings.labels_arg({'b': 'x', 'a.io/y': 1, 'c': ''}) == 'a.io/y=1,b=x,c='
    assert node_settings.labels_arg({}) == ''


@pytest.mark.parametrize('memory, size', [('1g', 1024 ** 3), ('2048m', 2 * 1024 ** 3), ('4G', 4 * 1024 ** 3),
                                          ('1073741824', 1024 ** 3), ('1048576k', 1024 ** 3)])
def test_memory_is_read_as_podman_does(memory, size):
    assert node_settings.memory_bytes(memory) == size
    assert node_settings.memory_error(memory) is None


@pytest.mark.parametrize('memory, message', [
    ('512m', 'memory: 512m is below 1g, too little for a control-plane node; fix: give 1g or more'),
    ('2gb', "memory: '2gb' is not an amount of memory; fix: write it as Podman does, e.g. 4g or 2048m"),
    ('-1', 'is not an amount of memory'), ('4g --privileged', 'is not an amount of memory'),
    ('0', 'is not an amount of memory'), (4, 'is not an amount of memory'),
])
def test_bad_memory_is_named(memory, message):
    assert message in node_settings.memory_error(memory)


@pytest.mark.parametrize('cpus, error', [('2', False), ('0.5', False), ('1.25', False), ('0.4', True), ('0', True),
                                         ('1.2345', True), ('two', True), ('-1', True), ('1e3', True)])
def test_cpus_are_a_number_from_a_half(cpus, error):
    assert (node_settings.cpus_error(cpus) is not None) is error


def test_podman_limits_are_the_options_given():
    assert node_settings.podman_limits('4g', '1.5') == '--memory=4g --cpus=1.5'
    assert node_settings.podman_limits(None, '2') == '--cpus=2'
    assert node_settings.podman_limits('', None) == ''


def test_a_limit_without_its_controller_is_named_with_the_fix():
    assert node_settings.limits_problem({'name': 'dev', 'memory': '2g'}, ['cpu', 'memory', 'pids']) is None
    assert node_settings.limits_problem({'name': 'dev'}, []) is None
    message = node_settings.limits_problem({'name': 'dev', 'memory': '2g', 'cpus': '2'}, ['pids'])
    assert message.startswith('dev: memory, cpus: needs the cgroup controller memory cpu, which the owner\'s '
                              'containers do not have (they have: pids); fix: run the kinc.kinc.kinc_host role')


DOCS = [
    {'apiVersion': 'kubeadm.k8s.io/v1beta4', 'kind': 'ClusterConfiguration', 'clusterName': 'dev',
     'apiServer': {'certSANs': ['localhost']}, 'etcd': {'local': {'dataDir': '/var/lib/etcd'}}},
    {'apiVersion': 'kubelet.config.k8s.io/v1beta1', 'kind': 'KubeletConfiguration', 'failSwapOn': False,
     'evictionHard': {'nodefs.available': '0%', 'imagefs.available': '0%'}},
]


def test_patches_merge_maps_key_by_key_remove_nulls_and_replace_lists():
    patches = [
        {'kind': 'ClusterConfiguration', 'apiServer': {'extraArgs': [{'name': 'v', 'value': '2'}]}},
        {'kind': 'KubeletConfiguration', 'apiVersion': 'kubelet.config.k8s.io/v1beta1', 'maxPods': 50,
         'evictionHard': {'imagefs.available': None, 'memory.available': '100Mi'}, 'failSwapOn': None},
    ]
    cluster, kubelet = node_settings.apply_patches(DOCS, patches)
    assert cluster['apiServer'] == {'certSANs': ['localhost'], 'extraArgs': [{'name': 'v', 'value': '2'}]}
    assert cluster['etcd'] == DOCS[0]['etcd']
    assert kubelet == {'apiVersion': 'kubelet.config.k8s.io/v1beta1', 'kind': 'KubeletConfiguration', 'maxPods': 50,
                       'evictionHard': {'nodefs.available': '0%', 'memory.available': '100Mi'}}
    # The input is left as it was.
    assert DOCS[1]['failSwapOn'] is False and 'imagefs.available' in DOCS[1]['evictionHard']
    # A list in a patch replaces the document's.
    cluster = node_settings.apply_patches(DOCS, [{'kind': 'ClusterConfiguration', 'etcd': {'local': {
        'extraArgs': [{'name': 'a', 'value': 'b'}]}}}])[0]
    assert cluster['etcd']['local'] == {'dataDir': '/var/lib/etcd', 'extraArgs': [{'name': 'a', 'value': 'b'}]}


def test_a_patch_of_another_api_version_is_refused():
    with pytest.raises(ValueError) as failure:
        node_settings.apply_patches(DOCS, [{'kind': 'ClusterConfiguration', 'apiVersion': 'kubeadm.k8s.io/v1beta3'}])
    assert str(failure.value) == ("kubeadm_patches[0].apiVersion: 'kubeadm.k8s.io/v1beta3' is not the apiVersion of "
                                  "kinc's ClusterConfiguration; fix: leave apiVersion out, or give the one of kinc's "
                                  "configuration")


@pytest.mark.parametrize('patches, message', [
    ({'kind': 'ClusterConfiguration'}, "kubeadm_patches: {'kind': 'ClusterConfiguration'} is not a list"),
    (['kind: x'], 'kubeadm_patches[0]: is not a mapping of YAML data'),
    ([{'kind': 'ClusterConfiguration', 1: 'x'}], 'kubeadm_patches[0]: is not a mapping of YAML data'),
    ([{'apiServer': {}}], "kubeadm_patches[0].kind: None is not a document of kinc's kubeadm configuration; fix: use "
                          'one of ClusterConfiguration, InitConfiguration, KubeProxyConfiguration, KubeletConfiguration'),
    ([{'kind': 'JoinConfiguration'}], "'JoinConfiguration' is not a document of kinc's kubeadm configuration"),
    ([{'kind': 'ClusterConfiguration', 'networking': {'podSubnet': '10.0.0.0/16'}}],
     'kubeadm_patches[0].networking.podSubnet: is set by kinc for the node to work; fix: leave it out of the patch'),
    ([{'kind': 'ClusterConfiguration', 'networking': None}], 'kubeadm_patches[0].networking: is set by kinc'),
    ([{'kind': 'KubeletConfiguration', 'featureGates': None}], 'kubeadm_patches[0].featureGates: is set by kinc'),
    ([{'kind': 'ClusterConfiguration', 'apiServer': {'certSANs': ['x']}}], 'apiServer.certSANs: is set by kinc'),
    ([{'kind': 'InitConfiguration', 'nodeRegistration': {'kubeletExtraArgs': []}}],
     'nodeRegistration.kubeletExtraArgs: is set by kinc for the node to work; fix: use node_labels for labels'),
    ([{'kind': 'InitConfiguration', 'localAPIEndpoint': {'bindPort': 7443}}], 'kubeadm_patches[0].localAPIEndpoint: is set'),
    ([{'kind': 'KubeletConfiguration', 'cgroupDriver': 'systemd'}], 'cgroupDriver: is set by kinc'),
    ([{'kind': 'KubeletConfiguration', 'featureGates': {'KubeletInUserNamespace': False}}],
     'featureGates.KubeletInUserNamespace: is set by kinc'),
    ([{'kind': 'KubeletConfiguration', 'systemReserved': {'memory': '1Gi'}}],
     'systemReserved: is set by kinc for the node to work; fix: set memory and cpus'),
    ([{'kind': 'KubeProxyConfiguration', 'conntrack': {'maxPerCore': 32768}}], 'kubeadm_patches[0].conntrack: is set by kinc'),
])
def test_bad_patches_are_named_with_the_fix(patches, message):
    assert message in node_settings.patches_error(patches)


def test_patches_of_fields_kinc_leaves_alone_pass():
    assert node_settings.patches_error([
        {'kind': 'ClusterConfiguration', 'apiServer': {'extraArgs': [{'name': 'v', 'value': '2'}]},
         'networking': {'dnsDomain': 'example.local'}},
        {'kind': 'KubeletConfiguration', 'apiVersion': 'kubelet.config.k8s.io/v1beta1',
         'featureGates': {'SomeGate': True}, 'maxPods': 50},
        {'kind': 'InitConfiguration', 'nodeRegistration': {'taints': [{'key': 'a', 'effect': 'NoSchedule'}]}},
    ]) is None


def test_patches_need_mounted_mode():
    assert node_settings.patches_error([], 'baked') is None
    assert node_settings.patches_error([{'kind': 'ClusterConfiguration'}], 'baked') == (
        "kubeadm_patches: needs config_mode mounted (a baked node renders its image's configuration itself); "
        'fix: set config_mode: mounted, or remove kubeadm_patches')


def test_node_labels_go_after_the_templates_kubelet_extra_args_line():
    text = 'nodeRegistration:\n  kubeletExtraArgs:\n    - name: node-ip\n      value: "x"\n'
    assert node_settings.with_node_labels(text, {}) == text
    assert node_settings.with_node_labels(text, {'b': '2', 'a': '1'}) == (
        'nodeRegistration:\n  kubeletExtraArgs:\n    - name: node-labels\n      value: "a=1,b=2"\n'
        '    - name: node-ip\n      value: "x"\n')
    with pytest.raises(ValueError):
        node_settings.with_node_labels('kind: InitConfiguration\n', {'a': '1'})


def test_the_inventory_is_checked_for_every_new_key_at_once():
    declared, problems = cluster_spec.declared_clusters([
        {'name': 'a', 'node_labels': {'ok': 'yes'}, 'memory': '4g', 'cpus': 1.5,
         'kubeadm_patches': [{'kind': 'KubeletConfiguration', 'maxPods': 50}]},
        {'name': 'b', 'node_labels': 'x=y', 'memory': '100m', 'cpus': '0.1', 'kubeadm_patches': {'kind': 'x'}},
        {'name': 'c', 'config_mode': 'baked', 'kubeadm_patches': [{'kind': 'KubeletConfiguration'}]},
        {'name': 'd', 'node_labels': {'bad': True}},
    ], {})
    assert declared[0]['cpus'] == '1.5' and declared[0]['memory'] == '4g'
    assert problems == [
        "kinc_clusters[1].cpus: '0.1' is not a number of CPUs from 0.5; fix: give e.g. 2 or 1.5",
        "kinc_clusters[1].kubeadm_patches: {'kind': 'x'} is not a list; fix: give a list, e.g. [localhost/app:dev]",
        'kinc_clusters[1].memory: 100m is below 1g, too little for a control-plane node; fix: give 1g or more (2g or '
        'more for workloads)',
        "kinc_clusters[1].node_labels: 'x=y' is not a mapping; fix: give a mapping, e.g. {ingress-ready: \"true\"}",
        "kinc_clusters[2].kubeadm_patches: needs config_mode mounted (a baked node renders its image's configuration "
        'itself); fix: set config_mode: mounted, or remove kubeadm_patches',
        "kinc_clusters[3].node_labels['bad']: value True is not a label value; fix: quote a value of at most 63 "
        'letters, digits, -, _ or . starting and ending with a letter or digit, e.g. "true"',
    ]


def test_the_module_options_are_checked_with_the_same_rules():
    params, found = cluster_spec.normalize({'name': 'dev', 'api_port': 6443, 'pod_subnet': '10.244.43.0/24',
                                            'service_subnet': '10.43.0.0/16', 'memory': '1m', 'cpus': 2,
                                            'node_labels': {'a': 'b c'}, 'config_mode': 'baked',
                                            'kubeadm_patches': [{'kind': 'InitConfiguration'}]})
    assert found == [] and params['cpus'] == '2'
    assert [p.split(':')[0] for p in cluster_spec.errors(params)] == [
        'memory', "node_labels['a']", 'kubeadm_patches']


def test_role_wide_limits_apply_to_every_cluster_that_sets_none():
    declared, problems = cluster_spec.declared_clusters(
        [{'name': 'a'}, {'name': 'b', 'memory': '8g', 'cpus': ''}], {'kinc_memory': '2g', 'kinc_cpus': 1})
    assert problems == []
    assert [(c['memory'], c['cpus']) for c in declared] == [('2g', '1'), ('8g', '')]
    assert cluster_spec.declared_clusters([{'name': 'a'}], {'kinc_memory': '2 g'})[1] == [
        "kinc_memory: '2 g' is not an amount of memory; fix: write it as Podman does, e.g. 4g or 2048m"]

# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one spec of a cluster: every rule, the role's whole-list check, and the copies that must not drift."""

import os

import pytest
import yaml

from ansible_collections.kinc.kinc.plugins.module_utils.spec import cluster_spec

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))))


@pytest.mark.parametrize('image', [
    'localhost/kinc-node:latest', 'kinc-node', 'quay.io/kinc/node:v1.33.1', 'registry.example:5000/a/b/c:tag_1',
    'docker.io/library/fedora@sha256:' + 'a' * 64, 'ghcr.io/x/y:1.2@sha256:' + 'b' * 64, '[::1]:5000/kinc/node:x',
    'my.registry/kinc__node.v2-x', 'localhost/node.image:1',
])
def test_image_references_are_accepted(image):
    assert cluster_spec.image_error(image) is None


@pytest.mark.parametrize('image', [
    '--privileged', 'localhost/kinc-node:%i', '%h/node', 'a b', '', 'Upper/Case', 'node:', 'node@sha256:abc',
    'node:-tag', 'node.image', 'kinc.build', 'node:latest --privileged', None, 7, 'x' * 256,
])
def test_things_that_are_not_image_references_are_refused(image):
    error = cluster_spec.image_error(image, field='kinc_clusters[2].image')
    assert error.startswith('kinc_clusters[2].image: %r' % (image,)) and '; fix: ' in error


@pytest.mark.parametrize('port, lowest, ok', [
    (1, 1, True), (65535, 1, True), (0, 1, False), (65536, 1, False), (True, 1, False), ('6443', 1, False),
    (1023, 1024, False), (1024, 1024, True), (80, 80, True),
])
def test_port_range(port, lowest, ok):
    assert (cluster_spec.port_error(port, 'api_port', lowest) is None) is ok


def test_the_rootless_range_follows_the_kernel_setting(tmp_path):
    assert cluster_spec.lowest_port(rootless=False, unprivileged_port_start=1024) == 1
    assert cluster_spec.lowest_port(rootless=True, unprivileged_port_start=1024) == 1024
    assert cluster_spec.lowest_port(rootless=True, unprivileged_port_start=0) == 1
    sysctl = tmp_path / 'ip_unprivileged_port_start'
    sysctl.write_text('443\n')
    assert cluster_spec.read_unprivileged_port_start(str(sysctl)) == 443
    assert cluster_spec.read_unprivileged_port_start(str(tmp_path / 'missing')) == 1024


def module_params(**overrides):
    params = {'name': 'dev', 'state': 'present', 'api_port': 6443, 'pod_subnet': '10.244.43.0/24',
              'service_subnet': '10.43.0.0/16', 'image': cluster_spec.DEFAULT_IMAGE, 'api_address': '127.0.0.1',
              'config_mode': 'mounted', 'wait_timeout': 600}
    params.update(overrides)
    return params


@pytest.mark.parametrize('overrides, message', [
    ({'name': 'Dev_1'}, "name: 'Dev_1' is not a DNS-1123 label; fix: use lower-case"),
    ({'api_port': 0}, 'api_port: 0 is not a TCP port from 1 to 65535; fix: '),
    ({'api_port': None}, 'api_port: required with state=present; fix: take it from kinc.kinc.kinc_allocate'),
    ({'pod_subnet': '10.43.0.0/24'}, 'pod_subnet/service_subnet: '),
    ({'api_address': 'localhost'}, "api_address: 'localhost' is not a unicast IP address; fix: "),
    ({'image': 'a b'}, "image: 'a b' is not an image reference"),
    ({'kubernetes_version': 'latest'}, "kubernetes_version: 'latest' is not a Kubernetes version; fix: "),
    ({'wait_timeout': 0}, 'wait_timeout: 0 is not a positive number of seconds'),
    ({'kubeconfig_path': 'relative/x'}, "kubeconfig_path: 'relative/x' is not the absolute path of a file"),
])
def test_module_options_are_refused_with_field_value_and_fix(overrides, message):
    problems = cluster_spec.errors(module_params(**overrides))
    assert len(problems) == 1 and problems[0].startswith(message), problems


def test_good_module_options_and_states_without_allocation():
    assert cluster_spec.errors(module_params(kubernetes_version='v1.33.1', api_address='::1')) == []
    assert cluster_spec.errors({'name': 'dev', 'state': 'stopped', 'image': 'x', 'api_address': '127.0.0.1'}) == []


def test_a_good_list_gets_the_role_defaults_and_keeps_forced_ports_only():
    declared, problems = cluster_spec.declared_clusters(
        [{'name': 'a'}, {'name': 'b', 'api_port': '7443', 'events': 'yes', 'kubernetes_version': 1.33}],
        {'kinc_node_image': 'localhost/kinc-node-test:latest', 'kinc_state': None})
    assert problems == ["kinc_clusters[1].kubernetes_version: '1.33' is not a Kubernetes version; "
                        "fix: write it like '1.33.5' or 'v1.33.5'"]
    declared, problems = cluster_spec.declared_clusters(
        [{'name': 'a'}, {'name': 'b', 'api_port': '7443', 'events': 'yes'}],
        {'kinc_node_image': 'localhost/kinc-node-test:latest', 'kinc_state': None})
    assert problems == []
    assert declared == [
        {'name': 'a', 'state': 'present', 'image': 'localhost/kinc-node-test:latest', 'config_mode': 'mounted',
         'api_address': '127.0.0.1', 'kubernetes_version': '', 'events': False, 'merge_kubeconfig': False,
         'kubeconfig_path': '', 'purge': False, 'images': [], 'ports': [], 'node_labels': {}, 'kubeadm_patches': [],
         'memory': '', 'cpus': ''},
        {'name': 'b', 'state': 'present', 'image': 'localhost/kinc-node-test:latest', 'config_mode': 'mounted',
         'api_address': '127.0.0.1', 'kubernetes_version': '', 'events': True, 'merge_kubeconfig': False,
         'kubeconfig_path': '', 'purge': False, 'images': [], 'ports': [], 'node_labels': {}, 'kubeadm_patches': [],
         'memory': '', 'cpus': '', 'api_port': 7443},
    ]


# One bad value per field of an entry, all in one list: every one is reported, each with its field.
BAD_ENTRIES = [
    ({'name': 'Bad_Name'}, "kinc_clusters[0].name: 'Bad_Name' is not a DNS-1123 label"),
    ({'name': 'st', 'state': 'gone'}, "kinc_clusters[1].state: 'gone' is not one of present, started"),
    ({'name': 'port', 'api_port': 70000}, 'kinc_clusters[2].api_port: 70000 is not a TCP port from 1 to 65535'),
    ({'name': 'img', 'image': '--privileged'}, "kinc_clusters[3].image: '--privileged' is not an image reference"),
    ({'name': 'mode', 'config_mode': 'copied'}, "kinc_clusters[4].config_mode: 'copied' is not one of mounted, baked"),
    ({'name': 'addr', 'api_address': 'not an ip'}, "kinc_clusters[5].api_address: 'not an ip' is not a unicast IP"),
    ({'name': 'ver', 'kubernetes_version': 'latest'}, "kinc_clusters[6].kubernetes_version: 'latest' is not a "
                                                      "Kubernetes version; fix: "),
    ({'name': 'ev', 'events': 'maybe'}, "kinc_clusters[7].events: 'maybe' is not a boolean; fix: give true or false"),
    ({'name': 'mk', 'merge_kubeconfig': [1]}, 'kinc_clusters[8].merge_kubeconfig: [1] is not a boolean'),
    ({'name': 'kp', 'kubeconfig_path': 'kube.conf'}, "kinc_clusters[9].kubeconfig_path: 'kube.conf' is not the "
                                                     'absolute path'),
    ({'name': 'pu', 'state': 'absent', 'purge': 'all'}, "kinc_clusters[10].purge: 'all' is not a boolean"),
    ({'name': 'typo', 'api_prot': 7000}, 'kinc_clusters[11].api_prot: unknown key; fix: remove it or use one of'),
    ({'name': 'ok'}, None),
    ({'name': 'ok'}, "kinc_clusters[13].name: 'ok' repeats kinc_clusters[12]"),
    ({'name': 'p2', 'api_port': 70000}, 'kinc_clusters[14].api_port: 70000 is not a TCP port'),
    ({'name': 'p3', 'api_port': 'high'}, "kinc_clusters[15].api_port: 'high' is not a whole number"),
    ({'name': 'f1', 'api_port': 7000}, None),
    ({'name': 'f2', 'api_port': 7000}, 'kinc_clusters[17].api_port: 7000 is also forced for kinc_clusters[16]'),
    ({'name': 'f3', 'api_port': 7000, 'state': 'absent'}, None),
    ({'api_port': 7001}, 'kinc_clusters[19].name: missing; fix: '),
    ('dev', "kinc_clusters[20]: 'dev' is not a mapping"),
]


def test_every_bad_value_of_a_list_is_reported_at_once():
    _declared, problems = cluster_spec.declared_clusters([entry for entry, _message in BAD_ENTRIES], {})
    expected = [message for _entry, message in BAD_ENTRIES if message]
    assert len(problems) == len(expected), problems
    for message, found in zip(expected, problems):
        assert found.startswith(message) and '; ' in found, (message, found)


@pytest.mark.parametrize('variable, value, message', [
    ('kinc_api_address', '300.1.1.1', "kinc_api_address: '300.1.1.1' is not a unicast IP address"),
    ('kinc_node_image', 'img %i', "kinc_node_image: 'img %i' is not an image reference"),
    ('kinc_state', 'up', "kinc_state: 'up' is not one of"),
    ('kinc_base_port', 0, 'kinc_base_port: 0 is not a TCP port'),
    ('kinc_wait_timeout', -1, 'kinc_wait_timeout: -1 is not a positive number'),
    ('kinc_kubernetes_version', 'v1', "kinc_kubernetes_version: 'v1' is not a Kubernetes version"),
])
def test_a_bad_role_wide_default_is_reported_once_under_its_own_name(variable, value, message):
    _declared, problems = cluster_spec.declared_clusters([{'name': 'a'}, {'name': 'b'}], {variable: value})
    assert len(problems) == 1 and problems[0].startswith(message), problems


def test_not_a_list():
    assert cluster_spec.declared_clusters({'name': 'a'}, {})[1] == [
        "kinc_clusters: {'name': 'a'} is not a list; fix: give a list of clusters, e.g. [{name: dev}]"]


def test_the_role_documents_exactly_the_spec_and_its_defaults():
    with open(os.path.join(REPO, 'roles', 'kinc_cluster', 'meta', 'argument_specs.yml')) as handle:
        main = yaml.safe_load(handle)['argument_specs']['main']['options']
    entry = main['kinc_clusters']['options']
    assert sorted(entry) == sorted(cluster_spec.ENTRY_KEYS)
    for key, option in entry.items():
        spec = dict(cluster_spec.CLUSTER_OPTIONS, **cluster_spec.ROLE_ENTRY_OPTIONS)[key]
        assert option['type'] == ('str' if spec['type'] == 'path' else spec['type']), key
        assert option.get('choices') == spec.get('choices'), key
    with open(os.path.join(REPO, 'roles', 'kinc_cluster', 'defaults', 'main.yml')) as handle:
        defaults = yaml.safe_load(handle)
    for variable, value in cluster_spec.ROLE_DEFAULTS.items():
        assert defaults[variable] == value, variable
        assert main[variable]['default'] == value, variable
        entry_key = [k for k, v in cluster_spec.ROLE_DEFAULT_VARIABLES.items() if v == variable]
        if entry_key:
            assert main[variable].get('choices') == cluster_spec.CLUSTER_OPTIONS[entry_key[0]].get('choices')


def test_allocation_requests_name_their_entry_and_skip_absent_clusters():
    entries = [{'name': 'a'}, {'name': 'gone', 'state': 'absent', 'api_port': 7000},
               {'name': 'b', 'api_port': 7000, 'api_address': '127.0.0.2'}]
    declared, _problems = cluster_spec.declared_clusters(entries, {})
    assert cluster_spec.allocation_requests(declared) == [
        {'name': 'a', 'api_address': '127.0.0.1', 'field': 'kinc_clusters[0]', 'ports': []},
        {'name': 'b', 'api_address': '127.0.0.2', 'field': 'kinc_clusters[2]', 'ports': [], 'api_port': 7000}]


@pytest.mark.parametrize('images, message', [
    ('localhost/app:dev', "kinc_clusters[0].images: 'localhost/app:dev' is not a list"),
    (['--privileged'], "kinc_clusters[0].images[0]: '--privileged' is not an image reference"),
    (['localhost/app@sha256:' + 'a' * 64], "kinc_clusters[0].images[0]: 'localhost/app@sha256:"),
    ([7], 'kinc_clusters[0].images[0]: 7 is not a string'),
])
def test_images_are_references_or_archive_paths(images, message):
    _declared, problems = cluster_spec.declared_clusters([{'name': 'a', 'images': images}], {})
    assert len(problems) == 1 and problems[0].startswith(message), problems


def test_images_default_to_none_and_keep_archives():
    declared, problems = cluster_spec.declared_clusters(
        [{'name': 'a'}, {'name': 'b', 'images': ['localhost/app:dev', '/var/tmp/tools.tar']}], {})
    assert problems == []
    assert [c['images'] for c in declared] == [[], ['localhost/app:dev', '/var/tmp/tools.tar']]


def test_a_version_kinc_builds_no_image_for_is_refused_unless_the_cluster_names_its_image():
    _declared, problems = cluster_spec.declared_clusters([{'name': 'a', 'kubernetes_version': '1.34.2'}], {})
    assert len(problems) == 1 and problems[0].startswith("kinc_clusters[0].kubernetes_version: '1.34.2': kinc builds "
                                                         "node images for Kubernetes 1.37, 1.36, 1.35"), problems
    assert cluster_spec.declared_clusters(
        [{'name': 'a', 'kubernetes_version': '1.34.2', 'image': 'quay.io/me/node:v1.34.2'}], {})[1] == []


def test_a_kubeconfig_path_that_is_not_the_clusters_own_is_refused_before_the_host_is_touched():
    # A purge deletes the cluster's kubeconfig_path: ~/.kube/config or another cluster's file must never be it.
    _declared, problems = cluster_spec.declared_clusters([
        {'name': 'a', 'kubeconfig_path': '~/.kube/config'},
        {'name': 'b', 'kubeconfig_path': '~/.kube/kinc-c.conf'},
        {'name': 'c', 'kubeconfig_path': '~/shared.conf'},
        {'name': 'd', 'kubeconfig_path': '~/./shared.conf', 'state': 'absent', 'purge': True},
    ], {})
    assert problems == [
        'kinc_clusters[0].kubeconfig_path: ~/.kube/config is the kubeconfig merge_kubeconfig merges contexts into; '
        'fix: leave kubeconfig_path out (it defaults to ~/.kube/kinc-a.conf) or give a file of this cluster alone',
        'kinc_clusters[1].kubeconfig_path: ~/.kube/kinc-c.conf is the default kubeconfig of cluster c; fix: leave '
        'kubeconfig_path out (it defaults to ~/.kube/kinc-b.conf) or give a file of this cluster alone',
        'kinc_clusters[3].kubeconfig_path: ~/shared.conf is also the kubeconfig of cluster c; fix: leave '
        'kubeconfig_path out (it defaults to ~/.kube/kinc-d.conf) or give a file of this cluster alone',
    ]

# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of config_render: rendering the node's one kubeadm template and cluster.env."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest
import yaml

from ansible_collections.kinc.kinc.plugins.module_utils.node import config_render as kc

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', '..'))


@pytest.fixture(scope='module')
def template():
    with open(os.path.join(REPO, kc.TEMPLATE_PATH)) as handle:
        return handle.read()


def documents(text):
    return {doc['kind']: doc for doc in yaml.safe_load_all(text) if doc}


def test_render_replaces_only_kinc_placeholders():
    text = 'a: ${KINC_A}\nb: $KINC_A ${HOME} $$ ${KINC_B}\n'
    assert kc.render(text, {'KINC_A': '1', 'KINC_B': 'two'}) == 'a: 1\nb: $KINC_A ${HOME} $$ two\n'


def test_render_names_every_missing_value():
    with pytest.raises(kc.KubeadmConfigError, match='KINC_A, KINC_B'):
        kc.render('${KINC_B} ${KINC_A} ${KINC_A}', {})


def test_render_leaves_node_filled_placeholders_for_the_node():
    assert kc.render('v: ${KINC_KUBERNETES_VERSION}', {}) == 'v: ${KINC_KUBERNETES_VERSION}'


def test_template_uses_exactly_the_values_the_collection_and_the_node_provide(template):
    provided = set(kc.template_values('dev', '10.244.43.0/24', '10.43.0.0/16', '1.33.5'))
    assert kc.placeholders(template) == provided | kc.NODE_FILLED


def test_node_ip_is_the_one_the_node_scripts_use():
    with open(os.path.join(REPO, 'files/image/rootfs/usr/local/lib/kinc/common.sh')) as handle:
        assert 'KINC_NODE_IP=%s\n' % kc.NODE_IP in handle.read()


@pytest.mark.parametrize('rootless', [True, False])
def test_rendered_config_carries_the_allocation(template, rootless):
    text = kc.render_kubeadm_config(template, 'dev', '10.244.43.0/24', '10.43.0.0/16', 'v1.33.5', rootless)
    docs = documents(text)
    assert set(docs) == {'InitConfiguration', 'ClusterConfiguration', 'KubeletConfiguration',
                         'KubeProxyConfiguration'}
    cluster = docs['ClusterConfiguration']
    assert cluster['clusterName'] == 'dev'
    assert cluster['kubernetesVersion'] == 'v1.33.5'
    assert cluster['controlPlaneEndpoint'] == 'kinc-dev-control-plane:6443'
    assert cluster['networking'] == {'dnsDomain': 'cluster.local', 'podSubnet': '10.244.43.0/24',
                                     'serviceSubnet': '10.43.0.0/16'}
    assert 'kinc-dev-control-plane' in cluster['apiServer']['certSANs']
    assert docs['InitConfiguration']['nodeRegistration']['name'] == 'kinc-dev-control-plane'
    assert docs['KubeletConfiguration']['featureGates'] == {'KubeletInUserNamespace': rootless}
    conntrack = docs['KubeProxyConfiguration']['conntrack']
    assert conntrack['maxPerCore'] == 0
    assert conntrack['tcpEstablishedTimeout'] == ('0s' if rootless else '24h0m0s')
    assert conntrack['tcpCloseWaitTimeout'] == ('0s' if rootless else '1h0m0s')


def test_unpinned_version_and_node_ip_are_left_for_the_node(template):
    text = kc.render_kubeadm_config(template, 'dev', '10.244.43.0/24', '10.43.0.0/16')
    assert 'kubernetesVersion: "${KINC_KUBERNETES_VERSION}"' in text
    assert 'advertiseAddress: "${KINC_NODE_IP}"' in text
    assert kc.placeholders(text) == {'KINC_KUBERNETES_VERSION', 'KINC_NODE_IP'}


@pytest.mark.parametrize('given, expected', [('1.33.5', 'v1.33.5'), ('v1.33.5', 'v1.33.5'),
                                             (' v1.34.0-rc.1 ', 'v1.34.0-rc.1'), (None, None)])
def test_normalize_version(given, expected):
    assert kc.normalize_version(given) == expected


@pytest.mark.parametrize('kwargs, message', [
    ({'name': 'Dev'}, "name 'Dev' is not a DNS-1123 label"),
    ({'name': 'a' * 41}, 'use at most 40'),
    ({'pod_subnet': '10.244.43.1/24'}, "pod_subnet '10.244.43.1/24' is not an IPv4 network"),
    ({'pod_subnet': 'fd00::/64'}, "pod_subnet 'fd00::/64' is IPv6"),
    ({'pod_subnet': '10.244.43.0/25'}, 'use a /24 or larger'),
    ({'service_subnet': '10.0.0.0/8'}, "service_subnet '10.0.0.0/8' must have a prefix between /12 and /28"),
    ({'service_subnet': '10.244.0.0/16', 'pod_subnet': '10.244.43.0/24'}, 'overlap'),
    ({'kubernetes_version': '1.33'}, "kubernetes_version '1.33' is not a Kubernetes version"),
    ({'service_subnet': '10.255.0.0/16'}, "service_subnet '10.255.0.0/16' contains 10.255.255.254"),
])
def test_bad_input_is_refused_naming_field_and_value(template, kwargs, message):
    args = {'name': 'dev', 'pod_subnet': '10.244.43.0/24', 'service_subnet': '10.43.0.0/16',
            'kubernetes_version': None}
    args.update(kwargs)
    with pytest.raises(kc.KubeadmConfigError, match=re.escape(message)):
        kc.render_kubeadm_config(template, **args)


def test_cluster_env_lists_the_contract_keys():
    text = kc.cluster_env('dev', 6443, '10.244.43.0/24', '10.43.0.0/16', events=True, kubernetes_version='1.33.5')
    pairs = dict(line.split('=', 1) for line in text.splitlines() if not line.startswith('#'))
    assert pairs == {'KINC_CLUSTER_NAME': 'dev', 'KINC_API_PORT': '6443', 'KINC_POD_SUBNET': '10.244.43.0/24',
                     'KINC_SERVICE_SUBNET': '10.43.0.0/16', 'KINC_EVENTS': '1',
                     'KINC_KUBERNETES_VERSION': 'v1.33.5'}


def test_cluster_env_omits_an_unpinned_version_and_defaults_events_off():
    text = kc.cluster_env('dev', 20443, '10.244.43.0/24', '10.43.0.0/16')
    assert 'KINC_EVENTS=0\n' in text
    assert 'KINC_KUBERNETES_VERSION' not in text


@pytest.mark.parametrize('port', [0, 65536, '6443', True, None])
def test_cluster_env_refuses_bad_ports(port):
    with pytest.raises(kc.KubeadmConfigError, match='api_port'):
        kc.cluster_env('dev', port, '10.244.43.0/24', '10.43.0.0/16')


def api_server_sans(text):
    return documents(text)['ClusterConfiguration']['apiServer']['certSANs']


@pytest.mark.parametrize('address', ['192.0.2.10', '0.0.0.0', '2001:db8::7'])
def test_a_published_address_is_a_san_of_the_api_server_certificate(template, address):
    text = kc.render_kubeadm_config(template, 'dev', '10.244.43.0/24', '10.43.0.0/16', api_address=address)
    assert api_server_sans(text) == ['localhost', '127.0.0.1', 'kinc-dev-control-plane', address]
    env = kc.cluster_env('dev', 6443, '10.244.43.0/24', '10.43.0.0/16', api_address=address)
    assert 'KINC_API_ADDRESS=%s\n' % address in env


def test_the_default_address_leaves_cluster_env_as_before(template):
    text = kc.render_kubeadm_config(template, 'dev', '10.244.43.0/24', '10.43.0.0/16')
    assert api_server_sans(text)[-1] == '127.0.0.1'
    assert kc.cluster_env('dev', 6443, '10.244.43.0/24', '10.43.0.0/16', api_address='127.0.0.1') \
        == kc.cluster_env('dev', 6443, '10.244.43.0/24', '10.43.0.0/16')


@pytest.mark.parametrize('address', ['not an ip', '192.0.2.300', ''])
def test_an_address_that_is_not_an_ip_is_refused(template, address):
    with pytest.raises(kc.KubeadmConfigError, match='api_address'):
        kc.cluster_env('dev', 6443, '10.244.43.0/24', '10.43.0.0/16', api_address=address)

# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The owner's local registry: its port rules, its units, and what a node of a cluster with one gets."""

import ipaddress

import pytest

from ansible_collections.kinc.kinc.plugins.action import kinc_cluster as action
from ansible_collections.kinc.kinc.plugins.module_utils.spec import cluster_spec
from ansible_collections.kinc.kinc.plugins.module_utils.converge import registry
from ansible_collections.kinc.kinc.plugins.module_utils.allocation.allocator import AllocationError

LOOPBACK = ipaddress.ip_address('127.0.0.1')


def listening(*pairs):
    return [(ipaddress.ip_address(address), port) for address, port in pairs]


def test_the_lowest_port_no_cluster_container_or_listener_takes_is_chosen():
    held = {5000: "cluster 'dev'", 5002: "cluster 'ci' of bob, uid 1001"}
    assert registry.choose_port({}, set(), []) == 5000
    assert registry.choose_port(held, {5001}, listening(('0.0.0.0', 5003), ('127.0.0.2', 5004))) == 5004
    # A listener on another loopback address leaves 127.0.0.1 free; :: listens on every address.
    assert registry.choose_port({}, set(), listening(('::', 5000), ('127.0.0.2', 5001))) == 5001
    # A rootless user starts at the host's unprivileged port start.
    assert registry.choose_port({}, set(), [], base_port=80, lowest_port=1024) == 1024


def test_no_free_port_names_the_range_and_the_fix():
    with pytest.raises(AllocationError) as failed:
        registry.choose_port({5000: 'x'}, {5001}, [], base_port=5000, max_port=5001)
    assert str(failed.value) == ('base_port: no free port for the registry from 5000 to 5001 (held by clusters or in '
                                 'use on this host); fix: free a port or choose another base_port')


def test_a_forced_port_is_refused_when_held_in_use_or_privileged():
    assert registry.check_forced(5005, {}, set(), []) is None
    assert registry.check_forced(6443, {6443: "cluster 'dev'"}, set(), []) == (
        "port: 6443 is held by cluster 'dev'; fix: choose another port or leave port out to allocate one")
    assert registry.check_forced(5005, {}, set(), listening(('0.0.0.0', 5005))).startswith('port: 5005 is in use')
    assert registry.check_forced(5005, {}, {5005}, []).startswith('port: 5005 is in use')
    assert registry.check_forced(80, {}, set(), [], lowest_port=1024).startswith('port: 80 is not a TCP port from 1024')


@pytest.mark.parametrize('labels, port', [
    ({'io.kinc.registry-port': '5000'}, 5000),
    ({'io.kinc.registry-port': '70000'}, None),
    ({'io.kinc.registry-port': '-1'}, None),
    ({'io.kinc.registry-port': ' 5000'}, None),
    ({}, None),
    (None, None),
])
def test_only_a_valid_port_label_is_read_back(labels, port):
    assert registry.recorded_port(labels) == port


def test_the_units_publish_only_on_loopback_keep_the_data_on_the_volume_and_restart():
    units = registry.render_units('localhost/kinc-test-registry:latest', 5003)
    assert list(units) == ['kinc-registry.volume', 'kinc-registry.container']
    container = units['kinc-registry.container']
    assert '\nImage=localhost/kinc-test-registry:latest\n' in container
    assert '\nPublishPort=127.0.0.1:5003:5000\n' in container
    assert '\nVolume=kinc-registry.volume:/var/lib/registry\n' in container
    assert '\nRestart=always\n' in container and '\nWantedBy=default.target\n' in container
    assert 'Label="io.kinc.registry-port=5003"' in container
    assert 'VolumeName=kinc-registry\nLabel="io.kinc.managed-by=kinc.kinc"\nLabel="io.kinc.registry-port=5003"\n' \
        in units['kinc-registry.volume']


def cluster(**extra):
    return cluster_spec.normalize(dict({'name': 'dev', 'api_port': 6443, 'pod_subnet': '10.244.43.0/24',
                                        'service_subnet': '10.43.0.0/16'}, **extra))[0]


def test_a_node_with_a_registry_reaches_that_one_host_port_and_pulls_it_over_http():
    units = action.render_units(cluster(registry_port=5003))['kinc-dev-control-plane.container']
    assert '\nNetwork=pasta:-T,5003\n' in units
    config = action.render_node_config(cluster(registry_port=5003), True)
    assert config['registries.conf'].endswith('[[registry]]\nlocation = "localhost:5003"\ninsecure = true\n')


def test_a_node_without_a_registry_keeps_podmans_default_network_and_no_drop_in():
    assert 'Network=' not in action.render_units(cluster())['kinc-dev-control-plane.container']
    assert 'registries.conf' not in action.render_node_config(cluster(), True)


@pytest.mark.parametrize('port', [0, 65536, True, '5000'])
def test_a_bad_registry_port_is_refused_by_the_cluster_spec(port):
    assert cluster_spec.errors(dict(cluster(), registry_port=port)) == [
        'registry_port: %r is not a TCP port from 1 to 65535; fix: take it from kinc.kinc.kinc_registry, or leave '
        'it out when there is no registry' % (port,)]


def test_the_owners_drop_in_is_kincs_own_and_never_replaces_anothers():
    text = registry.registries_conf(5003)
    assert text.startswith(registry.DROP_IN_MARK) and not registry.foreign_drop_in(text)
    assert not registry.foreign_drop_in(None)
    assert registry.foreign_drop_in('[[registry]]\nlocation = "localhost:5003"\n')
    assert registry.host_drop_in_dir(True, '/home/u') == '/home/u/.config/containers/registries.conf.d'
    assert registry.host_drop_in_dir(False, '/root') == '/etc/containers/registries.conf.d'

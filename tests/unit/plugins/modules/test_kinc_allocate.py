# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_allocate's main(): argument handling, recording by volumes, check mode, diff, changed.

Podman is the shared fake host (tests/unit/fake_host.py); the real thing is exercised by tests/integration."""

import ipaddress
import json
import os
import pathlib

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.kinc.kinc.plugins.module_utils.allocation import host_facts
from ansible_collections.kinc.kinc.plugins.module_utils.allocation import ledger
from ansible_collections.kinc.kinc.plugins.modules import kinc_allocate
from fake_host import plant_record


def labels(name, port, index):
    return {'io.kinc.cluster': name, 'io.kinc.api-port': str(port), 'io.kinc.pod-subnet': '10.244.%d.0/24' % index,
            'io.kinc.service-subnet': '10.%d.0.0/16' % index, 'io.kinc.managed-by': 'kinc.kinc'}


@pytest.fixture
def record_dir(host):
    return pathlib.Path(host.record_dir)


def volumes(host, labelled):
    """Add these volumes (name -> labels) to the host."""
    for name, volume_labels in labelled.items():
        host.add_volume(name, volume_labels)


def commands(host):
    return [argv[1:] for argv in host.podman_calls()]


@pytest.fixture
def run(monkeypatch, tmp_path, capsys, record_dir):
    def run_module(args, podman, check_mode=False, diff=False, listening=()):
        monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                            lambda self, name, *a, **kw: '/usr/bin/podman' if podman else None)
        monkeypatch.setattr(basic.AnsibleModule, 'run_command',
                            lambda self, argv, data=None, binary_data=False: podman.run(argv, data))
        monkeypatch.setattr(host_facts.host_network, 'listeners', lambda proc, protocol='tcp': [
            (ipaddress.ip_address(a), p) for a, p in listening] if protocol == 'tcp' else [])
        monkeypatch.setattr(host_facts.host_network, 'routes', lambda proc: [])
        args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        args.setdefault('lock_path', str(tmp_path / 'allocate.lock'))
        args.setdefault('host_record_dir', str(record_dir))
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                kinc_allocate.main()
        return json.loads(capsys.readouterr().out)
    return run_module


def warnings(result):
    return [w['event']['msg'] if isinstance(w, dict) else w for w in result.get('warnings', [])]


def record(record_dir, uid):
    with open(ledger.record_path(str(record_dir), uid)) as handle:
        return json.load(handle)


def test_new_cluster_is_recorded_by_two_labelled_volumes_and_the_host_wide_record(run, tmp_path, record_dir, host):
    result = run({'name': 'dev'}, host, diff=True)
    assert result['changed'] is True
    # The host-wide record's directory is the lock; the per-user lock file is not needed.
    assert not (tmp_path / 'allocate.lock').exists()
    uid = os.geteuid()
    assert result['host_record'] == ledger.record_path(str(record_dir), uid)
    assert record(record_dir, uid) == {'uid': uid, 'clusters': {'dev': {
        'api_port': 6443, 'pod_subnet': '10.244.43.0/24', 'service_subnet': '10.43.0.0/16'}}}
    assert oct(os.stat(result['host_record']).st_mode & 0o777) == oct(0o644)
    entry = result['clusters'][0]
    assert entry == result['allocations']['dev']
    assert entry == {'name': 'dev', 'api_port': 6443, 'pod_subnet': '10.244.43.0/24', 'service_subnet': '10.43.0.0/16',
                     'container_name': 'kinc-dev-control-plane', 'service_name': 'kinc-dev-control-plane.service',
                     'volumes': ['kinc-dev-var-data', 'kinc-dev-config'], 'labels': labels('dev', 6443, 43),
                     'existed': False, 'ports': [], 'ports_changed': False}
    assert host.volume_labels() == {'kinc-dev-var-data': labels('dev', 6443, 43),
                                    'kinc-dev-config': labels('dev', 6443, 43)}
    assert result['created_volumes'] == ['kinc-dev-var-data', 'kinc-dev-config']
    assert result['diff'] == {'before': {}, 'after': {'dev': {'api_port': 6443, 'pod_subnet': '10.244.43.0/24',
                                                              'service_subnet': '10.43.0.0/16'}}}


def test_a_fleet_is_allocated_with_one_podman_run_that_creates_every_volume(run, host):
    result = run({'clusters': [{'name': 'c%d' % i} for i in range(100)]}, host)
    assert len(result['created_volumes']) == 200
    assert sorted(host.volume_labels()) == sorted(result['created_volumes'])
    writes = [c for c in commands(host) if c[:2] not in (['volume', 'ls'], ['ps', '--all'], ['network', 'ls'])]
    assert writes == [['kube', 'play', '--network', 'none', '-']]
    assert host.volume_labels()['kinc-c99-config'] == result['allocations']['c99']['labels']


def test_existing_cluster_is_unchanged(run, host):
    volumes(host, {'kinc-dev-var-data': labels('dev', 7001, 1), 'kinc-dev-config': labels('dev', 7001, 1)})
    assert run({'clusters': [{'name': 'dev'}]}, host)['changed'] is True  # the record was missing
    result = run({'clusters': [{'name': 'dev'}]}, host, diff=True)
    assert result['changed'] is False
    assert (result['clusters'][0]['api_port'], result['clusters'][0]['existed']) == (7001, True)
    assert result['diff']['before'] == result['diff']['after']
    assert not [c for c in commands(host) if c[:2] == ['kube', 'play']]


def test_cluster_known_only_by_its_container_gets_its_volumes_back(run, host):
    host.add_container('kinc-dev-control-plane', labels('dev', 7001, 1), state='exited', ports=[
        {'host_ip': '127.0.0.1', 'host_port': 7001, 'container_port': 6443, 'protocol': 'tcp'}])
    result = run({'name': 'dev'}, host)
    assert result['changed'] is True and result['clusters'][0]['existed'] is True
    assert host.volume_labels()['kinc-dev-config'] == labels('dev', 7001, 1)


def test_check_mode_reports_and_creates_nothing(run, tmp_path, host):
    volumes(host, {'kinc-a-var-data': labels('a', 6443, 43), 'kinc-a-config': labels('a', 6443, 43)})
    result = run({'clusters': [{'name': 'a'}, {'name': 'b'}, {'name': 'c', 'api_port': 6444}]}, host,
                 check_mode=True, listening=[('0.0.0.0', 6445)])
    assert result['changed'] is True
    assert [(e['name'], e['api_port'], e['existed']) for e in result['clusters']] == [
        ('a', 6443, True), ('b', 6446, False), ('c', 6444, False)]
    assert sorted(host.volume_labels()) == ['kinc-a-config', 'kinc-a-var-data']
    assert not (tmp_path / 'allocate.lock').exists()
    assert os.listdir(ledger.user_dir(str(tmp_path / 'allocations'), os.geteuid())) == []
    assert result['created_volumes'] == ['kinc-b-var-data', 'kinc-b-config', 'kinc-c-var-data', 'kinc-c-config']


@pytest.mark.parametrize('args, message', [
    ({'name': 'Dev'}, "name: 'Dev' is not a DNS-1123 label; fix: use lower-case letters, digits and '-', starting "
                      "and ending with a letter or digit (for example 'dev-1')"),
    ({'clusters': [{'name': 'a'}, {'name': 'a'}]}, "clusters[1].name: 'a' repeats clusters[0].name; fix: list every "
                                                   "cluster once"),
    ({'clusters': [{'name': 'a', 'api_port': 0}]}, "clusters[0].api_port: 0 is not a TCP port from 1 to 65535; fix: "
                                                   "give a port from 1 to 65535, or leave api_port out to allocate one"),
    ({'name': 'a', 'clusters': [{'name': 'b'}]}, "parameters are mutually exclusive: name|clusters"),
])
def test_bad_input_fails_before_podman_is_asked(run, args, message, host):
    result = run(args, host)
    assert result['failed'] is True and result['msg'] == message
    assert host.calls == []


def test_forced_port_in_use_fails_without_creating(run, host):
    result = run({'clusters': [{'name': 'a'}, {'name': 'b', 'api_port': 20001, 'api_address': '192.0.2.5'}]}, host,
                 listening=[('192.0.2.5', 20001)])
    assert result['msg'].startswith("clusters[1].api_port: 20001 is in use on this host (a socket listens on it on "
                                    "192.0.2.5")
    assert host.volume_labels() == {}


def test_foreign_volume_with_a_cluster_name_is_an_error(run, host):
    volumes(host, {'kinc-dev-config': {}})
    result = run({'name': 'dev'}, host)
    assert result['msg'] == ("volume kinc-dev-config exists but is not labelled io.kinc.cluster=dev, so it is not "
                             "kinc's; fix: remove or rename it, or choose another cluster name")
    assert sorted(host.volume_labels()) == ['kinc-dev-config']


def write_record(record_dir, uid, clusters):
    return plant_record(str(record_dir), uid, clusters)


def test_other_users_clusters_in_the_record_hold_their_ports_and_networks(run, record_dir, host):
    write_record(record_dir, 4242, {'default': {'api_port': 6443, 'pod_subnet': '10.244.43.0/24',
                                                'service_subnet': '10.43.0.0/16'}})
    result = run({'clusters': [{'name': 'default'}, {'name': 'x', 'api_port': 6543}]}, host)
    assert [(e['name'], e['api_port'], e['pod_subnet'], e['existed']) for e in result['clusters']] == [
        ('default', 6444, '10.244.44.0/24', False), ('x', 6543, '10.244.100.0/24', False)]
    failed = run({'clusters': [{'name': 'y', 'api_port': 6443}]}, host)
    assert failed['msg'] == ("clusters[0].api_port: 6443 is held by cluster 'default' of uid 4242; fix: choose "
                             "another port or leave api_port out to allocate one")


@pytest.mark.parametrize('content, owner, why', [
    ('{"clusters": [1]}', 4242, "its clusters are not a mapping"),
    ('{"clusters": {}}', 4343, "it belongs to uid 4343, not to uid 4242 whose clusters it names"),
])
def test_a_broken_or_forged_record_is_skipped_with_a_warning_naming_it(run, record_dir, content, owner, why, host):
    path = write_record(record_dir, 4242, content)
    os.chown(path, owner, owner)
    result = run({'name': 'dev'}, host)
    assert result['changed'] is True and result['clusters'][0]['api_port'] == 6443
    assert ("skipped the host-wide record %s: %s; the clusters of uid 4242 are not seen; fix: its owner runs "
            "kinc.kinc.kinc_allocate again, or root removes it" % (path, why)) in warnings(result)


def test_without_the_host_wide_record_it_warns_and_locks_per_user(run, tmp_path, host):
    result = run({'name': 'dev', 'host_record_dir': str(tmp_path / 'missing')}, host)
    assert result['changed'] is True and result['host_record'] is None
    assert (tmp_path / 'allocate.lock').exists()
    assert ('the host-wide allocation record is unusable (%s does not exist), so clusters of other users that are '
            'stopped are not seen; fix: run role kinc.kinc.kinc_host, which creates it' % (tmp_path / 'missing')
            in warnings(result))


def test_check_mode_without_podman_still_checks_the_listeners(run):
    result = run({'clusters': [{'name': 'a'}, {'name': 'b', 'api_port': 7000}]}, None, check_mode=True,
                 listening=[('127.0.0.1', 6443)])
    assert [(e['name'], e['api_port']) for e in result['clusters']] == [('a', 6444), ('b', 7000)]
    assert [w for w in warnings(result) if w.startswith("podman executable 'podman' was not found")]
    failed = run({'clusters': [{'name': 'b', 'api_port': 6443}]}, None, check_mode=True,
                 listening=[('127.0.0.1', 6443)])
    assert failed['msg'].startswith('clusters[0].api_port: 6443 is in use on this host')


def test_missing_podman_is_a_message_outside_check_mode(run):
    result = run({'name': 'dev'}, None)
    assert result['failed'] is True and result['msg'].startswith("podman executable 'podman' was not found; install")


def test_an_unwritable_lock_directory_is_a_message(run, tmp_path, host):
    blocked = tmp_path / 'file'
    blocked.write_text('')
    result = run({'name': 'dev', 'host_record_dir': str(tmp_path / 'missing'),
                  'lock_path': str(blocked / 'allocate.lock')}, host)
    assert result.get('failed') is True, result
    assert result['msg'].startswith(str(blocked))
    assert 'check that the path exists and that the user running the task may write there' in result['msg']


def test_messages_name_the_entry_the_caller_gives(run, host):
    result = run({'clusters': [{'name': 'a', 'api_port': 6443, 'field': 'kinc_clusters[3]'}]}, host,
                 check_mode=True, listening=[('::', 6443)])
    assert result['msg'].startswith('kinc_clusters[3].api_port: 6443 is in use on this host')


def test_check_mode_leaves_a_rootless_user_without_podman_storage_alone(run, monkeypatch, tmp_path, host):
    monkeypatch.setattr(kinc_allocate.os, 'geteuid', lambda: 1000)
    monkeypatch.setenv('HOME', str(tmp_path))
    monkeypatch.delenv('XDG_DATA_HOME', raising=False)
    monkeypatch.delenv('CONTAINERS_STORAGE_CONF', raising=False)
    result = run({'name': 'dev'}, host, check_mode=True)
    assert result['clusters'][0]['api_port'] == 6443 and host.calls == []
    (tmp_path / '.local' / 'share' / 'containers').mkdir(parents=True)
    run({'name': 'dev'}, host, check_mode=True)
    assert commands(host)[0][:2] == ['volume', 'ls']


WEB_PORTS = [{'host_port': 8080, 'node_port': 30080}]


def test_published_ports_are_recorded_host_wide_and_a_change_is_reported_first_in_check_mode(run, record_dir, host):
    first = run({'clusters': [{'name': 'web', 'ports': WEB_PORTS}]}, host)
    assert first['changed'] is True and first['clusters'][0]['ports_changed'] is True
    assert first['registry_port'] is None  # no registry volume: the role skips kinc_registry
    assert record(record_dir, os.geteuid())['clusters']['web']['ports'] == [
        {'host_port': 8080, 'protocol': 'tcp', 'address': '127.0.0.1'}]
    # Unchanged: nothing to do, and its own listener on the port is no problem.
    again = run({'clusters': [{'name': 'web', 'ports': WEB_PORTS}]}, host, listening=[('127.0.0.1', 8080)])
    assert again['changed'] is False and again['clusters'][0]['ports_changed'] is False
    # Left out, the recorded ports stay.
    assert run({'name': 'web'}, host)['changed'] is False
    moved = [{'host_port': 8081, 'node_port': 30080}]
    planned = run({'clusters': [{'name': 'web', 'ports': moved}]}, host, check_mode=True, diff=True)
    assert planned['changed'] is True and planned['clusters'][0]['ports_changed'] is True
    assert planned['diff']['before']['web']['ports'] == [{'host_port': 8080, 'protocol': 'tcp', 'address': '127.0.0.1'}]
    assert planned['diff']['after']['web']['ports'] == [{'host_port': 8081, 'protocol': 'tcp', 'address': '127.0.0.1'}]
    assert record(record_dir, os.geteuid())['clusters']['web']['ports'][0]['host_port'] == 8080
    assert run({'clusters': [{'name': 'web', 'ports': moved}]}, host)['changed'] is True
    assert record(record_dir, os.geteuid())['clusters']['web']['ports'][0]['host_port'] == 8081


def test_a_port_another_users_stopped_cluster_publishes_is_refused_before_anything_changes(run, record_dir, host):
    write_record(record_dir, 4242, {'ingress': {'api_port': 7443, 'pod_subnet': '10.244.43.0/24',
                                                'service_subnet': '10.43.0.0/16',
                                                'ports': [{'host_port': 8080, 'protocol': 'tcp', 'address': '0.0.0.0'}]}})
    failed = run({'clusters': [{'name': 'web', 'ports': WEB_PORTS}]}, host)
    assert failed['msg'] == ("clusters[0].ports[0].host_port: 8080/tcp on 127.0.0.1 is published by cluster 'ingress' "
                             "of uid 4242; fix: choose another host port, or remove it from that cluster first")
    assert host.volume_labels() == {} and host.mutating() == []
    # No cluster publishes an API port of any user's cluster.
    result = run({'clusters': [{'name': 'two', 'ports': [{'host_port': 7443, 'node_port': 80}]}]}, host)
    assert result['msg'] == ("clusters[0].ports[0].host_port: 7443 is the API port of cluster 'ingress' of uid 4242; "
                             "fix: choose another host port")
    # Nor is an API port allocated on a published one (the cluster's own included).
    result = run({'clusters': [{'name': 'web', 'ports': [{'host_port': 6443, 'node_port': 80}]}]}, host)
    assert result['clusters'][0]['api_port'] == 6444


def test_a_new_port_with_a_listener_is_refused(run, host):
    failed = run({'clusters': [{'name': 'web', 'ports': WEB_PORTS}]}, host, check_mode=True,
                 listening=[('0.0.0.0', 8080)])
    assert failed['msg'].startswith('clusters[0].ports[0].host_port: 8080/tcp on 127.0.0.1 is in use on this host')


def test_the_local_registries_of_every_user_hold_their_ports_running_or_not(run, record_dir, host):
    """A registry port (kinc_registry) is never an API port: this user's from its volume's label, another user's
    from the host-wide record."""
    host.add_volume('kinc-registry', {'io.kinc.registry-port': '6443', 'io.kinc.managed-by': 'kinc.kinc'})
    place = record_dir / '4242'
    place.mkdir()
    os.chown(str(place), 4242, 4242)
    (place / 'registry.json').write_text('{"uid": 4242, "port": 6444}')
    os.chown(str(place / 'registry.json'), 4242, 4242)
    result = run({'clusters': [{'name': 'a'}, {'name': 'b'}]}, host)
    assert [c['api_port'] for c in result['clusters']] == [6445, 6446]
    # The role runs kinc_registry only for a user who has a registry (or asks for one): this user has.
    assert result['registry_port'] == 6443
    # Nor does a cluster publish a registry's port, this user's or another's, running or not.
    for port, holder in ((6443, 'the local registry of this user'), (6444, 'the local registry of uid 4242')):
        failed = run({'clusters': [{'name': 'a', 'ports': [{'host_port': port, 'node_port': 80}]}]}, host)
        assert failed['failed'] and holder in failed['msg'], failed

# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_allocate through real ansible-playbook runs on this machine's root Podman, private storage.

Ports from 20000 on, clear of other tests on the machine."""

import json
import os
import socket
import subprocess
import sys

import pytest

COLLECTIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           '.ansible', 'collections')

CONCURRENT = 8


def labels(name, port, index):
    return {'io.kinc.cluster': name, 'io.kinc.api-port': str(port), 'io.kinc.pod-subnet': '10.244.%d.0/24' % index,
            'io.kinc.service-subnet': '10.%d.0.0/16' % index, 'io.kinc.managed-by': 'kinc.kinc'}


@pytest.fixture
def allocate_runs(clean_private_podman, run_playbook, local_inventory):
    """Run kinc_allocate once per dict of arguments, in one ansible-playbook; return each run's result."""
    def run(runs, check=False, diff=False):
        # A host-wide record directory that does not exist: the private store's own lock, never the machine's record.
        private = {'lock_path': clean_private_podman.lock_path,
                   'host_record_dir': os.path.join(clean_private_podman.root, 'no-host-record')}
        runs = [dict(private, **args) for args in runs]
        result = run_playbook('allocate.yml', local_inventory, extra_vars={'runs': runs},
                              env=clean_private_podman.env, check=check, diff=diff)
        return result['results']
    return run


@pytest.fixture
def allocate(allocate_runs):
    def run(check=False, diff=False, **args):
        return allocate_runs([args], check=check, diff=diff)[0]
    return run


def brief(result):
    return [(c['name'], c['api_port'], c['pod_subnet'], c['service_subnet'], c['existed']) for c in result['clusters']]


def test_new_then_existing_clusters(allocate, clean_private_podman):
    store = clean_private_podman
    store.create_volume('kinc-ta-old-var-data', labels('ta-old', 20050, 50))
    store.create_volume('kinc-ta-old-config', labels('ta-old', 20050, 50))

    first = allocate(clusters=[{'name': 'ta-old'}, {'name': 'ta-new'}], base_port=20050, diff=True)
    assert first['changed'] is True
    assert brief(first) == [('ta-old', 20050, '10.244.50.0/24', '10.50.0.0/16', True),
                            ('ta-new', 20051, '10.244.51.0/24', '10.51.0.0/16', False)]
    assert store.volume_labels()['kinc-ta-new-var-data'] == labels('ta-new', 20051, 51)
    assert store.volume_labels()['kinc-ta-new-config'] == labels('ta-new', 20051, 51)
    assert first['diff'] == {
        'before': {'ta-old': {'api_port': 20050, 'pod_subnet': '10.244.50.0/24', 'service_subnet': '10.50.0.0/16'}},
        'after': {'ta-old': {'api_port': 20050, 'pod_subnet': '10.244.50.0/24', 'service_subnet': '10.50.0.0/16'},
                  'ta-new': {'api_port': 20051, 'pod_subnet': '10.244.51.0/24', 'service_subnet': '10.51.0.0/16'}}}

    again = allocate(clusters=[{'name': 'ta-new'}, {'name': 'ta-old'}], base_port=20050)
    assert again['changed'] is False
    assert brief(again) == [('ta-new', 20051, '10.244.51.0/24', '10.51.0.0/16', True),
                            ('ta-old', 20050, '10.244.50.0/24', '10.50.0.0/16', True)]
    assert again['allocations']['ta-old']['volumes'] == ['kinc-ta-old-var-data', 'kinc-ta-old-config']


def test_port_of_a_listening_socket_is_skipped(allocate_runs):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(('127.0.0.1', 20110))
        listener.listen(1)
        result, forced = allocate_runs([{'cluster_name': 'ta-sock', 'base_port': 20110},
                                        {'clusters': [{'name': 'ta-forced', 'api_port': 20110}]}])
    assert brief(result) == [('ta-sock', 20111, '10.244.11.0/24', '10.11.0.0/16', False)]
    assert forced['failed'] is True
    assert forced['msg'].startswith('clusters[0].api_port: 20110 is in use on this host')


def test_port_published_by_a_stopped_container_is_skipped(allocate, clean_private_podman):
    clean_private_podman.import_busybox()
    clean_private_podman.podman('create', '--name', 'ta-web', '-p', '127.0.0.1:20120:80', 'localhost/kinc-busybox',
                                'httpd', '-f')
    result = allocate(cluster_name='ta-pub', base_port=20120)
    assert brief(result) == [('ta-pub', 20121, '10.244.21.0/24', '10.21.0.0/16', False)]


def test_labelled_container_without_volumes_keeps_its_allocation(allocate, clean_private_podman):
    clean_private_podman.import_busybox()
    argv = ['create', '--name', 'kinc-ta-ctr-control-plane', '-p', '127.0.0.1:20130:6443']
    for key, value in sorted(labels('ta-ctr', 20130, 77).items()):
        argv += ['--label', '%s=%s' % (key, value)]
    clean_private_podman.podman(*(argv + ['localhost/kinc-busybox', 'sleep', '1']))
    result = allocate(clusters=[{'name': 'ta-ctr'}, {'name': 'ta-next'}], base_port=20130)
    assert brief(result) == [('ta-ctr', 20130, '10.244.77.0/24', '10.77.0.0/16', True),
                             ('ta-next', 20131, '10.244.31.0/24', '10.31.0.0/16', False)]
    # Its record is completed: both volumes now carry the container's allocation.
    assert clean_private_podman.volume_labels()['kinc-ta-ctr-config'] == labels('ta-ctr', 20130, 77)


def test_check_mode_creates_nothing(allocate, clean_private_podman):
    result = allocate(check=True, diff=True, clusters=[{'name': 'ta-chk'}, {'name': 'ta-chk2', 'api_port': 20150}],
                      base_port=20140)
    assert result['changed'] is True
    assert brief(result) == [('ta-chk', 20140, '10.244.40.0/24', '10.40.0.0/16', False),
                             ('ta-chk2', 20150, '10.244.50.0/24', '10.50.0.0/16', False)]
    assert result['created_volumes'] == ['kinc-ta-chk-var-data', 'kinc-ta-chk-config', 'kinc-ta-chk2-var-data',
                                         'kinc-ta-chk2-config']
    assert clean_private_podman.volume_labels() == {}


def start_module(store, tmp_path, number, lock_path):
    """Run kinc_allocate as Ansible runs a module: a python process reading its arguments from a file."""
    args_file = tmp_path / ('args-%d.json' % number)
    args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': {
        'name': 'ta-par-%d' % number, 'base_port': 20200, 'lock_path': lock_path}}))
    env = dict(store.env, PYTHONPATH=COLLECTIONS)
    return subprocess.Popen([sys.executable, '-m', 'ansible_collections.kinc.kinc.plugins.modules.kinc_allocate',
                             str(args_file)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_concurrent_runs_never_share_a_port_or_network(clean_private_podman, tmp_path):
    store = clean_private_podman
    procs = [start_module(store, tmp_path, number, store.lock_path) for number in range(CONCURRENT)]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * CONCURRENT, outputs
    allocations = [json.loads(out)['clusters'][0] for out, _err in outputs]
    assert all(json.loads(out)['changed'] for out, _err in outputs)
    assert sorted(a['api_port'] for a in allocations) == list(range(20200, 20200 + CONCURRENT))
    assert len(set(a['pod_subnet'] for a in allocations)) == CONCURRENT
    assert len(set(a['service_subnet'] for a in allocations)) == CONCURRENT
    # The host's record agrees with what every run reported.
    recorded = store.volume_labels()
    for allocation in allocations:
        for volume in allocation['volumes']:
            assert recorded[volume] == allocation['labels']


def test_concurrent_playbooks_share_the_record(clean_private_podman, run_playbook, local_inventory):
    """Two whole ansible-playbook runs at once, as two CI jobs on one runner would."""
    store = clean_private_podman
    handles = [run_playbook.start('allocate.yml', local_inventory, env=store.env, extra_vars={'runs': [
        {'clusters': [{'name': 'ta-job%d-a' % job}, {'name': 'ta-job%d-b' % job}], 'base_port': 20250}]})
        for job in range(2)]
    allocations = [c for handle in handles for c in run_playbook.finish(handle)['results'][0]['clusters']]
    assert sorted(a['api_port'] for a in allocations) == [20250, 20251, 20252, 20253]
    assert len(set(a['service_subnet'] for a in allocations)) == 4


BAD_INPUT = [
    ({'cluster_name': 'Bad_Name'}, "name: 'Bad_Name' is not a DNS-1123 label; fix: use lower-case letters, digits "
                                   "and '-', starting and ending with a letter or digit (for example 'dev-1')"),
    ({'clusters': [{'name': 'ta-a'}, {'name': 'ta-b'}, {'name': 'ta-a'}]},
     "clusters[2].name: 'ta-a' repeats clusters[0].name; fix: list every cluster once"),
    ({'clusters': [{'name': 'ta-a', 'api_port': 99999}]},
     "clusters[0].api_port: 99999 is not a TCP port from 1 to 65535; fix: give a port from 1 to 65535, or leave "
     "api_port out to allocate one"),
    ({'clusters': [{'name': 'ta-a'}, {'name': 'ta-b', 'api_port': 20300}]},
     "clusters[1].api_port: 20300 is held by cluster 'ta-held'; fix: choose another port or leave api_port out to "
     "allocate one"),
    ({'clusters': [{'name': 'ta-a'}, {'name': 'ta-b'}], 'base_port': 20300, 'max_port': 20301},
     "clusters[1].name: no free API port for cluster 'ta-b' from base_port 20300 to max_port 20301 (all are held by "
     "clusters or in use on this host); fix: raise max_port or remove unused clusters"),
    ({'cluster_name': 'ta-a', 'base_port': 20300, 'max_port': 20299},
     "max_port: 20299 is below base_port 20300; fix: set max_port >= base_port"),
]


def test_bad_input_fails_before_any_change(allocate_runs, clean_private_podman):
    clean_private_podman.create_volume('kinc-ta-held-var-data', labels('ta-held', 20300, 0))
    results = allocate_runs([dict({'base_port': 20300}, **args) for args, _message in BAD_INPUT])
    assert [(r['failed'], r['msg']) for r in results] == [(True, message) for _args, message in BAD_INPUT]
    assert sorted(clean_private_podman.volume_labels()) == ['kinc-ta-held-var-data']

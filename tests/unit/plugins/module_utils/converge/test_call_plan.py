# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_cluster's plan of a call against the shared fake host (tests/unit/fake_host.py), with units rendered
from the collection's real templates. Real Podman and systemd run in the Molecule scenarios."""

import json
import os
import stat
import threading
import time

import pytest
import yaml

from fake_host import ADMIN, STEPS, status_text

from ansible_collections.kinc.kinc.plugins.action import kinc_cluster as action
from ansible_collections.kinc.kinc.plugins.module_utils.spec import cluster_spec
from ansible_collections.kinc.kinc.plugins.module_utils.kubeconfig import on_host
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming
from ansible_collections.kinc.kinc.plugins.module_utils.converge import node_digest
from ansible_collections.kinc.kinc.plugins.module_utils.converge.call_plan import ClusterManager
from ansible_collections.kinc.kinc.plugins.module_utils.module_base import KincError
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import PodmanClient
from ansible_collections.kinc.kinc.plugins.module_utils.systemd import Systemctl

NAME = 'tdev'
CONTAINER = 'kinc-tdev-control-plane'
SERVICE = 'kinc-tdev-control-plane.service'
ALLOCATIONS = {'tdev': (6443, '10.244.43.0/24', '10.43.0.0/16'), 'two': (6444, '10.244.44.0/24', '10.44.0.0/16'),
               'three': (6445, '10.244.45.0/24', '10.45.0.0/16')}


def params(host, name=NAME, **overrides):
    port, pods, services = ALLOCATIONS[name]
    options = {'name': name, 'state': 'present', 'api_port': port, 'pod_subnet': pods, 'service_subnet': services}
    options.update((k, overrides.pop(k)) for k in list(overrides) if k in ('image', 'events', 'config_mode'))
    rendered = cluster_spec.normalize(options)[0]
    p = dict(rendered, wait=True, wait_timeout=60, purge=False, merge_kubeconfig=False,
             quadlet_dir=host.quadlet_dir, kubeconfig_path=str(host.home / '.kube' / ('kinc-%s.conf' % name)),
             user_kubeconfig=str(host.home / '.kube' / 'config'),
             quadlet_units=action.render_units(rendered),
             node_config=action.render_node_config(rendered, rootless=True))
    p.update(overrides)
    return p


def manager_for(host, check_mode=False, on_missing_image='fail'):
    return ClusterManager(PodmanClient(host.run), Systemctl(host.run, user=True), check_mode=check_mode,
                          now=host.now, sleep=host.sleep, path_exists=lambda path: True, read_file=host.read_file,
                          record_dir=host.record_dir, on_missing_image=on_missing_image)


def run(host, check_mode=False, **overrides):
    """One cluster; returns its ClusterRun."""
    host.calls = []
    return manager_for(host, check_mode).converge([params(host, **overrides)])[0]


def converge_many(host, entries, check_mode=False):
    host.calls = []
    manager = manager_for(host, check_mode)
    manager.converge(entries)
    return manager


def verbs(host):
    """systemctl verbs and podman volume/container changes (`kube play` creates volumes), in order."""
    out = []
    for argv in host.mutating():
        args = [a for a in argv[1:] if a != '--user']
        out.append(' '.join(args[:2]) if args[0] in ('volume', 'kube') else args[0])
    return out


def test_present_on_a_new_host_creates_everything_volumes_first(host):
    result = run(host)
    assert result.error is None and result.changed
    assert verbs(host) == ['kube play', 'daemon-reload', 'start']
    written = [a.split(' ', 1)[1] for a in result.actions if a.startswith('create /')]
    assert [os.path.basename(p) for p in written] == [
        'cluster.env', 'kubeadm.conf', 'kinc-tdev-var-data.volume', 'kinc-tdev-config.volume',
        'kinc-tdev-control-plane.container']
    labels = naming.allocation_labels(NAME, 6443, '10.244.43.0/24', '10.43.0.0/16')
    assert host.volumes['kinc-tdev-var-data'][0] == labels
    assert host.containers[CONTAINER]['labels'][node_digest.LABEL] == result.digest
    assert result.status['phase'] == 'ready'
    for path in [os.path.join(host.quadlet_dir, f) for f in naming.quadlet_file_names(NAME)]:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_present_exports_a_private_kubeconfig_pointing_at_the_published_port(host):
    result = run(host)
    path = result.params['kubeconfig_path']
    config = json.load(open(path))
    assert config['clusters'][0] == {'name': 'kinc-tdev', 'cluster': {'server': 'https://127.0.0.1:6443',
                                                                      'certificate-authority-data': 'Q0E='}}
    assert config['current-context'] == 'kinc-tdev'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700


def test_an_unchanged_run_changes_nothing_with_three_podman_calls(host):
    run(host)
    result = run(host)
    assert result.actions == [] and host.mutating() == []
    assert result.restarted is False and result.diff == [] and result.status['phase'] == 'ready'
    podman = [argv[1:3] for argv in host.podman_calls()]
    assert podman == [['ps', '--all'], ['volume', 'ls'], ['image', 'exists']]


def test_three_unchanged_clusters_of_one_image_cost_three_podman_calls_and_one_systemctl(host):
    converge_many(host, [params(host, n) for n in ('tdev', 'two', 'three')])
    converge_many(host, [params(host, n) for n in ('tdev', 'two', 'three')])
    assert host.mutating() == []
    assert len(host.podman_calls()) == 3
    assert len([a for a in host.calls if os.path.basename(a[0]) == 'systemctl']) == 1


def test_a_missing_node_image_fails_the_call_before_anything_changes(host):
    with pytest.raises(KincError) as err:
        run(host, image='localhost/not-built:1')
    assert str(err.value).startswith("node image localhost/not-built:1 (cluster tdev) is not in the Podman storage of "
                                     "the clusters' owner; build it with 'podman build -t localhost/not-built:1 ")
    assert host.mutating() == []


def test_reported_missing_images_change_nothing_until_they_are_there(host):
    entries = [params(host, 'tdev', image='localhost/not-built:1'), params(host, 'two', image='localhost/not-built:1'),
               params(host, 'three')]
    host.calls = []
    manager = manager_for(host, on_missing_image='report')
    manager.converge(entries)
    assert manager.missing_images == {'localhost/not-built:1': ['tdev', 'two']}
    assert host.mutating() == [] and all(not r.actions for r in manager.runs)
    # Check mode reports them and plans the rest as if they were there.
    checked = manager_for(host, check_mode=True, on_missing_image='report')
    checked.converge(entries)
    assert checked.missing_images == manager.missing_images and host.mutating() == []
    assert ['start %s' % naming.service_name(n) in r.actions for n, r in zip(('tdev', 'two', 'three'), checked.runs)] \
        == [True, True, True]
    host.add_image('localhost/not-built:1', '{"built": true}')
    manager.converge(entries)
    assert manager.missing_images == {} and all(r.status['phase'] == 'ready' for r in manager.runs)


def test_a_changed_unit_is_written_and_restarts_the_node(host):
    run(host)
    before = host.containers[CONTAINER]['id']
    result = run(host, image='localhost/kinc-node:v2')
    assert result.restarted is True
    assert verbs(host) == ['daemon-reload', 'restart']
    assert host.containers[CONTAINER]['id'] != before
    assert host.containers[CONTAINER]['labels'][node_digest.LABEL] == result.digest
    (change,) = result.diff
    assert change['after_header'].endswith('kinc-tdev-control-plane.container')
    assert 'Image=localhost/kinc-node:v2' in change['after']


def test_a_changed_node_config_restarts_without_daemon_reload_of_a_stale_unit(host):
    run(host)
    result = run(host, events=True)
    assert 'restart %s' % SERVICE in result.actions
    config_dir = host.volumes['kinc-tdev-config'][1]
    assert 'KINC_EVENTS=1\n' in open(os.path.join(config_dir, 'cluster.env')).read()
    assert host.containers[CONTAINER]['labels'][node_digest.LABEL] == result.digest


def test_a_comment_only_change_rewrites_the_unit_but_restarts_nothing(host):
    run(host)
    before = host.containers[CONTAINER]['id']
    p = params(host)
    unit = 'kinc-tdev-control-plane.container'
    p['quadlet_units'][unit] = p['quadlet_units'][unit].replace('# Managed by', '# Reworded: managed by')
    result = manager_for(host).converge([p])[0]
    assert 'update %s' % os.path.join(host.quadlet_dir, unit) in result.actions
    assert result.restarted is False and host.containers[CONTAINER]['id'] == before


def test_the_collection_version_is_not_part_of_what_the_node_runs_with(host):
    p = params(host)
    text = '\n'.join(list(p['quadlet_units'].values()) + list(p['node_config'].values()))
    assert naming.COLLECTION_VERSION not in text


def test_a_kubeconfig_with_a_wrong_mode_is_repaired(host):
    result = run(host)
    path = result.params['kubeconfig_path']
    os.chmod(path, 0o644)
    result = run(host)
    assert result.actions == ['repair mode or owner of %s' % path]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_unit_with_a_wrong_mode_is_repaired_without_restart(host):
    run(host)
    path = os.path.join(host.quadlet_dir, 'kinc-tdev-var-data.volume')
    os.chmod(path, 0o666)
    result = run(host)
    assert result.actions == ['repair %s' % path] and not result.restarted
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_baked_mode_removes_a_kubeadm_conf_left_by_mounted_mode(host):
    run(host)
    run(host, config_mode='baked')
    assert os.listdir(host.volumes['kinc-tdev-config'][1]) == ['cluster.env']


def test_check_mode_on_a_new_host_reports_changes_and_runs_only_read_only_commands(host):
    result = run(host, check_mode=True)
    assert result.changed and host.mutating() == []
    assert not os.path.exists(host.quadlet_dir) and host.volumes == {}
    assert 'start %s' % SERVICE in result.actions
    assert {d['after'] for d in result.diff} >= set(params(host)['node_config'].values())


def test_check_mode_on_a_converged_host_reports_no_change(host):
    run(host)
    result = run(host, check_mode=True)
    assert result.actions == [] and host.mutating() == []


def test_check_mode_reports_a_restart_without_doing_it(host):
    run(host)
    result = run(host, check_mode=True, events=True)
    assert result.restarted is True and host.mutating() == []


def test_options_that_contradict_the_recorded_allocation_are_refused_before_any_change(host):
    host.add_volume('kinc-tdev-var-data', naming.allocation_labels(NAME, 7443, '10.244.43.0/24', '10.43.0.0/16'))
    with pytest.raises(KincError) as err:
        run(host)
    assert ('cluster tdev is allocated api_port=7443 (label io.kinc.api-port on volume kinc-tdev-var-data), '
            'but api_port=6443 was given') in str(err.value)
    assert host.mutating() == [] and not os.path.exists(host.quadlet_dir)


def test_a_bad_cluster_stops_every_cluster_of_the_call_before_any_change(host):
    host.add_volume('kinc-two-config', {})
    with pytest.raises(KincError) as err:
        converge_many(host, [params(host, 'tdev'), params(host, 'two')])
    assert 'volume kinc-two-config exists but is not labelled io.kinc.cluster=two' in str(err.value)
    assert host.mutating() == [] and not os.path.exists(host.quadlet_dir)


def test_a_failed_node_names_the_step_and_shows_its_units_journal(host):
    failed = [dict(STEPS[0]), {'name': 'apiserver', 'unit': 'kinc-kubeadm-init.service', 'state': 'failed',
                               'started': '', 'finished': '', 'message': 'apiserver did not answer'}]
    host.statuses = ['', status_text('initializing'), status_text('failed', failed)]
    result = run(host)
    assert result.error.startswith("cluster tdev failed at step 'apiserver' (unit kinc-kubeadm-init.service): "
                                   "apiserver did not answer")
    assert 'node journal of kinc-kubeadm-init.service' in result.error
    assert [s['state'] for s in result.status['steps']] == ['done', 'failed']
    assert host.sleeps == 2


def test_the_previous_boots_ready_status_is_not_taken_for_readiness_after_a_restart(host):
    run(host)
    old = status_text('ready', at=10)  # written long before this run's restart
    host.statuses = [old, old, old, status_text('ready', at=host.clock + 3)]
    result = run(host, events=True)
    assert result.restarted and result.status['phase'] == 'ready'
    assert host.sleeps == 3


def test_ready_needs_the_initialized_marker(host):
    host.initialized = False
    result = run(host, wait_timeout=10)
    assert 'cluster tdev was not ready after wait_timeout=10s (ready: 1/1 steps done)' in result.error
    # Polls after 0.5, 1, 2, 2, 2 and 2 seconds (9.5 s), then once past the deadline.
    assert host.sleeps == 7


def test_a_service_that_crashes_before_any_status_fails_fast_with_its_journal(host):
    host.statuses = ['']
    original = host._start

    def crash(service):
        original(service)
        host.sub[service] = 'auto-restart'
    host._start = crash
    result = run(host)
    assert result.error.startswith('%s failed before the node reported any status' % SERVICE)
    assert host.sleeps == 0


def test_a_failing_start_shows_the_service_journal(host):
    host.refuse['start'] = 'Job for %s failed' % SERVICE
    result = run(host)
    assert "'systemctl --user start %s' failed with exit code 1: Job for" % SERVICE in result.error
    assert 'host journal of %s' % SERVICE in result.error


def test_all_clusters_start_before_the_one_wait_and_a_failure_names_only_its_cluster(host):
    host.refuse_start_of = None
    original = host._systemctl

    def refuse_two(args):
        if args[0] == 'start' and args[1] == 'kinc-two-control-plane.service':
            return 1, '', 'Job failed'
        return original(args)
    host._systemctl = refuse_two
    manager = converge_many(host, [params(host, n) for n in ('tdev', 'two', 'three')])
    starts = [i for i, a in enumerate(host.calls) if a[-2:-1] == ['start']]
    # One `ps` for the snapshot, one under the allocation lock per new cluster, one poll of the wait.
    polls = [i for i, a in enumerate(host.calls) if a[1:2] == ['ps']]
    assert len(starts) == 3 and max(starts) < polls[-1] and len(polls) == 1 + 3 + 1
    results = dict((r['name'], r) for r in manager.results())
    assert results['two']['failed'] and 'Job failed' in results['two']['msg']
    assert results['tdev']['status']['phase'] == results['three']['status']['phase'] == 'ready'


def test_wait_false_starts_without_waiting_or_exporting(host):
    result = run(host, wait=False)
    assert 'start' in verbs(host)
    assert not any(a[1:2] == ['exec'] for a in host.calls)
    assert not os.path.exists(result.params['kubeconfig_path'])


def test_merge_kubeconfig_adds_the_context_once(host):
    user_config = host.home / '.kube' / 'config'
    user_config.parent.mkdir(parents=True)
    user_config.write_text(yaml.safe_dump({'current-context': 'work', 'contexts': [{'name': 'work'}]}))
    run(host, merge_kubeconfig=True)
    merged = yaml.safe_load(user_config.read_text())
    assert [c['name'] for c in merged['contexts']] == ['work', 'kinc-tdev']
    assert merged['current-context'] == 'work'
    assert run(host, merge_kubeconfig=True).actions == []


def test_a_kubeconfig_that_no_longer_matches_the_node_is_exported_again(host):
    result = run(host)
    path = result.params['kubeconfig_path']
    config = json.load(open(path))
    config['users'][0]['user']['client-key-data'] = 'T0xE'
    with open(path, 'w') as handle:
        handle.write(json.dumps(config))
    result = run(host)
    assert result.actions == ['write %s' % path]
    assert json.load(open(path))['users'][0]['user']['client-key-data'] == ADMIN['users'][0]['user']['client-key-data']


def test_stopped_stops_a_running_service_once(host):
    run(host)
    assert run(host, state='stopped', quadlet_units=None, node_config=None).actions == ['stop %s' % SERVICE]
    assert run(host, state='stopped', quadlet_units=None, node_config=None).actions == []


def test_started_needs_existing_units(host):
    with pytest.raises(KincError) as err:
        run(host, state='started', quadlet_units=None, node_config=None)
    assert 'has no Quadlet units' in str(err.value) and 'state=present' in str(err.value)


def test_started_starts_a_stopped_cluster_and_waits(host):
    run(host)
    run(host, state='stopped')
    result = run(host, state='started', api_port=None, quadlet_units=None, node_config=None)
    assert verbs(host) == ['start']
    assert result.api_port(manager_for(host).snapshot or _Snapshot(host)) == 6443


class _Snapshot:
    def __init__(self, host):
        self.host = host

    def volume(self, name):
        from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import Volume
        labels, mountpoint = self.host.volumes[name]
        return Volume(name, labels, mountpoint)


def test_absent_keeps_volumes_and_kubeconfig_and_purge_removes_them(host):
    run(host, merge_kubeconfig=True)
    user_config = host.home / '.kube' / 'config'
    result = run(host, state='absent')
    assert verbs(host) == ['stop', 'stop', 'stop', 'daemon-reload']
    assert not os.listdir(host.quadlet_dir) and host.loaded == {}
    assert sorted(host.volumes) == ['kinc-tdev-config', 'kinc-tdev-var-data']
    assert os.path.exists(result.params['kubeconfig_path'])

    result = run(host, state='absent', purge=True)
    assert verbs(host) == ['volume rm', 'volume rm']
    assert host.volumes == {} and not os.path.exists(result.params['kubeconfig_path'])
    assert 'kinc-tdev' not in user_config.read_text()
    assert run(host, state='absent', purge=True).actions == []


def test_absent_removes_a_leftover_container(host):
    host.containers[CONTAINER] = {'id': 'c9', 'state': 'exited', 'labels': {naming.LABEL_CLUSTER: NAME}}
    result = run(host, state='absent')
    assert verbs(host) == ['rm'] and result.actions == ['remove container %s' % CONTAINER]


def test_absent_in_check_mode_changes_nothing(host):
    run(host)
    result = run(host, state='absent', purge=True, check_mode=True)
    assert result.changed and host.mutating() == []
    assert len(os.listdir(host.quadlet_dir)) == 3 and len(host.volumes) == 2


def test_units_removed_but_still_loaded_are_reloaded(host):
    run(host)
    run(host, state='stopped')
    for name in os.listdir(host.quadlet_dir):
        os.unlink(os.path.join(host.quadlet_dir, name))
    result = run(host, state='absent')
    assert result.actions == ['stop kinc-tdev-var-data-volume.service', 'stop kinc-tdev-config-volume.service',
                              'daemon-reload']
    assert host.loaded == {}


def test_units_written_but_never_loaded_are_reloaded_and_the_node_restarted(host):
    run(host)
    p = params(host, image='localhost/kinc-node:v2')
    stamped, _digest = node_digest.stamp(p['quadlet_units'], p['node_config'], 'kinc-tdev-control-plane.container')
    for name, text in stamped.items():
        with open(os.path.join(host.quadlet_dir, name), 'w') as handle:
            handle.write(text)
    result = run(host, image='localhost/kinc-node:v2')
    assert verbs(host) == ['daemon-reload', 'restart']
    assert host.containers[CONTAINER]['labels'][node_digest.LABEL] == result.digest


def test_merge_without_pyyaml_is_refused_before_any_change(host, monkeypatch):
    from ansible_collections.kinc.kinc.plugins.module_utils.kubeconfig import document
    monkeypatch.setattr(document, 'HAS_YAML', False)
    with pytest.raises(KincError) as err:
        run(host, merge_kubeconfig=True)
    assert 'merge_kubeconfig: true needs PyYAML (python3-yaml)' in str(err.value)
    assert host.mutating() == []


def test_stopped_with_the_allocation_writes_the_files_but_does_not_start(host):
    result = run(host, state='stopped')
    assert verbs(host) == ['kube play', 'daemon-reload']
    assert sorted(os.listdir(host.quadlet_dir)) == sorted(params(host)['quadlet_units'])
    assert result.result(_Snapshot(host))['state'] == 'stopped' and not host.containers
    assert run(host, state='stopped').actions == []


def test_a_missing_host_mount_source_is_refused_before_any_change(host):
    manager = ClusterManager(PodmanClient(host.run), Systemctl(host.run, user=True), now=host.now,
                             sleep=host.sleep, path_exists=lambda path: path != '/lib/modules', read_file=host.read_file,
                             record_dir=host.record_dir)
    with pytest.raises(KincError) as err:
        manager.converge([params(host)])
    assert 'kinc-tdev-control-plane.container mounts /lib/modules from the host, which does not exist' in str(err.value)
    assert host.mutating() == []


def test_a_status_that_breaks_the_contract_fails_the_cluster_with_a_message(host):
    host.statuses = ['{"schema": 7}']
    result = run(host)
    assert result.error.startswith('/var/lib/kinc/status.json in container %s does not follow the status contract'
                                   % CONTAINER)


def test_a_journal_tail_in_a_message_carries_no_secret(host):
    # kubeadm prints the bootstrap token; a failure at addons used to show it in the task's message.
    host.journal_extra = '[bootstrap-token] Using token: abcdef.0123456789abcdef\n'
    failed = [dict(STEPS[0]), {'name': 'addons', 'unit': 'kinc-kubeadm-init.service', 'state': 'failed',
                               'started': '', 'finished': '', 'message': 'coredns did not start'}]
    host.statuses = ['', status_text('initializing'), status_text('failed', failed)]
    manager = manager_for(host)
    manager.converge([params(host)])
    message = manager.results()[0]['msg']
    assert message.startswith("cluster tdev failed at step 'addons'")
    assert 'Using token: REDACTED-BY-KINC' in message and '0123456789abcdef' not in message


def test_merge_waits_for_kubectls_lock_and_keeps_what_kubectl_wrote_meanwhile(host):
    user_config = host.home / '.kube' / 'config'
    user_config.parent.mkdir(parents=True)
    user_config.write_text(yaml.safe_dump({'current-context': 'work', 'contexts': [{'name': 'work'}]}))
    lock = host.home / '.kube' / 'config.lock'
    lock.write_text('')  # kubectl (client-go) holds it while it changes the file

    def kubectl_finishes():
        time.sleep(0.5)
        user_config.write_text(yaml.safe_dump({'current-context': 'work',
                                               'contexts': [{'name': 'work'}, {'name': 'other'}]}))
        lock.unlink()
    kubectl = threading.Thread(target=kubectl_finishes)
    kubectl.start()
    run(host, merge_kubeconfig=True)
    kubectl.join()
    merged = yaml.safe_load(user_config.read_text())
    assert [c['name'] for c in merged['contexts']] == ['work', 'other', 'kinc-tdev']
    assert not lock.exists()


def test_a_lock_of_the_users_kubeconfig_that_stays_is_a_message(host, monkeypatch):
    monkeypatch.setattr(on_host, 'LOCK_WAIT', 0.3)
    lock = host.home / '.kube' / 'config.lock'
    lock.parent.mkdir(parents=True)
    lock.write_text('')
    result = run(host, merge_kubeconfig=True)
    assert result.error == ('%s is locked: %s exists for more than 0.3 s (kubectl or another kinc run is changing the '
                            'file); fix: let it finish, or remove %s if nothing is changing the file'
                            % (host.home / '.kube' / 'config', lock, lock))

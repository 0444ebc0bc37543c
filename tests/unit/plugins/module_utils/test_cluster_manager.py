# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_cluster's state machine against a fake host that answers podman/systemctl argv like the real ones.

The fake keeps the state real commands would change (volumes, service state, node status), so the tests
assert both the commands run and the files written; real Podman and systemd run in the Molecule scenarios.
"""

import json
import os
import stat

import pytest
import yaml

from ansible_collections.kinc.kinc.plugins.module_utils import naming
from ansible_collections.kinc.kinc.plugins.module_utils.cluster_manager import ClusterError, ClusterManager
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import PodmanClient
from ansible_collections.kinc.kinc.plugins.module_utils.systemd import Systemctl

NAME = 'tdev'
CONTAINER = 'kinc-tdev-control-plane'
SERVICE = 'kinc-tdev-control-plane.service'
LABELS = naming.allocation_labels(NAME, 6443, '10.244.43.0/24', '10.43.0.0/16')
ADMIN = {
    'clusters': [{'name': 'kubernetes', 'cluster': {'server': 'https://x:6443', 'certificate-authority-data': 'Q0E='}}],
    'users': [{'name': 'kubernetes-admin', 'user': {'client-key-data': 'S0VZ'}}],
    'contexts': [{'name': 'kubernetes-admin@kubernetes', 'context': {'cluster': 'kubernetes', 'user': 'kubernetes-admin'}}],
    'current-context': 'kubernetes-admin@kubernetes',
}
STEPS = [{'name': 'crio', 'unit': 'crio.service', 'state': 'done', 'started': '2026-11-22T10:00:01Z',
          'finished': '2026-11-22T10:00:02Z', 'message': ''}]


def status_text(phase, steps=None):
    return json.dumps({'schema': 1, 'cluster': NAME, 'phase': phase, 'steps': steps or STEPS})


class FakeHost:
    """Answers the argv kinc_cluster runs; records every call."""

    def __init__(self, tmp_path):
        self.root = tmp_path
        self.quadlet_dir = str(tmp_path / 'systemd')
        self.calls = []
        self.volumes = {}
        self.active = 'inactive'
        self.sub = 'dead'
        self.container = None
        self.clock = 1000.0
        self.sleeps = 0
        # What successive `cat status.json` return once the container runs (the last one repeats).
        self.statuses = [status_text('ready')]
        self.status_mtime = None
        self.initialized = True
        self.reloaded = False

    # -- the world -----------------------------------------------------------------------------
    def add_volume(self, name, labels):
        mountpoint = self.root / 'volumes' / name
        mountpoint.mkdir(parents=True)
        self.volumes[name] = (labels, str(mountpoint))

    def now(self):
        return self.clock

    def sleep(self, seconds):
        self.sleeps += 1
        self.clock += seconds

    def mutating(self):
        """The calls that change something on a real host."""
        read_only = (('volume', 'ls'), ('ps',), ('exec',), ('show',), ('image', 'exists'))
        found = []
        for argv in self.calls:
            args = [a for a in argv[1:] if a != '--user']
            if not any(tuple(args[:len(r)]) == r for r in read_only):
                found.append(argv)
        return found

    # -- commands ------------------------------------------------------------------------------
    def run(self, argv, data=None):
        self.calls.append(list(argv))
        tool = os.path.basename(argv[0])
        args = [a for a in argv[1:] if a != '--user']
        return getattr(self, '_' + tool)(args)

    def _podman(self, args):
        if args[:2] == ['volume', 'ls']:
            return 0, json.dumps([{'Name': n, 'Labels': labels, 'Mountpoint': mp}
                                  for n, (labels, mp) in sorted(self.volumes.items())]), ''
        if args[:2] == ['volume', 'create']:
            labels = dict(a.split('=', 1) for a in args[3:-1:2])
            self.add_volume(args[-1], labels)
            return 0, args[-1] + '\n', ''
        if args[:2] == ['volume', 'rm']:
            self.volumes.pop(args[-1], None)
            return 0, '', ''
        if args[0] == 'ps':
            found = [{'Names': [CONTAINER], 'Id': 'c1', 'State': self.container, 'Labels': LABELS}] \
                if self.container else []
            return 0, json.dumps(found), ''
        if args[0] == 'rm':
            self.container = None
            return 0, '', ''
        if args[0] == 'exec':
            return self._exec(args[2:])
        raise AssertionError('unexpected podman %s' % args)

    def _exec(self, argv):
        if self.container != 'running':
            return 125, '', 'Error: no container with name or ID "%s" found' % CONTAINER
        if argv[0] == 'cat':
            text = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            return (0, text, '') if text else (1, '', 'No such file')
        if argv[0] == 'stat':
            return 0, '%d\n' % (self.status_mtime if self.status_mtime is not None else self.clock), ''
        if argv[0] == 'test':
            return (0 if self.initialized else 1), '', ''
        if argv[0] == 'kubectl':
            return 0, json.dumps(ADMIN), ''
        if argv[0] == 'journalctl':
            return 0, 'node journal of %s\n' % argv[2], ''
        raise AssertionError('unexpected exec %s' % argv)

    def _systemctl(self, args):
        if args[0] == 'show':
            props = args[1].split('=', 1)[1].split(',')
            unit = args[2]
            generated = os.path.exists(os.path.join(self.quadlet_dir, unit.replace('.service', '.container')))
            values = {'ActiveState': self.active if unit == SERVICE else 'inactive',
                      'SubState': self.sub if unit == SERVICE else 'dead',
                      'LoadState': 'loaded' if (unit != SERVICE or generated) and self.reloaded else 'not-found'}
            return 0, ''.join('%s=%s\n' % (p, values[p]) for p in props), ''
        if args[0] == 'daemon-reload':
            self.reloaded = True
            return 0, '', ''
        if args[0] in ('start', 'restart'):
            self.active, self.sub, self.container = 'active', 'running', 'running'
            return 0, '', ''
        if args[0] == 'stop':
            if args[1] == SERVICE:
                self.active, self.sub, self.container = 'inactive', 'dead', None
            return 0, '', ''
        if args[0] == 'reset-failed':
            return 0, '', ''
        raise AssertionError('unexpected systemctl %s' % args)

    def _journalctl(self, args):
        return 0, 'host journal of %s\n' % args[1], ''


@pytest.fixture
def host(tmp_path):
    return FakeHost(tmp_path)


def params(host, **overrides):
    p = {
        'name': NAME, 'state': 'present', 'api_port': 6443, 'pod_subnet': '10.244.43.0/24',
        'service_subnet': '10.43.0.0/16', 'api_address': '127.0.0.1', 'wait': True, 'wait_timeout': 60,
        'purge': False, 'merge_kubeconfig': False, 'quadlet_dir': host.quadlet_dir,
        'kubeconfig_path': str(host.root / 'home' / '.kube' / 'kinc-tdev.conf'),
        'user_kubeconfig': str(host.root / 'home' / '.kube' / 'config'),
        'quadlet_units': {
            'kinc-tdev-var-data.volume': '[Volume]\nVolumeName=kinc-tdev-var-data\n',
            'kinc-tdev-config.volume': '[Volume]\nVolumeName=kinc-tdev-config\n',
            'kinc-tdev-control-plane.container': '[Container]\nImage=localhost/kinc-node:latest\n',
        },
        'node_config': {'cluster.env': 'KINC_CLUSTER_NAME=tdev\n', 'kubeadm.conf': 'kind: InitConfiguration\n'},
    }
    p.update(overrides)
    return p


def run(host, check_mode=False, **overrides):
    host.calls = []
    manager = ClusterManager(params(host, **overrides), PodmanClient(host.run), Systemctl(host.run, user=True),
                             os.rename, check_mode=check_mode, now=host.now, sleep=host.sleep)
    return manager.run()


def converged(host):
    run(host)
    return host


def verbs(host):
    """systemctl verbs and podman volume/container changes, in order."""
    out = []
    for argv in host.mutating():
        args = [a for a in argv[1:] if a != '--user']
        out.append(' '.join(args[:2]) if args[0] == 'volume' else args[0])
    return out


def test_present_on_a_new_host_creates_everything_in_order(host):
    result = run(host)
    assert result['changed'] is True
    assert verbs(host) == ['volume create', 'volume create', 'daemon-reload', 'start']
    assert host.volumes['kinc-tdev-var-data'][0] == LABELS
    assert host.volumes['kinc-tdev-config'][0] == LABELS
    for name, text in params(host)['quadlet_units'].items():
        assert open(os.path.join(host.quadlet_dir, name)).read() == text
    config_dir = host.volumes['kinc-tdev-config'][1]
    assert sorted(os.listdir(config_dir)) == ['cluster.env', 'kubeadm.conf']
    cluster = result['cluster']
    assert cluster['state'] == 'running' and cluster['restarted'] is False
    assert cluster['api_url'] == 'https://127.0.0.1:6443'
    assert cluster['status']['phase'] == 'ready'
    assert cluster['status']['steps'][0]['duration'] == 1


def test_present_exports_a_private_kubeconfig_pointing_at_the_published_port(host):
    result = run(host, api_address='127.0.0.1')
    path = result['cluster']['kubeconfig']
    config = json.load(open(path))
    assert config['clusters'][0] == {'name': 'kinc-tdev', 'cluster': {'server': 'https://127.0.0.1:6443',
                                                                      'certificate-authority-data': 'Q0E='}}
    assert config['current-context'] == 'kinc-tdev'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700


def test_unchanged_input_changes_nothing_and_does_not_restart(host):
    converged(host)
    result = run(host)
    assert result['changed'] is False, result['actions']
    assert host.mutating() == []
    assert result['cluster']['restarted'] is False
    assert result['diff'] == []


def test_a_changed_unit_is_written_and_restarts_the_running_service(host):
    converged(host)
    units = dict(params(host)['quadlet_units'])
    units['kinc-tdev-control-plane.container'] = '[Container]\nImage=localhost/kinc-node:v2\n'
    result = run(host, quadlet_units=units)
    assert result['changed'] is True and result['cluster']['restarted'] is True
    assert verbs(host) == ['daemon-reload', 'restart']
    assert result['diff'] == [{
        'before_header': os.path.join(host.quadlet_dir, 'kinc-tdev-control-plane.container'),
        'after_header': os.path.join(host.quadlet_dir, 'kinc-tdev-control-plane.container'),
        'before': '[Container]\nImage=localhost/kinc-node:latest\n',
        'after': '[Container]\nImage=localhost/kinc-node:v2\n'}]


def test_a_changed_node_config_restarts_without_daemon_reload(host):
    converged(host)
    result = run(host, node_config={'cluster.env': 'KINC_CLUSTER_NAME=tdev\nKINC_EVENTS=1\n',
                                    'kubeadm.conf': 'kind: InitConfiguration\n'})
    assert verbs(host) == ['restart']
    assert result['cluster']['restarted'] is True
    config_dir = host.volumes['kinc-tdev-config'][1]
    assert open(os.path.join(config_dir, 'cluster.env')).read().endswith('KINC_EVENTS=1\n')


def test_baked_mode_removes_a_kubeadm_conf_left_by_mounted_mode(host):
    converged(host)
    run(host, node_config={'cluster.env': 'KINC_CLUSTER_NAME=tdev\n'})
    assert os.listdir(host.volumes['kinc-tdev-config'][1]) == ['cluster.env']


def test_check_mode_on_a_new_host_reports_changes_and_runs_only_read_only_commands(host):
    result = run(host, check_mode=True)
    assert result['changed'] is True
    assert host.mutating() == []
    assert not os.path.exists(host.quadlet_dir)
    assert host.volumes == {}
    assert 'start %s' % SERVICE in result['actions']
    assert {d['after'] for d in result['diff']} >= set(params(host)['node_config'].values())


def test_check_mode_on_a_converged_host_reports_no_change(host):
    converged(host)
    result = run(host, check_mode=True)
    assert result['changed'] is False and host.mutating() == []


def test_check_mode_reports_a_restart_without_doing_it(host):
    converged(host)
    result = run(host, check_mode=True, node_config={'cluster.env': 'changed\n'})
    assert result['changed'] is True and result['cluster']['restarted'] is True
    assert host.mutating() == []


def test_options_that_contradict_the_recorded_allocation_are_refused_before_any_change(host):
    host.add_volume('kinc-tdev-var-data', naming.allocation_labels(NAME, 7443, '10.244.43.0/24', '10.43.0.0/16'))
    with pytest.raises(ClusterError) as err:
        run(host)
    assert ('cluster tdev is allocated api_port=7443 (label io.kinc.api-port on volume kinc-tdev-var-data), '
            'but api_port=6443 was given') in str(err.value)
    assert host.mutating() == [] and not os.path.exists(host.quadlet_dir)


def test_a_volume_not_created_by_kinc_is_refused(host):
    host.add_volume('kinc-tdev-config', {})
    with pytest.raises(ClusterError) as err:
        run(host)
    assert 'volume kinc-tdev-config exists but is not labelled io.kinc.cluster=tdev' in str(err.value)


def test_a_failed_node_names_the_step_and_shows_its_units_journal(host):
    failed = [{'name': 'crio', 'unit': 'crio.service', 'state': 'done', 'started': '', 'finished': '', 'message': ''},
              {'name': 'apiserver', 'unit': 'kinc-kubeadm-init.service', 'state': 'failed', 'started': '',
               'finished': '', 'message': 'apiserver did not answer'}]
    host.statuses = ['', status_text('initializing'), status_text('failed', failed)]
    with pytest.raises(ClusterError) as err:
        run(host)
    text = str(err.value)
    assert text.startswith("cluster tdev failed at step 'apiserver' (unit kinc-kubeadm-init.service): "
                           "apiserver did not answer")
    assert 'node journal of kinc-kubeadm-init.service' in text
    assert [s['state'] for s in err.value.details['steps']] == ['done', 'failed']
    assert host.sleeps == 2
    assert ['podman', 'exec', CONTAINER, 'journalctl', '-u', 'kinc-kubeadm-init.service', '-n', '40',
            '--no-pager'] in host.calls


def test_the_previous_boots_ready_status_is_not_taken_for_readiness_after_a_restart(host):
    converged(host)
    host.status_mtime = 10  # written long before this run's restart
    host.statuses = [status_text('ready')]
    units = dict(params(host)['quadlet_units'], **{'kinc-tdev-var-data.volume': '[Volume]\n# changed\n'})

    def fresh_after_two_polls(seconds, original=host.sleep):
        original(seconds)
        if host.sleeps == 2:
            host.status_mtime = None  # the node's `kinc-status init` rewrote the file
    host.sleep = fresh_after_two_polls
    result = run(host, quadlet_units=units)
    assert result['cluster']['status']['phase'] == 'ready'
    assert host.sleeps == 2


def test_ready_needs_the_initialized_marker(host):
    host.initialized = False
    with pytest.raises(ClusterError) as err:
        run(host, wait_timeout=10)
    assert 'cluster tdev was not ready after wait_timeout=10s (ready: 1/1 steps done)' in str(err.value)
    assert host.sleeps == 5


def test_a_timeout_reports_progress_and_the_service_journal(host):
    host.statuses = [status_text('initializing', [dict(STEPS[0], state='running', finished='')])]
    with pytest.raises(ClusterError) as err:
        run(host, wait_timeout=4)
    text = str(err.value)
    assert 'initializing: 0/1 steps done, running: crio' in text
    assert 'host journal of %s' % SERVICE in text


def test_a_service_that_crashes_before_any_status_fails_fast_with_its_journal(host):
    host.statuses = ['']

    def crash(args, original=host._systemctl):
        rc, out, err = original(args)
        if args[0] == 'start':
            host.active, host.sub = 'activating', 'auto-restart'
        return rc, out, err
    host._systemctl = crash
    with pytest.raises(ClusterError) as err:
        run(host)
    assert str(err.value).startswith('%s failed before the node reported any status' % SERVICE)
    assert host.sleeps == 0


def test_wait_false_starts_without_waiting_or_exporting(host):
    result = run(host, wait=False)
    assert 'start' in verbs(host)
    assert not any(a[1:2] == ['exec'] for a in host.calls)
    assert result['cluster']['kubeconfig'] is None


def test_merge_kubeconfig_adds_the_context_once(host):
    user_config = host.root / 'home' / '.kube' / 'config'
    user_config.parent.mkdir(parents=True)
    user_config.write_text(yaml.safe_dump({'current-context': 'work', 'contexts': [{'name': 'work'}]}))
    run(host, merge_kubeconfig=True)
    merged = yaml.safe_load(user_config.read_text())
    assert [c['name'] for c in merged['contexts']] == ['work', 'kinc-tdev']
    assert merged['current-context'] == 'work'
    assert run(host, merge_kubeconfig=True)['changed'] is False


def test_stopped_stops_a_running_service_once(host):
    converged(host)
    assert run(host, state='stopped', quadlet_units=None, node_config=None)['changed'] is True
    assert verbs(host) == ['stop']
    assert run(host, state='stopped', quadlet_units=None, node_config=None)['changed'] is False


def test_started_needs_existing_units(host):
    with pytest.raises(ClusterError) as err:
        run(host, state='started', quadlet_units=None, node_config=None)
    assert 'has no Quadlet units' in str(err.value) and 'state=present' in str(err.value)


def test_started_starts_a_stopped_cluster_and_waits(host):
    converged(host)
    run(host, state='stopped')
    result = run(host, state='started', api_port=None, quadlet_units=None, node_config=None)
    assert verbs(host) == ['start']
    assert result['cluster']['api_port'] == 6443  # read back from the volume labels
    assert result['cluster']['status']['phase'] == 'ready'


def test_absent_keeps_volumes_and_kubeconfig_and_purge_removes_them(host):
    converged(host)
    user_config = host.root / 'home' / '.kube' / 'config'
    run(host, merge_kubeconfig=True)
    result = run(host, state='absent')
    assert result['changed'] is True
    assert verbs(host) == ['stop', 'daemon-reload']
    assert not os.listdir(host.quadlet_dir)
    assert sorted(host.volumes) == ['kinc-tdev-config', 'kinc-tdev-var-data']
    assert os.path.exists(params(host)['kubeconfig_path'])

    result = run(host, state='absent', purge=True)
    assert verbs(host) == ['volume rm', 'volume rm']
    assert host.volumes == {}
    assert not os.path.exists(params(host)['kubeconfig_path'])
    assert 'kinc-tdev' not in user_config.read_text()
    assert run(host, state='absent', purge=True)['changed'] is False


def test_absent_removes_a_leftover_container(host):
    host.container = 'exited'
    result = run(host, state='absent')
    assert verbs(host) == ['rm']
    assert result['actions'] == ['remove container %s' % CONTAINER]


def test_absent_in_check_mode_changes_nothing(host):
    converged(host)
    result = run(host, state='absent', purge=True, check_mode=True)
    assert result['changed'] is True and host.mutating() == []
    assert len(os.listdir(host.quadlet_dir)) == 3 and len(host.volumes) == 2


def test_a_missing_host_mount_source_is_refused_before_any_change(host):
    units = dict(params(host)['quadlet_units'])
    missing = str(host.root / 'no-modules')
    units['kinc-tdev-control-plane.container'] += 'Volume=%s:/lib/modules:ro\nVolume=kinc-tdev-config.volume:/x\n' % missing
    with pytest.raises(ClusterError) as err:
        run(host, quadlet_units=units)
    assert 'kinc-tdev-control-plane.container mounts %s from the host, which does not exist' % missing in str(err.value)
    assert host.mutating() == []


def test_a_failing_start_shows_the_service_journal(host):
    def refuse(args, original=host._systemctl):
        if args[0] == 'start':
            return 1, '', 'Job for %s failed' % SERVICE
        return original(args)
    host._systemctl = refuse
    with pytest.raises(ClusterError) as err:
        run(host)
    assert "'systemctl --user start %s' failed with exit code 1: Job for" % SERVICE in str(err.value)
    assert 'host journal of %s' % SERVICE in str(err.value)


def test_merge_without_pyyaml_is_refused_before_any_change(host, monkeypatch):
    from ansible_collections.kinc.kinc.plugins.module_utils import kubeconfig
    monkeypatch.setattr(kubeconfig, 'HAS_YAML', False)
    with pytest.raises(ClusterError) as err:
        run(host, merge_kubeconfig=True)
    assert 'merge_kubeconfig: true needs PyYAML (python3-yaml)' in str(err.value)
    assert host.calls == []


def test_started_with_the_allocation_converges_like_present(host):
    result = run(host, state='started')
    assert verbs(host) == ['volume create', 'volume create', 'daemon-reload', 'start']
    assert result['cluster']['state'] == 'running'


def test_stopped_with_the_allocation_writes_the_files_but_does_not_start(host):
    result = run(host, state='stopped')
    assert verbs(host) == ['volume create', 'volume create', 'daemon-reload']
    assert sorted(os.listdir(host.quadlet_dir)) == sorted(params(host)['quadlet_units'])
    assert result['cluster']['state'] == 'stopped' and host.active == 'inactive'
    assert run(host, state='stopped')['changed'] is False


def test_stopped_with_a_changed_config_updates_it_without_starting(host):
    converged(host)
    result = run(host, state='stopped', node_config={'cluster.env': 'changed\n'})
    assert verbs(host) == ['stop']
    assert result['cluster']['restarted'] is False and host.active == 'inactive'

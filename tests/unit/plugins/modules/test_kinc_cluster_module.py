# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_cluster's module entry point (main) against the shared fake host, including the kill-at-every-step
test: the module is killed after each mutating step of a call in turn, re-run, and must end exactly where
an uninterrupted call ends."""

import json
import os
import subprocess
import sys

import pytest

from fake_host import FakeHost, Killed, plant_record

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args
from ansible_collections.kinc.kinc.plugins.action import kinc_cluster as action
from ansible_collections.kinc.kinc.plugins.module_utils.allocation import ledger
from ansible_collections.kinc.kinc.plugins.module_utils.spec import cluster_spec
from ansible_collections.kinc.kinc.plugins.module_utils.converge import call_plan
from ansible_collections.kinc.kinc.plugins.module_utils import files
from ansible_collections.kinc.kinc.plugins.module_utils import module_base
from ansible_collections.kinc.kinc.plugins.module_utils.converge import node_digest
from ansible_collections.kinc.kinc.plugins.modules import kinc_cluster

ALLOCATIONS = {'a': (6443, '10.244.43.0/24', '10.43.0.0/16'), 'b': (6444, '10.244.44.0/24', '10.44.0.0/16')}


def cluster(name, **options):
    """One entry of `clusters` as the action plugin hands it to the module."""
    entry = {'name': name}
    entry.update(options)
    if entry.get('state', 'present') == 'present':
        port, pods, services = ALLOCATIONS[name]
        entry.update(api_port=port, pod_subnet=pods, service_subnet=services)
        params = cluster_spec.normalize(entry)[0]
        entry.update(quadlet_units=action.render_units(params), node_config=action.render_node_config(params, True))
    return entry


@pytest.fixture
def module_host(tmp_path, monkeypatch):
    return attach(FakeHost(tmp_path), monkeypatch)


def attach(host, monkeypatch):
    monkeypatch.setattr(AnsibleModule, 'run_command', lambda self, argv, data=None, **kwargs: host.run(argv, data))
    monkeypatch.setattr(AnsibleModule, 'get_bin_path', lambda self, name, *args, **kwargs: '/usr/bin/' + name)
    monkeypatch.setattr(module_base, 'rootless_environment', lambda module, required=True: True)
    monkeypatch.setattr(call_plan.ClusterManager.__init__, '__defaults__',
                        (False, host.now, host.sleep, lambda path: True, host.read_file, host.record_dir, 'fail', 300,
                         None))
    monkeypatch.setenv('HOME', str(host.home))
    return host


def call(host, capsys, clusters, check_mode=False, **extra):
    args = dict({'clusters': clusters, 'quadlet_dir': host.quadlet_dir, '_ansible_check_mode': check_mode}, **extra)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            kinc_cluster.main()
    return json.loads(capsys.readouterr().out)


def test_clusters_are_converged_in_one_call_and_reported_each(module_host, capsys):
    result = call(module_host, capsys, [cluster('a'), cluster('b')])
    assert result['changed'] and not result.get('failed')
    assert [c['name'] for c in result['clusters']] == ['a', 'b']
    assert all(c['status']['phase'] == 'ready' and c['changed'] for c in result['clusters'])
    assert 'a: start kinc-a-control-plane.service' in result['actions']
    again = call(module_host, capsys, [cluster('a'), cluster('b')])
    assert again['changed'] is False and [c['changed'] for c in again['clusters']] == [False, False]


def test_a_failed_cluster_is_named_and_the_others_still_reported_ready(module_host, capsys):
    module_host.refuse['start'] = 'Job failed'
    call(module_host, capsys, [cluster('a')])
    del module_host.refuse['start']
    original = module_host._systemctl

    def refuse_b(args):
        if args[:2] == ['start', 'kinc-b-control-plane.service']:
            return 1, '', 'Job for b failed'
        return original(args)
    module_host._systemctl = refuse_b
    result = call(module_host, capsys, [cluster('a'), cluster('b')])
    assert result['failed'] and result['msg'].startswith('clusters failed: b; b: ')
    states = dict((c['name'], (c['failed'], (c['status'] or {}).get('phase'))) for c in result['clusters'])
    assert states == {'a': (False, 'ready'), 'b': (True, None)}


def test_as_root_the_node_gets_the_rootful_configuration(module_host, capsys, monkeypatch):
    monkeypatch.setattr(module_base, 'rootless_environment', lambda module, required=True: False)
    entry = cluster('a')
    entry['node_config_rootful'] = action.render_node_config(cluster_spec.normalize(dict(entry))[0], False)
    assert not call(module_host, capsys, [entry]).get('failed')
    with open(module_host.volumes['kinc-a-config'][1] + '/kubeadm.conf') as handle:
        assert 'KubeletInUserNamespace: false' in handle.read()


def test_bad_options_fail_before_anything_runs(module_host, capsys):
    result = call(module_host, capsys, [cluster('a'), dict(cluster('b'), api_address='nowhere')])
    assert result['failed'] and 'clusters[1] (b): ' in result['msg'] and 'api_address' in result['msg']
    assert module_host.calls == []


def test_a_limit_the_owner_cannot_enforce_is_refused_before_anything_changes(module_host, capsys, monkeypatch):
    from ansible_collections.kinc.kinc.plugins.module_utils.host import cgroups
    monkeypatch.setattr(cgroups, 'owner_controllers', lambda uid: ['pids'])
    result = call(module_host, capsys, [cluster('a'), cluster('b', memory='2g')])
    assert result['failed'] and result['msg'] == (
        "b: memory: needs the cgroup controller memory, which the owner's containers do not have (they have: pids); "
        "fix: run the kinc.kinc.kinc_host role (it delegates cpu and memory to the user's systemd), or remove the limit")
    assert module_host.volumes == {} and not os.path.exists(module_host.quadlet_dir)
    monkeypatch.setattr(cgroups, 'owner_controllers', lambda uid: ['cpu', 'memory', 'pids'])
    assert not call(module_host, capsys, [cluster('a'), cluster('b', memory='2g')]).get('failed')
    with open(os.path.join(module_host.quadlet_dir, 'kinc-b-control-plane.container')) as handle:
        assert 'PodmanArgs=--memory=2g\n' in handle.read()


def test_a_missing_podman_is_a_message_not_a_traceback(module_host, capsys, monkeypatch):
    monkeypatch.setattr(AnsibleModule, 'get_bin_path', lambda self, name, *args, **kwargs: None)
    result = call(module_host, capsys, [cluster('a')])
    assert result['failed'] and "podman executable 'podman' was not found" in result['msg']


def test_a_user_manager_that_is_not_running_is_a_message(module_host, capsys, monkeypatch):
    def no_manager(module, required=True):
        raise module_base.KincError('rootless kinc needs the systemd user manager of uid 1000')
    monkeypatch.setattr(module_base, 'rootless_environment', no_manager)
    result = call(module_host, capsys, [cluster('a')])
    assert result['failed'] and result['msg'].startswith('rootless kinc needs the systemd user manager')


def test_a_broken_label_is_a_message(module_host, capsys):
    module_host.add_volume('kinc-a-config', {'io.kinc.cluster': 'a', 'io.kinc.api-port': 'x'})
    result = call(module_host, capsys, [cluster('a')])
    assert result['failed'] and 'cluster a is allocated api_port=x (label io.kinc.api-port' in result['msg']


def recorded(host):
    path = ledger.record_path(host.record_dir, os.geteuid())
    with open(path) as handle:
        return sorted(json.load(handle)['clusters'])


HOLDER = ('import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX); '
          'print("held", flush=True); sys.stdin.read()')


def test_a_lock_held_by_anyone_is_a_message_naming_the_holder_and_the_option(module_host, capsys):
    holder = subprocess.Popen([sys.executable, '-c', HOLDER, module_host.record_dir], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b'held\n'
        result = call(module_host, capsys, [cluster('a')], lock_timeout=0)
    finally:
        holder.communicate(b'')
    assert result['failed'] is True
    assert result['msg'] == ("clusters failed: a; a: waited 0 s for the allocation lock %s, held by pid %d (python) "
                             "of root, uid 0; fix: "
                             "let that finish or stop it, or raise kinc.kinc.kinc_cluster's lock_timeout"
                             % (module_host.record_dir, holder.pid))
    assert module_host.volumes == {}


def test_another_users_broken_record_is_a_warning_not_a_traceback(module_host, capsys):
    path = plant_record(module_host.record_dir, 4242, {'x': {'api_port': 7000, 'pod_subnet': 'garbage',
                                                             'service_subnet': '10.0.0.0/8'}})
    result = call(module_host, capsys, [cluster('a'), cluster('b')])
    assert not result.get('failed'), result['msg']
    assert any(path in str(w) for w in result.get('warnings', [])), result


def test_a_purge_frees_the_record_at_once(module_host, capsys):
    assert not call(module_host, capsys, [cluster('a'), cluster('b')]).get('failed')
    assert recorded(module_host) == ['a', 'b']
    result = call(module_host, capsys, [cluster('a', state='absent', purge=True), cluster('b')])
    assert not result.get('failed'), result.get('msg')
    # The port and networks of 'a' are free for every user now, not at this user's next kinc_allocate.
    assert recorded(module_host) == ['b']


# -- kill at every step -----------------------------------------------------------------------------
SCENARIOS = {
    'present, a new cluster': ([cluster('b')], [cluster('a', merge_kubeconfig=True), cluster('b')]),
    'present with a changed option': ([cluster('a'), cluster('b')],
                                      [cluster('a', image='localhost/kinc-node:v2', events=True), cluster('b')]),
    'absent': ([cluster('a'), cluster('b')], [cluster('a', state='absent'), cluster('b')]),
    'purge': ([cluster('a', merge_kubeconfig=True), cluster('b')],
              [cluster('a', state='absent', purge=True), cluster('b')]),
}


def end_state(root, monkeypatch, capsys, scenario, kill_at):
    """The host after: converge `before`, run `after` killed after `kill_at` steps (None: not killed),
    run `after` again. Returns (snapshot, whether the kill happened)."""
    before, after = SCENARIOS[scenario]
    root.mkdir()
    host = attach(FakeHost(root), monkeypatch)
    assert not call(host, capsys, before).get('failed')
    killed = False
    with host.kill_after(kill_at):
        try:
            call(host, capsys, after)
        except Killed:
            killed = True
    capsys.readouterr()
    host.dead = False
    final = call(host, capsys, after)
    assert not final.get('failed'), final['msg']
    assert call(host, capsys, after)['changed'] is False
    return host.snapshot(), killed


def kill_at_every_step(tmp_path, monkeypatch, capsys, scenario):
    """Yields (step, snapshot) for a kill after each mutating step, and the uninterrupted snapshot."""
    reference, _killed = end_state(tmp_path / 'reference', monkeypatch, capsys, scenario, None)
    step, outcomes = 1, []
    while True:
        snapshot, killed = end_state(tmp_path / ('kill-%d' % step), monkeypatch, capsys, scenario, step)
        if not killed:
            return reference, outcomes
        outcomes.append((step, snapshot))
        step += 1


@pytest.mark.parametrize('scenario', sorted(SCENARIOS))
def test_a_run_killed_after_any_step_is_completed_by_the_next_run(tmp_path, monkeypatch, capsys, scenario):
    reference, outcomes = kill_at_every_step(tmp_path, monkeypatch, capsys, scenario)
    assert len(outcomes) >= 3
    for step, snapshot in outcomes:
        assert snapshot == reference, 'killed after step %d' % step
    if scenario.startswith('present'):
        container = reference['containers']['kinc-a-control-plane']
        assert container[1][node_digest.LABEL] in reference['loaded']['kinc-a-control-plane.service']


def test_the_kill_test_catches_a_restart_decided_by_files_written(tmp_path, monkeypatch, capsys):
    """The old rule ("restart when this run wrote a unit or config file") leaves a killed change unapplied."""
    written = []
    real_apply = files.apply

    def recording_apply(change, *args):
        if change.action in ('create', 'update'):
            written.append(change.path)
        return real_apply(change, *args)

    def files_differ(run, container):
        return any(('kinc-%s-' % run.name) in path for path in written)
    real_converge = call_plan.ClusterManager.converge

    def converge(self, params_list):
        del written[:]
        return real_converge(self, params_list)
    monkeypatch.setattr(files, 'apply', recording_apply)
    monkeypatch.setattr(call_plan, 'restart_needed', files_differ)
    monkeypatch.setattr(call_plan.ClusterManager, 'converge', converge)
    reference, outcomes = kill_at_every_step(tmp_path, monkeypatch, capsys, 'present with a changed option')
    diverged = [step for step, snapshot in outcomes if snapshot != reference]
    assert diverged, 'every kill was repaired although the restart follows the files written'


@pytest.mark.parametrize('paths, refused, message', [
    ({'a': '~/.kube/config'}, 'a', 'clusters[0].kubeconfig_path: {kube}/config is the kubeconfig merge_kubeconfig merges '
                              'contexts into'),
    ({'a': '~/.kube/kinc-b.conf'}, 'a', 'clusters[0].kubeconfig_path: {kube}/kinc-b.conf is the default kubeconfig of '
                                   'cluster b'),
    ({'a': '/tmp/shared.conf', 'b': '/tmp/shared.conf'}, 'b', 'clusters[1].kubeconfig_path: /tmp/shared.conf is also the '
                                                         'kubeconfig of cluster a'),
], ids=['user-config', 'other-default', 'shared'])
def test_a_kubeconfig_path_that_is_not_the_clusters_own_is_refused_before_anything_changes(
        module_host, capsys, paths, refused, message):
    kube = os.path.join(str(module_host.home), '.kube')
    clusters = [cluster(name, kubeconfig_path=os.path.expanduser(paths[name]) if name in paths else None)
                for name in ('a', 'b')]
    result = call(module_host, capsys, clusters)
    assert result['failed'] is True
    assert result['msg'].startswith(message.format(kube=kube)), result['msg']
    assert ('fix: leave kubeconfig_path out (it defaults to %s/kinc-%s.conf) or give a file of this cluster alone'
            % (kube, refused)) in result['msg']
    assert module_host.volumes == {}

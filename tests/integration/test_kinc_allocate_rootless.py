# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_allocate as the rootless user kinc inside a booted test host (Podman 5.4), reached with
ansible-playbook through the containers.podman.podman connection and become (sudo) to kinc."""

import json

import pytest

LISTENER = ("import socket, time\n"
            "s = socket.socket(); s.bind(('127.0.0.1', 6445)); s.listen(1); time.sleep(600)\n")


@pytest.fixture(scope='module')
def allocate(testhost, module_run_playbook):
    def run(runs, check=False, diff=False):
        result = module_run_playbook('allocate.yml', testhost.inventory(), check=check, diff=diff, extra_vars={
            'runs': runs, 'allocate_environment': {'XDG_RUNTIME_DIR': '/run/user/%d' % testhost.UID}})
        return result['results']
    return run


def user_volumes(testhost):
    out = testhost.as_user('podman', 'volume', 'ls', '--format', 'json').stdout
    return dict((v['Name'], v['Labels']) for v in json.loads(out or b'[]'))


def brief(result):
    return [(c['name'], c['api_port'], c['pod_subnet'], c['service_subnet'], c['existed']) for c in result['clusters']]


def test_rootless_allocation_basics(testhost, allocate):
    checked, = allocate([{'cluster_name': 'dev'}], check=True)
    assert checked['changed'] is True
    assert brief(checked) == [('dev', 6443, '10.244.43.0/24', '10.43.0.0/16', False)]
    assert user_volumes(testhost) == {}

    created, again = allocate([{'cluster_name': 'dev'}, {'cluster_name': 'dev'}])
    assert created['changed'] is True and again['changed'] is False
    assert brief(created) == [('dev', 6443, '10.244.43.0/24', '10.43.0.0/16', False)]
    assert brief(again) == [('dev', 6443, '10.244.43.0/24', '10.43.0.0/16', True)]
    volumes = user_volumes(testhost)
    assert sorted(volumes) == ['kinc-dev-config', 'kinc-dev-var-data']
    assert volumes['kinc-dev-config'] == created['clusters'][0]['labels']
    # The volumes came from one `podman kube play`, which made no network of its own (it would take a subnet).
    assert testhost.as_user('podman', 'network', 'ls', '--format', '{{.Name}}').stdout == b'podman\n'
    # The record went to kinc's rootless store, not root's, under kinc's default lock.
    assert testhost.exec('podman', 'volume', 'ls', '--quiet').stdout.strip() == b''
    assert testhost.exec('stat', '-c', '%U %a', '/run/user/1000/kinc/allocate.lock').stdout == b'kinc 600\n'

    testhost.as_user('timeout', '300', 'python3', '-c', LISTENER, detach=True)
    testhost.wait_listening(6445)
    fleet, near_podman = allocate([{'clusters': [{'name': 'dev'}, {'name': 'ci'}, {'name': 'qa'}]},
                                   {'clusters': [{'name': 'n1'}, {'name': 'n2'}], 'base_port': 6487}])
    assert brief(fleet) == [('dev', 6443, '10.244.43.0/24', '10.43.0.0/16', True),
                            ('ci', 6444, '10.244.44.0/24', '10.44.0.0/16', False),
                            ('qa', 6446, '10.244.46.0/24', '10.46.0.0/16', False)]
    # 6488 would get 10.88.0.0/16: Podman's default network and the test host's own route.
    assert brief(near_podman) == [('n1', 6487, '10.244.87.0/24', '10.87.0.0/16', False),
                                  ('n2', 6489, '10.244.89.0/24', '10.89.0.0/16', False)]

# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_allocate's main(): argument handling, recording by volumes, check mode, diff, changed.

Podman is a small in-memory stand-in speaking the captured JSON formats; the real thing is exercised
by tests/integration."""

import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.kinc.kinc.plugins.module_utils import allocation_host
from ansible_collections.kinc.kinc.plugins.modules import kinc_allocate


class FakePodman:
    """Volumes and containers with labels; answers the podman commands kinc_allocate runs."""

    def __init__(self, volumes=None, containers=None):
        self.volumes = dict(volumes or {})
        self.containers = list(containers or [])
        self.commands = []

    def run_command(self, argv, data=None, binary_data=False):
        self.commands.append(argv[1:])
        args = argv[1:]
        if args[:2] == ['volume', 'ls']:
            return 0, json.dumps([{'Name': n, 'Labels': l, 'Mountpoint': ''} for n, l in self.volumes.items()]), ''
        if args[:2] == ['ps', '--all']:
            return 0, json.dumps(self.containers), ''
        if args[:2] == ['network', 'ls']:
            return 0, json.dumps([{'name': 'podman', 'subnets': [{'subnet': '10.88.0.0/16'}]}]), ''
        if args[:2] == ['volume', 'create']:
            labels = dict(a.split('=', 1) for a in args[3:-1:2])
            self.volumes[args[-1]] = labels
            return 0, args[-1] + '\n', ''
        raise AssertionError('unexpected podman command %r' % (args,))


def labels(name, port, index):
    return {'io.kinc.cluster': name, 'io.kinc.api-port': str(port), 'io.kinc.pod-subnet': '10.244.%d.0/24' % index,
            'io.kinc.service-subnet': '10.%d.0.0/16' % index, 'io.kinc.managed-by': 'kinc.kinc'}


@pytest.fixture
def run(monkeypatch, tmp_path, capsys):
    def run_module(args, podman, check_mode=False, diff=False, listening=()):
        monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, *a, **kw: '/usr/bin/podman')
        monkeypatch.setattr(basic.AnsibleModule, 'run_command',
                            lambda self, argv, data=None, binary_data=False: podman.run_command(argv, data))
        monkeypatch.setattr(allocation_host.host_network, 'listening_ports', lambda proc: set(listening))
        monkeypatch.setattr(allocation_host.host_network, 'routes', lambda proc: [])
        args = dict(args, lock_path=str(tmp_path / 'allocate.lock'), _ansible_check_mode=check_mode,
                    _ansible_diff=diff)
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                kinc_allocate.main()
        return json.loads(capsys.readouterr().out)
    return run_module


def test_new_cluster_is_recorded_by_two_labelled_volumes(run, tmp_path):
    podman = FakePodman()
    result = run({'name': 'dev'}, podman, diff=True)
    assert result['changed'] is True
    assert (tmp_path / 'allocate.lock').exists()
    entry = result['clusters'][0]
    assert entry == result['allocations']['dev']
    assert entry == {'name': 'dev', 'api_port': 6443, 'pod_subnet': '10.244.43.0/24', 'service_subnet': '10.43.0.0/16',
                     'container_name': 'kinc-dev-control-plane', 'service_name': 'kinc-dev-control-plane.service',
                     'volumes': ['kinc-dev-var-data', 'kinc-dev-config'], 'labels': labels('dev', 6443, 43),
                     'existed': False}
    assert podman.volumes == {'kinc-dev-var-data': labels('dev', 6443, 43), 'kinc-dev-config': labels('dev', 6443, 43)}
    assert result['created_volumes'] == ['kinc-dev-var-data', 'kinc-dev-config']
    assert result['diff'] == {'before': {}, 'after': {'dev': {'api_port': 6443, 'pod_subnet': '10.244.43.0/24',
                                                              'service_subnet': '10.43.0.0/16'}}}


def test_existing_cluster_is_unchanged(run):
    podman = FakePodman({'kinc-dev-var-data': labels('dev', 7001, 1), 'kinc-dev-config': labels('dev', 7001, 1)})
    result = run({'clusters': [{'name': 'dev'}]}, podman, diff=True)
    assert result['changed'] is False
    assert (result['clusters'][0]['api_port'], result['clusters'][0]['existed']) == (7001, True)
    assert result['diff']['before'] == result['diff']['after']
    assert not [c for c in podman.commands if c[:2] == ['volume', 'create']]


def test_cluster_known_only_by_its_container_gets_its_volumes_back(run):
    container = {'Names': ['kinc-dev-control-plane'], 'Id': 'x', 'State': 'exited', 'Labels': labels('dev', 7001, 1),
                 'Ports': [{'host_ip': '127.0.0.1', 'host_port': 7001, 'container_port': 6443, 'protocol': 'tcp'}]}
    podman = FakePodman(containers=[container])
    result = run({'name': 'dev'}, podman)
    assert result['changed'] is True and result['clusters'][0]['existed'] is True
    assert podman.volumes['kinc-dev-config'] == labels('dev', 7001, 1)


def test_check_mode_reports_and_creates_nothing(run, tmp_path):
    podman = FakePodman({'kinc-a-var-data': labels('a', 6443, 43), 'kinc-a-config': labels('a', 6443, 43)})
    result = run({'clusters': [{'name': 'a'}, {'name': 'b'}, {'name': 'c', 'api_port': 6444}]}, podman,
                 check_mode=True, listening=[6445])
    assert result['changed'] is True
    assert [(e['name'], e['api_port'], e['existed']) for e in result['clusters']] == [
        ('a', 6443, True), ('b', 6446, False), ('c', 6444, False)]
    assert sorted(podman.volumes) == ['kinc-a-config', 'kinc-a-var-data']
    assert not (tmp_path / 'allocate.lock').exists()
    assert result['created_volumes'] == ['kinc-b-var-data', 'kinc-b-config', 'kinc-c-var-data', 'kinc-c-config']


@pytest.mark.parametrize('args, message', [
    ({'name': 'Dev'}, "name 'Dev' is not a DNS-1123 label; use lower-case letters, digits and '-', starting and "
                      "ending with a letter or digit (for example 'dev-1')"),
    ({'clusters': [{'name': 'a'}, {'name': 'a'}]}, "clusters[1].name 'a' repeats clusters[0].name; list every "
                                                   "cluster once"),
    ({'clusters': [{'name': 'a', 'api_port': 80}]}, "clusters[0].api_port 80 is out of range; use a TCP port "
                                                    "from 1024 to 65535"),
    ({'name': 'a', 'clusters': [{'name': 'b'}]}, "parameters are mutually exclusive: name|clusters"),
])
def test_bad_input_fails_before_podman_is_asked(run, args, message):
    podman = FakePodman()
    result = run(args, podman)
    assert result['failed'] is True and result['msg'] == message
    assert podman.commands == []


def test_forced_port_in_use_fails_without_creating(run):
    podman = FakePodman()
    result = run({'clusters': [{'name': 'a'}, {'name': 'b', 'api_port': 20001}]}, podman, listening=[20001])
    assert result['msg'].startswith("clusters[1].api_port 20001 is in use on this host")
    assert podman.volumes == {}


def test_foreign_volume_with_a_cluster_name_is_an_error(run):
    podman = FakePodman({'kinc-dev-config': {}})
    result = run({'name': 'dev'}, podman)
    assert result['msg'] == ("volume kinc-dev-config exists but is not labelled io.kinc.cluster=dev; it is not "
                             "kinc's: remove or rename it, or choose another cluster name")
    assert sorted(podman.volumes) == ['kinc-dev-config']

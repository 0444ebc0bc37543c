# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PodmanClient against `--format json` output captured from real Podman: 4.3.1 (root, the outer
host: Debian 12) and 5.4.2 (rootless, the trixie test host). See fixtures/README.md."""

import json
import os

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import (
    Container, PodmanClient, PodmanError, PodmanNotFound, PortMapping, Volume)

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')
VERSIONS = ['podman-4.3', 'podman-5.4-rootless']


def captured(version, name):
    with open(os.path.join(FIXTURES, version, name)) as handle:
        return handle.read()


class Runner:
    """Answers each argv (a tuple) with a prepared (rc, stdout, stderr) and records the calls."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, argv, data=None):
        self.calls.append((list(argv), data))
        return self.answers[tuple(argv)]


def client_for(answers):
    runner = Runner(dict((('podman',) + tuple(k), v) for k, v in answers.items()))
    return PodmanClient(runner), runner


@pytest.mark.parametrize('version, api_port', [('podman-4.3', 20043), ('podman-5.4-rootless', 6443)])
def test_containers(version, api_port):
    client, runner = client_for({('ps', '--all', '--format', 'json'): (0, captured(version, 'ps.json'), '')})
    by_name = dict((c.name, c) for c in client.containers())
    assert sorted(by_name) == ['kinc-capdev-control-plane', 'stopped-one']
    kinc, stopped = by_name['kinc-capdev-control-plane'], by_name['stopped-one']
    assert len(kinc.id) == 64 and kinc.state == 'running'
    assert kinc.labels['io.kinc.api-port'] == str(api_port)
    assert kinc.ports == [PortMapping('127.0.0.1', api_port, 6443, 'tcp'),
                          PortMapping('127.0.0.1', 20100, 8000, 'tcp'), PortMapping('127.0.0.1', 20101, 8001, 'tcp')]
    # "Labels": null and "Ports": null in both versions.
    assert stopped == Container('stopped-one', stopped.id, 'created', {}, [])


def test_containers_by_label():
    client, runner = client_for({('ps', '--all', '--format', 'json', '--filter', 'label=io.kinc.cluster=capdev'):
                                 (0, captured('podman-5.4-rootless', 'ps.json'), '')})
    assert len(client.containers(label='io.kinc.cluster=capdev')) == 2


@pytest.mark.parametrize('version', VERSIONS)
def test_container_inspect(version):
    args = ('container', 'inspect', '--format', 'json')
    client, runner = client_for({
        args + ('kinc-capdev-control-plane',): (0, captured(version, 'inspect.json'), ''),
        args + ('nosuch',): (125, '[]\n', captured(version, 'inspect-missing.err')),
        args + ('broken',): (125, '', 'Error: something else\n'),
    })
    data = client.container_inspect('kinc-capdev-control-plane')
    assert data['Name'] == 'kinc-capdev-control-plane'
    assert data['Config']['Labels']['io.kinc.cluster'] == 'capdev'
    assert client.container_inspect('nosuch') is None
    with pytest.raises(PodmanError) as err:
        client.container_inspect('broken')
    assert str(err.value) == ("inspecting container broken: 'podman container inspect --format json broken' "
                              "failed with exit code 125: Error: something else")


@pytest.mark.parametrize('version, expected', [('podman-4.3', (4, 3, 1)), ('podman-5.4-rootless', (5, 4, 2))])
def test_version(version, expected):
    client, runner = client_for({('version', '--format', 'json'): (0, captured(version, 'version.json'), '')})
    assert client.version() == expected


@pytest.mark.parametrize('version', VERSIONS)
def test_volumes(version):
    client, runner = client_for({('volume', 'ls', '--format', 'json'): (0, captured(version, 'volumes.json'), '')})
    volumes = dict((v.name, v) for v in client.volumes())
    assert sorted(volumes) == ['kinc-capdev-config', 'kinc-capdev-var-data', 'plainvol']
    assert volumes['kinc-capdev-var-data'].labels['io.kinc.pod-subnet'] == '10.244.43.0/24'
    assert volumes['kinc-capdev-var-data'].mountpoint.endswith('/volumes/kinc-capdev-var-data/_data')
    assert volumes['plainvol'].labels == {}
    assert client.volume('plainvol') == volumes['plainvol']
    assert client.volume('nope') is None


@pytest.mark.parametrize('version', VERSIONS)
def test_networks(version):
    client, runner = client_for({('network', 'ls', '--format', 'json'): (0, captured(version, 'networks.json'), '')})
    assert [(n.name, n.subnets) for n in client.networks()] == [('podman', ['10.88.0.0/16']),
                                                                ('ta-capnet', ['10.77.0.0/24'])]


def test_create_volumes_plays_one_claim_per_volume_in_one_run():
    client, runner = client_for({('kube', 'play', '--network', 'none', '-'): (0, 'Volumes:\nkinc-dev-var-data\nkinc-dev-config\n', '')})
    labels = {'io.kinc.cluster': 'dev', 'io.kinc.pod-subnet': '10.244.43.0/24'}
    client.create_volumes([('kinc-dev-var-data', labels), ('kinc-dev-config', labels)])
    [(argv, data)] = runner.calls
    assert argv == ['podman', 'kube', 'play', '--network', 'none', '-']
    assert [json.loads(doc) for doc in data.split('\n---\n')] == [
        {'apiVersion': 'v1', 'kind': 'PersistentVolumeClaim', 'metadata': {'name': name, 'labels': labels}}
        for name in ('kinc-dev-var-data', 'kinc-dev-config')]


def test_create_volumes_of_nothing_runs_nothing():
    client, runner = client_for({})
    client.create_volumes([])
    assert runner.calls == []


def test_create_volumes_failure_names_the_volumes_and_quotes_podman():
    client, runner = client_for({('kube', 'play', '--network', 'none', '-'): (125, '', 'Error: some failure\n')})
    with pytest.raises(PodmanError) as err:
        client.create_volumes([('x', {}), ('y', {})])
    assert str(err.value) == "creating volumes x, y: 'podman kube play --network none -' failed with exit code 125: Error: some failure"


def test_remove_volume_and_container():
    client, runner = client_for({('volume', 'ls', '--format', 'json'): (0, '[{"Name": "gone"}]', ''),
                                 ('volume', 'rm', '--force', 'gone'): (0, '', ''),
                                 ('rm', '--force', '--ignore', '--time', '10', 'c'): (0, '', '')})
    client.remove_volume('gone')
    client.remove_container('c')
    assert len(runner.calls) == 3


def test_a_volume_that_is_gone_is_not_removed_by_a_prefix_of_another():
    # podman volume rm resolves a unique prefix: 'kinc-a' would remove 'kinc-a-config2' of someone's cluster.
    client, runner = client_for({('volume', 'ls', '--format', 'json'): (0, '[{"Name": "kinc-a-config2"}]', '')})
    client.remove_volume('kinc-a')
    assert [argv[1:3] for argv, _data in runner.calls] == [['volume', 'ls']]


def test_unparsable_json_is_a_podman_error():
    client, runner = client_for({('volume', 'ls', '--format', 'json'): (0, 'not json', '')})
    with pytest.raises(PodmanError) as err:
        client.volumes()
    assert str(err.value).startswith("listing volumes: 'podman volume ls --format json' failed with exit code 0: "
                                     "could not parse JSON output (")


def test_empty_output_means_no_objects():
    client, runner = client_for({('volume', 'ls', '--format', 'json'): (0, '', '')})
    assert client.volumes() == []


class FakeModule:
    def __init__(self, path):
        self.path = path
        self.commands = []

    def get_bin_path(self, name):
        return self.path

    def run_command(self, argv, data=None, binary_data=False):
        self.commands.append((argv, data, binary_data))
        return 0, '[]', ''


def test_from_module_runs_through_run_command():
    module = FakeModule('/usr/bin/podman')
    assert PodmanClient.from_module(module).volumes() == []
    assert module.commands == [(['/usr/bin/podman', 'volume', 'ls', '--format', 'json'], None, False)]


def test_from_module_without_podman():
    with pytest.raises(PodmanNotFound) as err:
        PodmanClient.from_module(FakeModule(None))
    assert "podman executable 'podman' was not found" in str(err.value)


def test_volume_tuple_fields():
    assert Volume._fields == ('name', 'labels', 'mountpoint')

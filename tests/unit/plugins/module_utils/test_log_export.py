# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_logs' gathering against a scripted podman and real files: every piece it can have, the reason for
each it cannot, no secrets, and an archive whatever state the node is in. The real run is in
tests/integration/test_day2.py."""

import json
import os
import tarfile

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils import log_export

KEY = '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----'


@pytest.mark.parametrize('text, kept, gone', [
    ('before\n%s\nafter' % KEY, ['before', 'after', '[private key removed by kinc]'], ['MIIEow', 'PRIVATE KEY-----']),
    ('    client-key-data: LS0tLS1CRUdJTg==\n', ['client-key-data: REDACTED-BY-KINC'], ['LS0tLS1CRUdJTg']),
    ('{"client-key-data": "LS0tLS1C", "server": "https://x"}', ['"client-key-data": "REDACTED-BY-KINC"', 'https://x'],
     ['LS0tLS1C']),
    ('  - token: abcdef.0123456789abcdef\n', ['token: REDACTED-BY-KINC'], ['0123456789abcdef']),
    ('step bootstrap-token done\n', ['step bootstrap-token done'], []),
])
def test_redact_removes_keys_and_secret_values_only(text, kept, gone):
    redacted = log_export.redact(text)
    for fragment in kept:
        assert fragment in redacted
    for fragment in gone:
        assert fragment not in redacted


class FakePodman(object):
    def __init__(self, state, volumes, api=True):
        self.state = state
        self.volumes = volumes
        self.api = api
        self.calls = []

    def call(self, args, ok_rcs=(0,)):
        self.calls.append(args)
        if args[:2] == ['container', 'inspect']:
            if self.state == 'absent':
                return 125, '', 'Error: no such container'
            return 0, json.dumps([{'State': {'Status': self.state}, 'Name': args[-1]}]), ''
        if args[:2] == ['volume', 'inspect']:
            if args[-1] not in self.volumes:
                return 125, '', 'Error: no such volume %s' % args[-1]
            return 0, json.dumps([{'Name': args[-1], 'Mountpoint': self.volumes[args[-1]]}]), ''
        if args[0] == 'exec':
            argv = args[2:]
            if argv[0] == 'journalctl':
                return 0, 'journal of %s\n' % (argv[2] if argv[1] == '-u' else 'the node'), ''
            if argv[:3] == ['timeout', '30', 'kubectl']:
                return (0, 'ok', '') if self.api else (1, '', 'The connection to the server was refused')
            if argv[2:4] == ['kubectl', 'get']:
                return 0, 'NAME STATUS\nnode Ready\n', ''
            if argv[2:4] == ['kubectl', 'cluster-info']:
                return 0, 'x' * 5000, ''
        raise AssertionError(args)


def host_run(argv):
    if argv[0] == 'systemctl':
        return 3, 'kinc-dev-control-plane.service - kinc cluster dev\n   Active: failed\n', ''
    return 0, 'host journal of %s\n' % argv[-7], ''


@pytest.fixture
def cluster_dirs(tmp_path):
    var, config, quadlet = tmp_path / 'var', tmp_path / 'config', tmp_path / 'quadlet'
    (var / 'lib' / 'kinc').mkdir(parents=True)
    (var / 'lib' / 'kinc' / 'status.json').write_text('{"schema": 1, "phase": "failed"}')
    (var / 'lib' / 'kinc' / 'kubeadm.yaml').write_text('bootstrapTokens:\n- token: abcdef.0123456789abcdef\n')
    config.mkdir()
    (config / 'cluster.env').write_text('KINC_CLUSTER_NAME=dev\n')
    (config / 'admin.key').write_text(KEY)
    quadlet.mkdir()
    (quadlet / 'kinc-dev-control-plane.container').write_text('[Container]\n')
    return {'kinc-dev-var-data': str(var), 'kinc-dev-config': str(config)}, str(quadlet), tmp_path / 'out'


def export(cluster_dirs, state, api=True):
    volumes, quadlet, out = cluster_dirs
    out.mkdir(exist_ok=True)
    return log_export.export('dev', FakePodman(state, volumes, api), host_run, True, quadlet, str(out), 1000)


def test_a_running_cluster_yields_every_piece_and_a_cut_dump(cluster_dirs):
    entry = export(cluster_dirs, 'running')
    assert 'journal/kinc-kubeadm-init.service.log' in entry['files'] and 'journal/kubelet.service.log' in entry['files']
    for piece in ('node/status.json', 'node/kubeadm.yaml', 'config/cluster.env', 'podman/inspect.json',
                  'podman/volumes.json', 'host/service.log', 'host/service-status.txt', 'kubectl/readyz.txt',
                  'kubectl/get-nodes-pods-events.txt', 'kubectl/cluster-info-dump.txt', 'summary.json',
                  'quadlet/kinc-dev-control-plane.container', 'journal/node.log'):
        assert piece in entry['files']
    assert sorted(m['piece'] for m in entry['missing']) == [
        'node/events.jsonl', 'quadlet/kinc-dev-config.volume', 'quadlet/kinc-dev-var-data.volume']
    with open(os.path.join(entry['directory'], 'kubectl', 'cluster-info-dump.txt')) as handle:
        assert handle.read().endswith('[kinc: cut at 1000 bytes of 5000]\n')


def test_a_stopped_node_still_yields_an_archive_without_secrets(cluster_dirs):
    entry = export(cluster_dirs, 'exited', api=False)
    missing = dict((m['piece'], m['reason']) for m in entry['missing'])
    assert missing['journal/crio.service.log'] == ('the node kinc-dev-control-plane is not running and its /var '
                                                   'volume has no persistent journal')
    assert missing['kubectl/readyz.txt'] == 'the node kinc-dev-control-plane is not running'
    assert 'kubectl/cluster-info-dump.txt' in missing
    assert 'node/status.json' in entry['files'] and 'host/service.log' in entry['files']
    with tarfile.open(entry['archive']) as archive:
        names = archive.getnames()
        assert 'dev/node/status.json' in names and 'dev/summary.json' in names
        assert not [n for n in names if n.endswith('.key')]
        everything = b''.join(archive.extractfile(m).read() for m in archive.getmembers() if m.isfile())
    assert b'PRIVATE KEY' not in everything and b'0123456789abcdef' not in everything
    summary = json.loads(open(os.path.join(entry['directory'], 'summary.json')).read())
    assert summary['missing'] == entry['missing']


def test_a_cluster_without_node_or_volumes_still_gets_a_summary(cluster_dirs):
    _volumes, quadlet, out = cluster_dirs
    out.mkdir()
    entry = log_export.export('dev', FakePodman('absent', {}), host_run, True, quadlet, str(out), 1000)
    missing = dict((m['piece'], m['reason']) for m in entry['missing'])
    assert missing['podman/inspect.json'].startswith('Error: no such container')
    assert missing['podman/volumes.json'] == 'the cluster has no volumes'
    assert os.path.exists(entry['archive']) and 'summary.json' in entry['files']

# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_logs' gathering against the shared fake host (tests/unit/fake_host.py) and real files: every piece
it can have, the reason for each it cannot, no secrets, and an archive whatever state the node is in. The real
run is in tests/integration/test_day2.py."""

import json
import os
import tarfile

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils.day2 import log_export
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import PodmanClient

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


NODE = 'kinc-dev-control-plane'


@pytest.fixture
def cluster(host):
    """Cluster dev's Quadlet file, and its two volumes with the node's files and a secret on them."""
    os.makedirs(host.quadlet_dir)
    with open(os.path.join(host.quadlet_dir, NODE + '.container'), 'w') as handle:
        handle.write('[Container]\n')
    host.add_volume('kinc-dev-var-data', {})
    host.add_volume('kinc-dev-config', {})
    var, config = host.volumes['kinc-dev-var-data'][1], host.volumes['kinc-dev-config'][1]
    os.makedirs(os.path.join(var, 'lib', 'kinc'))
    for directory, name, text in (
            (var, 'lib/kinc/status.json', '{"schema": 1, "phase": "failed"}'),
            (var, 'lib/kinc/kubeadm.yaml', 'bootstrapTokens:\n- token: abcdef.0123456789abcdef\n'),
            (config, 'cluster.env', 'KINC_CLUSTER_NAME=dev\n'),
            (config, 'admin.key', KEY)):
        with open(os.path.join(directory, name), 'w') as handle:
            handle.write(text)
    return host


def export(host):
    out = host.root / 'out'
    out.mkdir(exist_ok=True)
    return log_export.export('dev', PodmanClient(host.run), host.run, True, host.quadlet_dir, str(out), 1000)


def test_a_running_cluster_yields_every_piece_and_a_cut_dump(cluster):
    cluster.add_container(NODE, {})
    cluster.cluster_dump = 'x' * 5000
    entry = export(cluster)
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


def test_a_stopped_node_still_yields_an_archive_without_secrets(cluster):
    cluster.add_container(NODE, {}, state='exited')
    cluster.api_up = False
    entry = export(cluster)
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


def test_a_cluster_without_node_or_volumes_still_gets_a_summary(host):
    entry = export(host)
    missing = dict((m['piece'], m['reason']) for m in entry['missing'])
    assert missing['podman/inspect.json'].startswith('Error: no such container')
    assert missing['podman/volumes.json'] == 'the cluster has no volumes'
    assert os.path.exists(entry['archive']) and 'summary.json' in entry['files']


def test_a_link_a_node_planted_in_its_volumes_does_not_export_a_host_file(cluster, tmp_path):
    # The node's root is the cluster user on the host: its links would otherwise read the user's files.
    secret = tmp_path / 'id_ed25519'
    secret.write_text('the user\'s own file\n')
    var, config = cluster.volumes['kinc-dev-var-data'][1], cluster.volumes['kinc-dev-config'][1]
    os.symlink(str(secret), os.path.join(config, 'notes.txt'))
    os.makedirs(os.path.join(var, 'log', 'kinc'))
    os.symlink(str(secret), os.path.join(var, 'log', 'kinc', 'events.jsonl'))
    entry = export(cluster)
    assert 'config/notes.txt' not in entry['files'] and 'node/events.jsonl' not in entry['files']
    for root, _dirs, names in os.walk(entry['directory']):
        for name in names:
            with open(os.path.join(root, name)) as handle:
                assert "the user's own file" not in handle.read()

# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The admin kubeconfig as the host sees it, and merging it into ~/.kube/config."""

import json

import pytest
import yaml

from ansible_collections.kinc.kinc.plugins.module_utils.kubeconfig import document

ADMIN = {
    'apiVersion': 'v1', 'kind': 'Config', 'preferences': {},
    'clusters': [{'name': 'kubernetes', 'cluster': {'server': 'https://kinc-dev-control-plane:6443',
                                                    'certificate-authority-data': 'Q0E='}}],
    'users': [{'name': 'kubernetes-admin', 'user': {'client-certificate-data': 'Q0VSVA==',
                                                    'client-key-data': 'S0VZ'}}],
    'contexts': [{'name': 'kubernetes-admin@kubernetes',
                  'context': {'cluster': 'kubernetes', 'user': 'kubernetes-admin'}}],
    'current-context': 'kubernetes-admin@kubernetes',
}


def test_rewrite_renames_everything_and_points_at_the_published_port():
    config = document.rewrite(ADMIN, 'kinc-dev', document.server_url('127.0.0.1', 7443))
    assert config['clusters'] == [{'name': 'kinc-dev', 'cluster': {'server': 'https://127.0.0.1:7443',
                                                                   'certificate-authority-data': 'Q0E='}}]
    assert config['users'] == [{'name': 'kinc-dev', 'user': ADMIN['users'][0]['user']}]
    assert config['contexts'] == [{'name': 'kinc-dev', 'context': {'cluster': 'kinc-dev', 'user': 'kinc-dev'}}]
    assert config['current-context'] == 'kinc-dev'
    # The node's copy is left alone.
    assert ADMIN['clusters'][0]['name'] == 'kubernetes'


def test_server_url_brackets_ipv6():
    assert document.server_url('::1', 6443) == 'https://[::1]:6443'


def test_rewrite_refuses_an_admin_config_with_several_clusters():
    admin = dict(ADMIN, clusters=ADMIN['clusters'] * 2)
    with pytest.raises(document.KubeconfigError) as err:
        document.rewrite(admin, 'kinc-dev', 'https://127.0.0.1:6443')
    assert 'exactly one entry in clusters; found 2' in str(err.value)


def test_to_text_is_stable_json():
    config = document.rewrite(ADMIN, 'kinc-dev', 'https://127.0.0.1:6443')
    assert document.to_text(config) == document.to_text(json.loads(document.to_text(config)))


def test_merge_replaces_its_own_entries_keeps_others_and_does_not_switch_context():
    mine = document.rewrite(ADMIN, 'kinc-dev', 'https://127.0.0.1:6443')
    existing = {
        'apiVersion': 'v1', 'kind': 'Config', 'current-context': 'work',
        'clusters': [{'name': 'work', 'cluster': {'server': 'https://w'}},
                     {'name': 'kinc-dev', 'cluster': {'server': 'https://old'}}],
        'users': [{'name': 'work', 'user': {}}],
        'contexts': [{'name': 'work', 'context': {'cluster': 'work', 'user': 'work'}}],
    }
    merged = document.merge(existing, mine, 'kinc-dev')
    assert [c['name'] for c in merged['clusters']] == ['work', 'kinc-dev']
    assert merged['clusters'][1]['cluster']['server'] == 'https://127.0.0.1:6443'
    assert [u['name'] for u in merged['users']] == ['work', 'kinc-dev']
    assert merged['current-context'] == 'work'
    assert document.merge(merged, mine, 'kinc-dev') == merged


def test_merge_into_an_empty_file_sets_the_current_context():
    mine = document.rewrite(ADMIN, 'kinc-dev', 'https://127.0.0.1:6443')
    merged = document.merge(document.load(''), mine, 'kinc-dev')
    assert merged['current-context'] == 'kinc-dev'
    assert yaml.safe_load(document.dump(merged)) == merged


def test_remove_drops_entries_and_clears_the_current_context():
    mine = document.rewrite(ADMIN, 'kinc-dev', 'https://127.0.0.1:6443')
    pruned = document.remove(mine, 'kinc-dev')
    assert pruned['clusters'] == [] and pruned['users'] == [] and pruned['contexts'] == []
    assert pruned['current-context'] == ''


def test_load_rejects_invalid_yaml_and_non_mappings():
    with pytest.raises(document.KubeconfigError) as err:
        document.load('a: [')
    assert 'not valid YAML' in str(err.value)
    with pytest.raises(document.KubeconfigError):
        document.load('- 1\n')


def test_merge_without_pyyaml_fails_with_the_fix(monkeypatch):
    monkeypatch.setattr(document, 'HAS_YAML', False)
    with pytest.raises(document.KubeconfigError) as err:
        document.load('')
    assert 'needs PyYAML' in str(err.value) and 'merge_kubeconfig: false' in str(err.value)

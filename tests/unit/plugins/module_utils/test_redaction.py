# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one redaction of secrets (log export and every message carrying journal or command output), on each
form a secret takes in a node's journal, kubeadm's output and Kubernetes objects."""

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils.redaction import REDACTED, redact

SECRET = 'abcdef.0123456789abcdef'
KEY = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----'

FORMS = {
    'bootstrap token in kubeadm output': '[bootstrap-token] Using token: %s\n' % SECRET,
    'join command': 'kubeadm join 10.255.255.254:6443 --token %s --discovery-token-ca-cert-hash sha256:00\n' % SECRET,
    'join command with =': 'kubeadm join --token=%s\n' % SECRET,
    'bearer header': "curl -H 'Authorization: Bearer %s' https://127.0.0.1:6443\n" % SECRET,
    'certificate key': 'certificateKey: %s\n' % SECRET,
    'certificate key argument': 'kubeadm init phase upload-certs --certificate-key %s\n' % SECRET,
    'encryption configuration': ('kind: EncryptionConfiguration\nresources:\n  - providers:\n      - aescbc:\n'
                                 '          keys:\n            - name: key1\n              secret: %s\n' % SECRET),
    'secret data in yaml': ('apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  user: %s\n'
                            'stringData:\n  password2: %s\n' % (SECRET, SECRET)),
    'secret data in json': '{"kind": "Secret", "data": {"user": "%s"}, "metadata": {"name": "s"}}' % SECRET,
    'client-key-data block scalar': ('users:\n- name: admin\n  user:\n    client-key-data: |\n      %s\n      %s\n'
                                     % (SECRET, SECRET)),
    'client-key-data value': '    client-key-data: %s\n' % SECRET,
    'client-key-data json': '{"client-key-data": "%s", "server": "https://x"}' % SECRET,
    'token in a kubeadm config': 'bootstrapTokens:\n- token: %s\n' % SECRET,
    'password assignment': 'password=%s\n' % SECRET,
    'private key': 'before\n%s\nafter %s' % (KEY, SECRET.replace(SECRET, '')),
}


@pytest.mark.parametrize('form', sorted(FORMS))
def test_every_form_of_a_secret_is_removed(form):
    text = redact(FORMS[form])
    assert SECRET not in text and 'MHcCAQEE' not in text
    assert REDACTED in text or '[private key removed by kinc]' in text


@pytest.mark.parametrize('text', [
    'step bootstrap-token done\n',
    'kind: ConfigMap\ndata:\n  Corefile: visible\n',
    'kinc-kubeadm-init.service: Deactivated successfully.\n',
    '{"kind": "ConfigMap", "data": {"a": "visible"}}',
    'secretName: visible\n',
])
def test_what_is_not_secret_stays(text):
    assert redact(text) == text


def test_the_rest_of_a_block_scalars_document_stays():
    text = redact(FORMS['client-key-data block scalar'] + '    token-file: /x\ncontexts: []\n')
    assert text == ('users:\n- name: admin\n  user:\n    client-key-data: %s\n    token-file: /x\ncontexts: []\n'
                    % REDACTED)

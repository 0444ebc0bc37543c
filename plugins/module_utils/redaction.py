# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one redaction of secrets, for every text kinc hands out: exported logs (log_export) and every message
that carries journal or command output (module_base.run, the cluster results of kinc_cluster).

Removed: PEM private keys; the values of keys, tokens, passwords and secrets written as `key: value`,
`key=value`, `"key": "value"` or as a YAML block scalar (`client-key-data: |` and its indented lines);
`--token <value>` and `--certificate-key <value>` arguments; `Authorization: Bearer <value>`; the values
under `data:` / `stringData:` of a Kubernetes Secret, in YAML and in JSON.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

REDACTED = 'REDACTED-BY-KINC'
# Keys whose value is a secret (kubeconfig, kubeadm, EncryptionConfiguration, bootstrap token output).
_KEYS = (r'client-key-data|client-certificate-data|token|password|passwd|tlsPrivateKey|certificateKey|'
         r'certificate-key|secret|bootstrapToken|privateKey|private-key|apiKey|api-key')
_PRIVATE_KEY = re.compile(r'-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)', re.S)
_BLOCK_START = re.compile(r'\A([ \t]*(?:- )?["\']?(?:%s)["\']?[ \t]*:[ \t]*)[|>][-+0-9]*[ \t]*\Z' % _KEYS, re.I)
_VALUE = re.compile(r'((?<![\w-])(?:%s)["\']?[ \t]*[:=][ \t]*)(["\']?)(?![|>][ \t]*$)[^"\'\s,}]+' % _KEYS, re.I | re.M)
_ARGUMENT = re.compile(r'(--(?:token|certificate-key|password)(?:[ \t]+|=))(["\']?)[^"\'\s]+', re.I)
_BEARER = re.compile(r'(\bBearer[ \t]+)[^"\'\s,}]+', re.I)
_DOCUMENT_SPLIT = re.compile(r'(^---[ \t]*$)', re.M)
_SECRET_KIND = re.compile(r'^kind:[ \t]*Secret[ \t]*$', re.M)
_DATA_START = re.compile(r'\A[ \t]*(?:data|stringData):[ \t]*\Z')
_DATA_VALUE = re.compile(r'\A([ \t]+["\']?[^:\n]+["\']?:)[ \t]*\S.*\Z')
_JSON_SECRET = re.compile(r'"kind"\s*:\s*"Secret"')


def _indent(line):
    return len(line) - len(line.lstrip(' \t'))


def _drop_indented(text, start, replace):
    """Lines after a line matching `start` and indented deeper than it go through `replace(line)` (None: drop)."""
    out = []
    indent = None
    for line in text.splitlines(True):
        bare = line.rstrip('\r\n')
        if indent is not None and (not bare.strip() or _indent(bare) > indent):
            kept = replace(bare)
            if kept is not None:
                out.append(kept + line[len(bare):])
            continue
        indent = _indent(bare) if start.match(bare) else None
        out.append(line)
    return ''.join(out)


def _blocks(text):
    """Block scalars of secret keys (client-key-data: |, secret: >-): the indicator and every line of the block."""
    text = _drop_indented(text, _BLOCK_START, lambda line: None)
    return '\n'.join(_BLOCK_START.sub(lambda m: m.group(1) + REDACTED, line) if _BLOCK_START.match(line) else line
                     for line in text.split('\n'))


def _secret_documents(text):
    """Values under data:/stringData: of every YAML document of kind Secret."""
    if not _SECRET_KIND.search(text):
        return text
    parts = _DOCUMENT_SPLIT.split(text)
    return ''.join(_drop_indented(part, _DATA_START, lambda line: _DATA_VALUE.sub(
        lambda m: m.group(1) + ' ' + REDACTED, line)) if _SECRET_KIND.search(part) else part for part in parts)


def _scrub_json(value):
    if isinstance(value, dict):
        secret = value.get('kind') == 'Secret'
        return dict((k, (dict((dk, REDACTED) for dk in v) if secret and k in ('data', 'stringData')
                         and isinstance(v, dict) else _scrub_json(v))) for k, v in value.items())
    if isinstance(value, list):
        return [_scrub_json(v) for v in value]
    return value


def _json_secrets(text):
    """A JSON text (kubectl -o json, cluster-info dump) with the data of its Secrets removed."""
    if not _JSON_SECRET.search(text):
        return text
    try:
        return json.dumps(_scrub_json(json.loads(text)), indent=4, sort_keys=True) + '\n'
    except ValueError:
        # Not one JSON document (a dump holds several): drop the data of single-line Secret objects, and
        # every "data" object of a text that mentions a Secret but cannot be parsed.
        return re.sub(r'("(?:data|stringData)"\s*:\s*)\{[^{}]*\}', r'\1{"%s": ""}' % REDACTED, text)


def redact(text):
    """`text` without the secrets listed in the module's docstring."""
    if not text:
        return text
    text = _PRIVATE_KEY.sub('[private key removed by kinc]', text)
    text = _blocks(text)
    text = _VALUE.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
    text = _ARGUMENT.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _secret_documents(text)
    return _json_secrets(text)

# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster's admin kubeconfig as the host sees it, and its context in ~/.kube/config.

The node hands out admin.conf as JSON (`kubectl config view --raw -o json`); kinc writes its own file as
JSON too (JSON is YAML, kubectl reads it). Only merging into ~/.kube/config, a YAML file, needs PyYAML.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

try:
    import yaml
    HAS_YAML = True
except ImportError:
    HAS_YAML = False

SECTIONS = ('clusters', 'users', 'contexts')


class KubeconfigError(ValueError):
    pass


def _single(config, section):
    entries = config.get(section) or []
    if len(entries) != 1:
        raise KubeconfigError('the node\'s admin kubeconfig must have exactly one entry in %s; found %d'
                              % (section, len(entries)))
    return entries[0]


def server_url(address, port):
    if ':' in address:
        address = '[%s]' % address
    return 'https://%s:%s' % (address, port)


def rewrite(admin, context, server):
    """admin.conf (parsed) -> a kubeconfig whose cluster, user and context are all named `context`
    and whose server is `server`."""
    if not isinstance(admin, dict):
        raise KubeconfigError('the node\'s admin kubeconfig is not a JSON object')
    cluster = copy.deepcopy(_single(admin, 'clusters'))
    user = copy.deepcopy(_single(admin, 'users'))
    _single(admin, 'contexts')
    cluster['name'] = context
    cluster.setdefault('cluster', {})['server'] = server
    user['name'] = context
    return {
        'apiVersion': 'v1',
        'kind': 'Config',
        'preferences': {},
        'clusters': [cluster],
        'users': [user],
        'contexts': [{'name': context, 'context': {'cluster': context, 'user': context}}],
        'current-context': context,
    }


def to_text(config):
    return json.dumps(config, indent=2, sort_keys=True) + '\n'


def _require_yaml():
    if not HAS_YAML:
        raise KubeconfigError('merging into ~/.kube/config needs PyYAML (python3-yaml) on the managed host; '
                              'install it or set merge_kubeconfig: false')


def load(text):
    """Parse ~/.kube/config (YAML); empty text -> an empty config."""
    _require_yaml()
    try:
        data = yaml.safe_load(text) if text and text.strip() else None
    except yaml.YAMLError as exc:
        raise KubeconfigError('~/.kube/config is not valid YAML: %s' % exc)
    if data is None:
        data = {'apiVersion': 'v1', 'kind': 'Config', 'preferences': {}}
    if not isinstance(data, dict):
        raise KubeconfigError('~/.kube/config must be a mapping; got: %r' % (type(data).__name__,))
    return data


def dump(config):
    _require_yaml()
    return yaml.safe_dump(config, default_flow_style=False, sort_keys=False)


def merge(existing, config, context):
    """Return `existing` with `config`'s entries named `context` replacing or joining its own.

    The current context is set to `context` only when none is set, so merging never switches
    a user's kubectl away from the cluster they are working on."""
    merged = copy.deepcopy(existing)
    for section in SECTIONS:
        entries = [e for e in (merged.get(section) or []) if e.get('name') != context]
        entries += [copy.deepcopy(e) for e in config.get(section) or [] if e.get('name') == context]
        merged[section] = entries
    if not merged.get('current-context'):
        merged['current-context'] = context
    return merged


def remove(existing, context):
    """Return `existing` without the entries named `context` (and without it as current context)."""
    pruned = copy.deepcopy(existing)
    for section in SECTIONS:
        if section in pruned:
            pruned[section] = [e for e in pruned[section] or [] if e.get('name') != context]
    if pruned.get('current-context') == context:
        pruned['current-context'] = ''
    return pruned


def mentions(text, context):
    """Cheap test whether a kubeconfig text may hold `context`, so purging never needs PyYAML otherwise."""
    return bool(text) and context in text

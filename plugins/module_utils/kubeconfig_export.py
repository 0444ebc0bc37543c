# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cluster's kubeconfig on the host: ~/.kube/kinc-<name>.conf and its context in ~/.kube/config.

The exported file is rewritten only when it no longer matches the node's admin kubeconfig: the readiness
poll already read that file's text, so an unchanged run needs no `kubectl config view` in the node.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.kinc.kinc.plugins.module_utils import files
from ansible_collections.kinc.kinc.plugins.module_utils import kubeconfig
from ansible_collections.kinc.kinc.plugins.module_utils import naming
from ansible_collections.kinc.kinc.plugins.module_utils.module_base import KincError

# The admin key is in it: private to the user from the first byte (files.write_atomic).
KUBECONFIG_MODE = 0o600
KUBECONFIG_DIR_MODE = 0o700


def _secrets(config):
    cluster = config['clusters'][0]['cluster']
    user = config['users'][0]['user']
    return [cluster.get('certificate-authority-data'), user.get('client-certificate-data'),
            user.get('client-key-data')]


def _still_current(path, admin_text, context, server):
    """The exported kubeconfig, parsed, when it points at `server` and carries the CA, certificate and key
    found in the node's admin kubeconfig text; else None."""
    if not admin_text:
        return None
    text = files.read_text(path)
    try:
        config = json.loads(text or '')
        if config['current-context'] != context or config['clusters'][0]['cluster']['server'] != server:
            return None
        secrets = _secrets(config)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None
    if not all(secrets) or not all(secret in admin_text for secret in secrets):
        return None
    return config if kubeconfig.to_text(config) == text else None


def _fetch(podman, run, context, server):
    _rc, out, _err = podman.call(
        ['exec', run.container, 'kubectl', '--kubeconfig', '/etc/kubernetes/admin.conf', 'config', 'view',
         '--raw', '-o', 'json'], what='reading the admin kubeconfig of %s' % run.name)
    try:
        return kubeconfig.rewrite(json.loads(out), context, server)
    except ValueError as exc:
        raise KincError('the admin kubeconfig of %s is not usable: %s' % (run.name, exc))


def _write(run, change, check_mode):
    if change.action == 'none':
        return
    verb = 'repair mode or owner of' if change.action == 'repair' else 'write'
    run.did('%s %s' % (verb, change.path))
    if not check_mode:
        files.apply(change, KUBECONFIG_DIR_MODE)


def export(run, podman, server, check_mode=False):
    """Write the cluster's kubeconfig (and merge its context when asked) from a ready node."""
    path = run.params['kubeconfig_path']
    context = naming.context_name(run.name)
    config = _still_current(path, run.admin_text, context, server)
    if config is None:
        # As written (keys sorted), so that what is merged below never depends on where it came from.
        config = json.loads(kubeconfig.to_text(_fetch(podman, run, context, server)))
    _write(run, files.plan_file(os.path.basename(path), path, kubeconfig.to_text(config), KUBECONFIG_MODE),
           check_mode)
    if run.params.get('merge_kubeconfig'):
        merge(run, config, context, check_mode)


def merge(run, config, context, check_mode=False):
    path = run.params['user_kubeconfig']
    before = files.read_text(path) or ''
    try:
        existing = kubeconfig.load(before)
        merged = kubeconfig.merge(existing, config, context)
        text = before if before and merged == existing else kubeconfig.dump(merged)
    except kubeconfig.KubeconfigError as exc:
        raise KincError(str(exc))
    # ~/.kube/config may be the user's own file: only its text is kinc's business, not its mode.
    change = files.plan_file('config', path, text, KUBECONFIG_MODE)
    if change.action in ('create', 'update'):
        run.did('merge context %s into %s' % (context, path))
        if not check_mode:
            files.apply(change, KUBECONFIG_DIR_MODE)


def purge(run, check_mode=False):
    """Remove the exported kubeconfig and the context merged into ~/.kube/config."""
    path = run.params['kubeconfig_path']
    if os.path.lexists(path):
        run.did('remove %s' % path)
        if not check_mode:
            files.remove(path)
    context = naming.context_name(run.name)
    user_path = run.params['user_kubeconfig']
    before = files.read_text(user_path)
    if not kubeconfig.mentions(before, context):
        return
    try:
        existing = kubeconfig.load(before)
        pruned = kubeconfig.remove(existing, context)
        if pruned == existing:
            return
        text = kubeconfig.dump(pruned)
    except kubeconfig.KubeconfigError as exc:
        raise KincError(str(exc))
    run.did('remove context %s from %s' % (context, user_path))
    if not check_mode:
        files.write_atomic(user_path, text, KUBECONFIG_MODE, KUBECONFIG_DIR_MODE)

# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cluster's kubeconfig on the host: ~/.kube/kinc-<name>.conf and its context in ~/.kube/config.

The exported file is rewritten only when it no longer matches the node's admin kubeconfig: the readiness
poll already read that file's text, so an unchanged run needs no `kubectl config view` in the node.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import re
import time
from contextlib import contextmanager

from ansible_collections.kinc.kinc.plugins.module_utils import files
from ansible_collections.kinc.kinc.plugins.module_utils.kubeconfig import document
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming
from ansible_collections.kinc.kinc.plugins.module_utils.module_base import KincError

# The admin key is in it: private to the user from the first byte (files.write_atomic).
KUBECONFIG_MODE = 0o600
KUBECONFIG_DIR_MODE = 0o700
# Seconds to wait for kubectl (or another kinc run) to finish changing ~/.kube/config.
LOCK_WAIT = 10


def _stale(lock):
    """Whether `lock` was left by a kinc run that is gone (killed while holding it). kubectl's own locks are
    empty: whether their holder lives cannot be told, so they are waited for."""
    try:
        with open(lock) as handle:
            match = re.match(r'kinc (\d+)\n\Z', handle.read(32))
    except (IOError, OSError):
        return False
    return bool(match) and (int(match.group(1)) == os.getpid() or not files.alive(int(match.group(1))))


@contextmanager
def locked(path, check_mode=False):
    """Hold kubectl's lock of the kubeconfig `path` (client-go: <path>.lock created O_EXCL, removed when done),
    so a read-modify-write never undoes a change kubectl or another run makes meanwhile."""
    if check_mode:
        yield
        return
    lock = path + '.lock'
    files.make_dir(os.path.dirname(path), KUBECONFIG_DIR_MODE)
    deadline = time.time() + LOCK_WAIT
    while True:
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            os.write(fd, ('kinc %d\n' % os.getpid()).encode('ascii'))
            os.close(fd)
            break
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
            if _stale(lock):
                files.remove(lock)
                continue
            if time.time() >= deadline:
                raise KincError('%s is locked: %s exists for more than %s s (kubectl or another kinc run is changing '
                                'the file); fix: let it finish, or remove %s if nothing is changing the file'
                                % (path, lock, LOCK_WAIT, lock))
            time.sleep(0.1)
    try:
        yield
    finally:
        try:
            os.unlink(lock)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise


def _secrets(config):
    cluster = config['clusters'][0]['cluster']
    user = config['users'][0]['user']
    return [cluster.get('certificate-authority-data'), user.get('client-certificate-data'),
            user.get('client-key-data')]


def _still_current(path, admin_text, context, server):
    """The exported document, parsed, when it points at `server` and carries the CA, certificate and key
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
    return config if document.to_text(config) == text else None


def _fetch(podman, run, context, server):
    _rc, out, _err = podman.call(
        ['exec', run.container, 'kubectl', '--kubeconfig', '/etc/kubernetes/admin.conf', 'config', 'view',
         '--raw', '-o', 'json'], what='reading the admin kubeconfig of %s' % run.name)
    try:
        return document.rewrite(json.loads(out), context, server)
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
        config = json.loads(document.to_text(_fetch(podman, run, context, server)))
    _write(run, files.plan_file(os.path.basename(path), path, document.to_text(config), KUBECONFIG_MODE),
           check_mode)
    if run.params.get('merge_kubeconfig'):
        merge(run, config, context, check_mode)


def merge(run, config, context, check_mode=False):
    path = run.params['user_kubeconfig']
    with locked(path, check_mode):
        _merge(run, path, config, context, check_mode)


def _merge(run, path, config, context, check_mode):
    before = files.read_text(path) or ''
    try:
        existing = document.load(before)
        merged = document.merge(existing, config, context)
        text = before if before and merged == existing else document.dump(merged)
    except document.KubeconfigError as exc:
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
    user_path = run.params['user_kubeconfig']
    if not check_mode and _stale(user_path + '.lock'):
        files.remove(user_path + '.lock')  # left by a killed run
    if document.mentions(files.read_text(user_path), naming.context_name(run.name)):
        with locked(user_path, check_mode):
            _prune(run, user_path, check_mode)


def _prune(run, user_path, check_mode):
    context = naming.context_name(run.name)
    before = files.read_text(user_path)
    if not document.mentions(before, context):
        return
    try:
        existing = document.load(before)
        pruned = document.remove(existing, context)
        if pruned == existing:
            return
        text = document.dump(pruned)
    except document.KubeconfigError as exc:
        raise KincError(str(exc))
    run.did('remove context %s from %s' % (context, user_path))
    if not check_mode:
        files.write_atomic(user_path, text, KUBECONFIG_MODE, KUBECONFIG_DIR_MODE)

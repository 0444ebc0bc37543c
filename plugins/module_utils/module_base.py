# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every kinc module shares: the Podman option, the rootless environment, and errors as messages.

A module builds its AnsibleModule with `argument_spec(own_options)`, prepares the rootless environment
with `rootless_environment(module)` and runs its body through `run(module, body)`: any kinc error
becomes a `fail_json` whose message names the thing and the fix, never a traceback.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.kinc.kinc.plugins.module_utils.allocation.allocator import AllocationError
from ansible_collections.kinc.kinc.plugins.module_utils.allocation.locking import LockTimeout
from ansible_collections.kinc.kinc.plugins.module_utils.day2.image_identity import ArchiveError
from ansible_collections.kinc.kinc.plugins.module_utils.node.config_render import KubeadmConfigError
from ansible_collections.kinc.kinc.plugins.module_utils.kubeconfig.document import KubeconfigError
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import PodmanClient, PodmanError, PodmanNotFound
from ansible_collections.kinc.kinc.plugins.module_utils.redaction import redact
from ansible_collections.kinc.kinc.plugins.module_utils.systemd import SystemdError, user_environment

# The option of every module that runs podman (doc fragment kinc.kinc.podman).
PODMAN_OPTIONS = dict(
    executable=dict(type='str', default='podman', aliases=['podman_executable']),
)


class KincError(Exception):
    """A failure to report as the task's message; `details` go into the result (steps, actions)."""

    def __init__(self, msg, **details):
        super(KincError, self).__init__(msg)
        self.details = details


def argument_spec(options):
    """The module's own options plus the shared ones."""
    spec = dict(PODMAN_OPTIONS)
    spec.update(options)
    return spec


def podman(module):
    return PodmanClient.from_module(module, module.params['executable'])


def rootless_environment(module, required=True, warn=True):
    """Point systemctl --user and rootless podman at the user's manager; returns whether rootless.

    required=False reports a missing user manager as a warning (warn=False: silently) and returns None."""
    uid = os.geteuid()
    if uid == 0:
        return False
    try:
        module.run_command_environ_update.update(user_environment(uid, os.environ))
    except SystemdError as exc:
        if required:
            raise KincError(str(exc))
        if warn:
            module.warn(str(exc))
        return None
    return True


def _describe(exc):
    if isinstance(exc, (IOError, OSError)) and getattr(exc, 'filename', None):
        return ('%s: %s; check that the path exists and that the user running the task may write there'
                % (exc.filename, exc.strerror or exc))
    return str(exc)


def run(module, body, result=None):
    """`body()` returns the result dict for exit_json; kinc errors become fail_json with `result` merged.

    `result` (a dict the body fills as it goes, for example changed/actions) is reported on failure too.
    Every message may carry journal or command output, so it is redacted."""
    result = result if result is not None else {}
    try:
        outcome = body()
    except KincError as exc:
        failure = dict(result)
        failure.update(exc.details)
        module.fail_json(msg=redact(str(exc)), **failure)
    # Errors of kinc's own utilities already read '<what>; fix: <how>'.
    except (AllocationError, ArchiveError, KubeadmConfigError, KubeconfigError, LockTimeout, PodmanNotFound,
            PodmanError, SystemdError, IOError, OSError) as exc:
        module.fail_json(msg=redact(_describe(exc)), **result)
    module.exit_json(**outcome)

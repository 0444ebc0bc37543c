# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemctl and journalctl for the user's (rootless) or the system's (rootful) service manager."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os


class SystemdError(Exception):
    pass


def _owner_of(path):
    try:
        return os.stat(path).st_uid
    except OSError:
        return None


def user_environment(uid, environ, path_exists=os.path.exists, owner_of=_owner_of):
    """Environment that lets `systemctl --user` and rootless podman reach the user's manager.

    Ansible's become does not always set XDG_RUNTIME_DIR, and some become methods pass on the caller's
    (/run/user/0); derive it from the uid unless the one set is the user's own, and fail clearly when the
    user's manager is not running (no lingering, no login session)."""
    runtime_dir = environ.get('XDG_RUNTIME_DIR')
    inherited = bool(runtime_dir) and owner_of(runtime_dir) == uid
    if not inherited:
        runtime_dir = '/run/user/%d' % uid
    bus = os.path.join(runtime_dir, 'bus')
    if not path_exists(bus):
        raise SystemdError(
            "rootless kinc needs the systemd user manager of uid %d, but its bus %s does not exist; "
            "enable lingering with 'loginctl enable-linger <user>' (the kinc.kinc.kinc_host role does it) "
            "and wait for user@%d.service to be active" % (uid, bus, uid))
    env = {'XDG_RUNTIME_DIR': runtime_dir}
    if not (inherited and environ.get('DBUS_SESSION_BUS_ADDRESS')):
        env['DBUS_SESSION_BUS_ADDRESS'] = 'unix:path=%s' % bus
    return env


class Systemctl:
    """`run(argv) -> (rc, stdout, stderr)` runs a command without a shell (module.run_command)."""

    def __init__(self, run, user):
        self._run = run
        self.user = user

    def _argv(self, tool, args):
        return [tool] + (['--user'] if self.user else []) + list(args)

    def call(self, args, ok_rcs=(0,)):
        argv = self._argv('systemctl', args)
        rc, out, err = self._run(argv)
        if rc not in ok_rcs:
            raise SystemdError("'%s' failed with exit code %s: %s"
                               % (' '.join(argv), rc, (err or out or 'no output').strip()))
        return rc, out, err

    def daemon_reload(self):
        self.call(['daemon-reload'])

    def show(self, unit, properties):
        """{property: value} of `unit` (systemctl show works for unknown units too)."""
        _rc, out, _err = self.call(['show', '--property=%s' % ','.join(properties), unit])
        values = {}
        for line in out.splitlines():
            key, sep, value = line.partition('=')
            if sep:
                values[key] = value
        return values

    def show_units(self, units, properties):
        """{unit: {property: value}} of several units in one call (systemctl prints one block per unit,
        in the order asked, separated by an empty line)."""
        if not units:
            return {}
        _rc, out, _err = self.call(['show', '--property=%s' % ','.join(properties)] + list(units))
        blocks = [{}]
        for line in out.splitlines():
            key, sep, value = line.partition('=')
            if sep:
                blocks[-1][key] = value
            elif blocks[-1]:
                blocks.append({})
        blocks = [b for b in blocks if b]
        if len(blocks) != len(units):
            raise SystemdError("'systemctl show' answered %d blocks for %d units: %s"
                               % (len(blocks), len(units), out.strip() or 'no output'))
        return dict(zip(units, blocks))

    def active_state(self, unit):
        """'active', 'inactive', 'activating', 'failed', ... ('inactive' for an unknown unit)."""
        return self.show(unit, ['ActiveState']).get('ActiveState') or 'inactive'

    def start(self, unit):
        self.call(['start', unit])

    def restart(self, unit):
        self.call(['restart', unit])

    def stop(self, unit):
        self.call(['stop', unit])

    def reset_failed(self, unit):
        self.call(['reset-failed', unit], ok_rcs=(0, 1, 5))

    def journal_tail(self, unit, lines=40):
        argv = ['journalctl'] + (['--user'] if self.user else []) + ['-u', unit, '-n', str(lines), '--no-pager']
        _rc, out, err = self._run(argv)
        return (out or err or '').rstrip()

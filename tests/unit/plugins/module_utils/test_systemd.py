# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemctl/journalctl argv for the user's or the system's manager, and the rootless environment."""

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils.systemd import Systemctl, SystemdError, user_environment


class Recorder:
    def __init__(self, *answers):
        self.calls = []
        self.answers = list(answers)

    def __call__(self, argv):
        self.calls.append(argv)
        return self.answers.pop(0) if self.answers else (0, '', '')


def test_user_manager_commands_carry_dash_dash_user():
    run = Recorder((0, 'ActiveState=active\nSubState=running\n', ''))
    systemctl = Systemctl(run, user=True)
    assert systemctl.show('x.service', ['ActiveState', 'SubState']) == {'ActiveState': 'active', 'SubState': 'running'}
    systemctl.journal_tail('x.service', 5)
    assert run.calls == [['systemctl', '--user', 'show', '--property=ActiveState,SubState', 'x.service'],
                         ['journalctl', '--user', '-u', 'x.service', '-n', '5', '--no-pager']]


def test_system_manager_commands_do_not():
    run = Recorder()
    Systemctl(run, user=False).daemon_reload()
    assert run.calls == [['systemctl', 'daemon-reload']]


def test_a_failing_systemctl_names_the_command_and_what_it_said():
    systemctl = Systemctl(Recorder((5, '', 'Unit x.service not found.')), user=True)
    with pytest.raises(SystemdError) as err:
        systemctl.start('x.service')
    assert str(err.value) == "'systemctl --user start x.service' failed with exit code 5: Unit x.service not found."


def test_unknown_units_read_as_inactive():
    systemctl = Systemctl(Recorder((0, '', '')), user=True)
    assert systemctl.active_state('x.service') == 'inactive'


def test_user_environment_derives_the_runtime_dir_from_the_uid():
    env = user_environment(1000, {}, path_exists=lambda p: p == '/run/user/1000/bus')
    assert env == {'XDG_RUNTIME_DIR': '/run/user/1000', 'DBUS_SESSION_BUS_ADDRESS': 'unix:path=/run/user/1000/bus'}


def test_user_environment_keeps_what_is_set_when_the_runtime_dir_is_the_users():
    env = user_environment(1000, {'XDG_RUNTIME_DIR': '/r', 'DBUS_SESSION_BUS_ADDRESS': 'unix:path=/x'},
                           path_exists=lambda p: True, owner_of=lambda p: 1000)
    assert env == {'XDG_RUNTIME_DIR': '/r'}


def test_user_environment_replaces_the_runtime_dir_and_bus_a_become_method_passed_on():
    env = user_environment(1000, {'XDG_RUNTIME_DIR': '/run/user/0', 'DBUS_SESSION_BUS_ADDRESS': 'unix:path=/run/user/0/bus'},
                           path_exists=lambda p: True, owner_of=lambda p: 0)
    assert env == {'XDG_RUNTIME_DIR': '/run/user/1000', 'DBUS_SESSION_BUS_ADDRESS': 'unix:path=/run/user/1000/bus'}


def test_without_a_user_manager_the_error_says_to_enable_lingering():
    with pytest.raises(SystemdError) as err:
        user_environment(1000, {}, path_exists=lambda p: False)
    assert '/run/user/1000/bus does not exist' in str(err.value)
    assert 'loginctl enable-linger' in str(err.value) and 'kinc.kinc.kinc_host' in str(err.value)


def test_show_units_reads_one_block_per_unit_in_one_call():
    calls = []
    out = ('Id=a.service\nLoadState=loaded\nActiveState=active\n\n'
           'Id=b.service\nLoadState=not-found\nActiveState=inactive\n')

    def run(argv):
        calls.append(argv)
        return 0, out, ''
    states = Systemctl(run, user=True).show_units(['a.service', 'b.service'], ['Id', 'LoadState', 'ActiveState'])
    assert calls == [['systemctl', '--user', 'show', '--property=Id,LoadState,ActiveState', 'a.service', 'b.service']]
    assert states['b.service'] == {'Id': 'b.service', 'LoadState': 'not-found', 'ActiveState': 'inactive'}
    assert states['a.service']['ActiveState'] == 'active'


def test_show_units_refuses_an_answer_it_cannot_match_to_the_units():
    with pytest.raises(SystemdError):
        Systemctl(lambda argv: (0, 'Id=a.service\n', ''), user=False).show_units(['a.service', 'b.service'], ['Id'])

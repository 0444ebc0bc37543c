# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whose clusters role kinc_host prepares when kinc_host_user is empty: over the local connection the user who
runs ansible-playbook (asked on the controller, no module run), over any other the user the role's `id -un`
task found on the host."""

import os
import pwd

import pytest

INVENTORIES = {
    'local': 'localhost ansible_connection=local\n',
    'fqcn': 'localhost ansible_connection=ansible.builtin.local\n',
    'ssh_fqcn': 'node ansible_host=192.0.2.1 ansible_connection=ansible.builtin.ssh\n',
    'ssh': 'node ansible_host=192.0.2.1\n',
}


def owner(run_playbook, inventory, **extra_vars):
    env = dict(os.environ, USER='nobody', LOGNAME='nobody')  # what the environment says is not who runs
    result = run_playbook('host-owner.yml', INVENTORIES[inventory], env=env,
                          extra_vars=dict({'connecting_user': 'found-by-id-un', 'kinc_host_user': ''}, **extra_vars))
    assert not result['failed'], result['_output']
    return result['msg']['owner'], result['msg']['local']


@pytest.mark.parametrize('inventory', ['local', 'fqcn'])
def test_the_local_connection_owner_is_who_runs_ansible(run_playbook, inventory):
    assert owner(run_playbook, inventory) == (pwd.getpwuid(os.getuid()).pw_name, True)


@pytest.mark.parametrize('inventory', ['ssh', 'ssh_fqcn'])
def test_another_connection_owner_is_what_id_un_found(run_playbook, inventory):
    assert owner(run_playbook, inventory) == ('found-by-id-un', False)


def test_kinc_host_user_wins(run_playbook):
    assert owner(run_playbook, 'local', kinc_host_user='kinc')[0] == 'kinc'

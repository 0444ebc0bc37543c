# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host-wide allocation record: one file per user, written atomically, read back for the other users."""

import os

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils import allocation_record
from ansible_collections.kinc.kinc.plugins.module_utils.allocation import Allocation, AllocationError

DEV = Allocation('dev', 6443, '10.244.43.0/24', '10.43.0.0/16')


@pytest.fixture
def directory(tmp_path):
    path = tmp_path / 'allocations'
    path.mkdir()
    path.chmod(0o1777)
    return str(path)


def test_a_record_is_written_once_with_its_final_mode_and_read_by_the_others(directory):
    uid = os.geteuid()
    assert allocation_record.write(directory, uid, {'dev': DEV}) is True
    assert allocation_record.write(directory, uid, {'dev': DEV}) is False
    assert os.listdir(directory) == ['%d.json' % uid]
    assert oct(os.stat(os.path.join(directory, '%d.json' % uid)).st_mode & 0o777) == oct(0o644)
    # The writer's own record is its labels' copy: never read back as someone else's.
    assert allocation_record.others(directory, uid) == []
    assert allocation_record.others(directory, uid + 1) == [("cluster 'dev' of root, uid 0", DEV)]


def test_files_that_are_not_records_are_left_alone(directory):
    for name in ('.1000.json.tmp', 'notes.txt', '12a.json'):
        with open(os.path.join(directory, name), 'w') as handle:
            handle.write('x')
    assert allocation_record.others(directory, 0) == []


@pytest.mark.parametrize('make, reason', [
    (lambda path: None, 'does not exist'),
    (lambda path: open(path, 'w').close(), 'is not a directory'),
])
def test_an_unusable_directory_is_named(tmp_path, make, reason):
    path = str(tmp_path / 'record')
    make(path)
    assert allocation_record.unusable_reason(path) == '%s %s' % (path, reason)


def test_the_lock_is_the_directory_when_usable_else_the_users_file(directory, tmp_path):
    host_wide = allocation_record.allocation_lock(0, directory, str(tmp_path / 'user.lock'))
    assert (host_wide.path, host_wide.directory) == (directory, True)
    with host_wide:
        pass
    per_user = allocation_record.allocation_lock(0, str(tmp_path / 'missing'), str(tmp_path / 'user.lock'))
    assert (per_user.path, per_user.directory) == (str(tmp_path / 'user.lock'), False)


def test_a_record_with_a_broken_port_is_an_error(directory):
    path = os.path.join(directory, '4242.json')
    with open(path, 'w') as handle:
        handle.write('{"clusters": {"dev": {"api_port": "x", "pod_subnet": "a", "service_subnet": "b"}}}')
    os.chown(path, 4242, 4242)
    with pytest.raises(AllocationError) as err:
        allocation_record.others(directory, 0)
    assert str(err.value).startswith('%s: it is not a kinc allocation record' % path)

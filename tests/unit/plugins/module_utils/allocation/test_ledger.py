# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host-wide allocation record: one directory per user, its record written atomically, and every other
user's record read as untrusted input (skipped with a warning, never a hang, a traceback or a failure)."""

import json
import os
import resource
import subprocess
import sys

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils.allocation import ledger
from ansible_collections.kinc.kinc.plugins.module_utils.allocation.allocator import Allocation, AllocationError
from fake_host import make_record_dir, plant_record

DEV = Allocation('dev', 6443, '10.244.43.0/24', '10.43.0.0/16')
WEB = {'web': {'api_port': 7443, 'pod_subnet': '10.244.100.0/24', 'service_subnet': '10.100.0.0/16'}}
OTHER = 4242


@pytest.fixture
def directory(tmp_path):
    path = str(tmp_path / 'allocations')
    make_record_dir(path, os.geteuid())
    return path


def test_a_record_is_written_once_with_its_final_mode_and_read_by_the_others(directory):
    uid = os.geteuid()
    assert ledger.write(directory, uid, {'dev': DEV}) is True
    assert ledger.write(directory, uid, {'dev': DEV}) is False
    assert os.listdir(ledger.user_dir(directory, uid)) == ['record.json']
    assert oct(os.stat(ledger.record_path(directory, uid)).st_mode & 0o777) == oct(0o644)
    # The writer's own record is its labels' copy: never read back as someone else's.
    assert ledger.others(directory, uid) == ([], [])
    assert ledger.others(directory, uid + 1) == ([("cluster 'dev' of root, uid 0", DEV)], [])


def test_files_that_are_not_records_are_left_alone(directory):
    for name in ('.1000.json.tmp', 'notes.txt', '12a', '4242.json'):
        with open(os.path.join(directory, name), 'w') as handle:
            handle.write('x')
    assert ledger.others(directory, 0) == ([], [])


@pytest.mark.parametrize('make, reason', [
    (lambda path: None, 'does not exist'),
    (lambda path: open(path, 'w').close(), 'is not a directory'),
])
def test_an_unusable_directory_is_named(tmp_path, make, reason):
    path = str(tmp_path / 'record')
    make(path)
    assert ledger.unusable_reason(path) == '%s %s' % (path, reason)


def test_the_world_writable_directory_of_earlier_versions_is_not_trusted(tmp_path):
    path = tmp_path / 'record'
    path.mkdir()
    path.chmod(0o1777)
    assert ledger.unusable_reason(str(path)).startswith('%s is writable by other users (mode 1777' % path)


def test_the_lock_is_the_directory_when_usable_else_the_users_file(directory, tmp_path):
    host_wide = ledger.allocation_lock(0, directory, str(tmp_path / 'user.lock'))
    assert (host_wide.path, host_wide.directory) == (directory, True)
    with host_wide:
        pass
    per_user = ledger.allocation_lock(0, str(tmp_path / 'missing'), str(tmp_path / 'user.lock'))
    assert (per_user.path, per_user.directory) == (str(tmp_path / 'user.lock'), False)


def skipped(directory, path, why):
    held, warnings = ledger.others(directory, os.geteuid())
    assert held == []
    assert warnings == ['skipped the host-wide record %s: %s; the clusters of uid %d are not seen; fix: its owner '
                        'runs kinc.kinc.kinc_allocate again, or root removes it' % (path, why, OTHER)]


@pytest.mark.parametrize('content, why', [
    ('{"clusters": {"dev": {"api_port": "x", "pod_subnet": "a", "service_subnet": "b"}}}',
     "cluster 'dev' has no valid api_port"),
    ('{"clusters": {"dev": {"api_port": 6443, "pod_subnet": "garbage", "service_subnet": "10.43.0.0/16"}}}',
     "cluster 'dev' holds networks kinc never allocates"),
    # One record claiming everything would leave no network for anyone: only kinc's own pairs count.
    ('{"clusters": {"dev": {"api_port": 6443, "pod_subnet": "0.0.0.0/0", "service_subnet": "10.0.0.0/8"}}}',
     "cluster 'dev' holds networks kinc never allocates"),
    ('{"clusters": {"dev": {"api_port": 6443, "pod_subnet": "10.244.43.0/24", "service_subnet": "10.44.0.0/16"}}}',
     "cluster 'dev' holds networks kinc never allocates"),
    ('{"clusters": {"dev": {"api_port": true, "pod_subnet": "10.244.43.0/24", "service_subnet": "10.43.0.0/16"}}}',
     "cluster 'dev' has no valid api_port"),
    ('{"clusters": {"Dev\\n": {"api_port": 6443, "pod_subnet": "10.244.43.0/24", "service_subnet": "10.43.0.0/16"}}}',
     "entry 'Dev\\n' is not a kinc cluster"),
    ('[' * 60000, 'it is not a kinc allocation record (RecursionError)'),  # under the size cap
    ('not json', 'it is not a kinc allocation record (JSONDecodeError)'),
    ('{"clusters": [1]}', 'its clusters are not a mapping'),
    (b'\xff\xfe'.decode('latin-1'), 'it is not a kinc allocation record (JSONDecodeError)'),
])
def test_a_broken_record_of_another_user_is_skipped_with_a_warning_naming_it(directory, content, why):
    skipped(directory, plant_record(directory, OTHER, content), why)


def test_a_record_owned_by_someone_else_than_its_uid_is_skipped(directory):
    path = plant_record(directory, OTHER, WEB)
    os.chown(path, OTHER + 1, OTHER + 1)
    skipped(directory, path, 'it belongs to uid %d, not to uid %d whose clusters it names' % (OTHER + 1, OTHER))


def test_a_fifo_as_a_record_never_blocks_the_reader(directory):
    place = os.path.dirname(plant_record(directory, OTHER, WEB))
    path = os.path.join(place, 'record.json')
    os.unlink(path)
    os.mkfifo(path)
    os.chown(path, OTHER, OTHER)
    # A blocking open() would wait for a writer forever: run the read in a child with a deadline.
    code = ('import sys; sys.path[:0] = %r; from ansible_collections.kinc.kinc.plugins.module_utils.allocation import '
            'ledger; print(ledger.others(%r, 0))' % (sys.path, directory))
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=20, check=True).stdout
    assert 'it is not a regular file' in out


def test_a_symlink_as_a_record_is_not_followed(directory, tmp_path):
    target = tmp_path / 'elsewhere.json'
    target.write_text(json.dumps({'clusters': WEB}))
    place = os.path.dirname(plant_record(directory, OTHER, WEB))
    path = os.path.join(place, 'record.json')
    os.unlink(path)
    os.symlink(str(target), path)
    os.lchown(path, OTHER, OTHER)
    skipped(directory, path, 'it cannot be opened (Too many levels of symbolic links)')


def test_an_oversized_record_is_never_read_into_memory(directory):
    path = plant_record(directory, OTHER, '')
    with open(path, 'wb') as handle:
        handle.truncate(400 * 2 ** 20)  # sparse: 400 MB that take no disk
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    skipped(directory, path, 'it has %d bytes, more than %d' % (400 * 2 ** 20, ledger.MAX_RECORD_BYTES))
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024  # KiB


def test_a_directory_of_a_user_that_others_can_write_is_skipped(directory):
    path = plant_record(directory, OTHER, WEB)
    os.chmod(os.path.dirname(path), 0o777)
    skipped(directory, path, 'its directory is not a directory of uid %d that only it can write' % OTHER)


def test_only_the_admins_number_of_clusters_per_user_count(directory):
    clusters = dict(('c%d' % k, {'api_port': 7000 + k, 'pod_subnet': '10.244.%d.0/24' % k,
                                 'service_subnet': '10.%d.0.0/16' % k}) for k in range(100, 130))
    path = plant_record(directory, OTHER, clusters)
    held, warnings = ledger.others(directory, 0)
    assert len(held) == ledger.DEFAULT_MAX_CLUSTERS == 16
    limit = os.path.join(directory, ledger.LIMIT_FILE)
    assert warnings == ['only the first 16 clusters of uid %d in %s count (14 more are over the per-user limit in '
                        '%s)' % (OTHER, path, limit)]
    with open(limit, 'w') as handle:
        handle.write('2\n')
    assert [a.name for _holder, a in ledger.others(directory, 0)[0]] == ['c100', 'c101']
    # The limit is the admin's: a file of another user in its place is ignored.
    os.chown(limit, OTHER, OTHER)
    assert len(ledger.others(directory, 0)[0]) == 16


def test_no_other_user_can_take_a_users_place(directory):
    # The record directory is root's 0755: another user cannot create a file or a directory in it. What root
    # made for a user is that user's; a record there owned by another uid is not used.
    uid = os.geteuid()
    os.chown(ledger.user_dir(directory, uid), OTHER, OTHER)
    assert ledger.own_place_reason(directory, uid) == (
        '%s is not a directory of uid %d that only it can write' % (ledger.user_dir(directory, uid), uid))
    with pytest.raises(AllocationError) as err:
        ledger.write(directory, uid, {'dev': DEV})
    assert 'fix: run role kinc.kinc.kinc_host with kinc_user set to this user' in str(err.value)


def plant_registry(directory, uid, text):
    place = os.path.join(directory, str(uid))
    if not os.path.isdir(place):
        os.mkdir(place, 0o755)
        os.chown(place, uid, uid)
    path = os.path.join(place, ledger.REGISTRY_FILE)
    with open(path, 'w') as handle:
        handle.write(text)
    os.chown(path, uid, uid)
    return path


def test_a_users_registry_port_is_recorded_seen_by_the_others_and_removed(directory):
    uid = os.geteuid()
    assert ledger.write_registry(directory, uid, 5000) is True
    assert ledger.write_registry(directory, uid, 5000) is False
    assert ledger.registry_port(directory, uid) == 5000
    assert ledger.registry_ports(directory, uid) == ([], [])
    assert ledger.registry_ports(directory, uid + 1) == ([('the local registry of root, uid 0', 5000)], [])
    # The clusters' record is another file: writing one never drops the other.
    ledger.write(directory, uid, {'dev': DEV})
    assert ledger.registry_port(directory, uid) == 5000
    assert ledger.write_registry(directory, uid, None) is True
    assert ledger.registry_port(directory, uid) is None
    assert os.listdir(ledger.user_dir(directory, uid)) == ['record.json']


@pytest.mark.parametrize('text', ['{"port": 70000}', '{"port": true}', '{"port": "5000"}', '[5000]', 'x' * 65, '{'])
def test_a_broken_registry_record_of_another_user_is_skipped_with_a_warning(directory, text):
    path = plant_registry(directory, OTHER, text)
    found, warnings = ledger.registry_ports(directory, 0)
    assert found == [] and len(warnings) == 1 and warnings[0].startswith('skipped the host-wide record %s: ' % path)


def test_a_registry_record_owned_by_someone_else_is_skipped(directory):
    path = plant_registry(directory, OTHER, '{"uid": %d, "port": 5000}' % OTHER)
    assert ledger.registry_ports(directory, 0) == ([('the local registry of uid %d' % OTHER, 5000)], [])
    os.chown(path, OTHER + 1, OTHER + 1)
    assert ledger.registry_ports(directory, 0)[0] == []

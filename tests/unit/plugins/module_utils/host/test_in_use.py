# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The readers of what a user uses now, against prepared /proc and cgroup trees."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.kinc.kinc.plugins.module_utils.host import in_use


def test_owns_the_user_and_its_subordinate_ids():
    owned = in_use.owns(1000, [(100000, 65536)])
    assert [owned(uid) for uid in (1000, 100000, 165535, 165536, 0, 1001)] == [True, True, True, False, False, False]


def test_inotify_usage_counts_instances_and_watches_of_owned_processes(tmp_path):
    me = os.getuid()
    for pid, fds in (('10', {'3': 'anon_inode:inotify', '4': 'pipe:[1]', '5': 'anon_inode:inotify'}),
                     ('11', {'3': 'anon_inode:inotify'})):
        (tmp_path / pid / 'fd').mkdir(parents=True)
        (tmp_path / pid / 'fdinfo').mkdir()
        for fd, target in fds.items():
            os.symlink(target, str(tmp_path / pid / 'fd' / fd))
            (tmp_path / pid / 'fdinfo' / fd).write_text(
                'pos:\t0\nflags:\t00\n' + 'inotify wd:1 ino:2 sdev:3 mask:4\n' * (int(fd) - 1))
    (tmp_path / 'self').mkdir()
    assert in_use.inotify_usage(lambda uid: uid == me, str(tmp_path)) == (3, 2 + 4 + 2)
    assert in_use.inotify_usage(lambda uid: uid != me, str(tmp_path)) == (0, 0)
    assert in_use.inotify_usage(lambda uid: True, str(tmp_path / 'missing')) == (0, 0)


def test_key_usage_reads_the_users_line_of_key_users(tmp_path):
    (tmp_path / 'key-users').write_text('    0:     9 8/8 3/1000000 56/25000000\n'
                                        ' 1000:     2 2/2 7/200 28/20000\n10000:  garbage\n')
    assert in_use.key_usage(1000, str(tmp_path)) == {
        'keys': 7, 'keys_max': 200, 'key_bytes': 28, 'key_bytes_max': 20000}
    assert in_use.key_usage(1001, str(tmp_path)) is None
    assert in_use.key_usage(10000, str(tmp_path)) is None
    assert in_use.key_usage(1000, str(tmp_path / 'missing')) is None


def test_memory_and_slice_tasks(tmp_path):
    (tmp_path / 'meminfo').write_text('MemTotal:       24683664 kB\nMemAvailable:   3145728 kB\n')
    assert in_use.memory_available_mib(str(tmp_path)) == 3072
    assert in_use.memory_available_mib(str(tmp_path / 'missing')) is None
    slice_dir = tmp_path / 'user.slice' / 'user-1000.slice'
    slice_dir.mkdir(parents=True)
    (slice_dir / 'pids.current').write_text('42\n')
    assert in_use.slice_tasks(1000, str(tmp_path)) == 42
    assert in_use.slice_tasks(1001, str(tmp_path)) == 0

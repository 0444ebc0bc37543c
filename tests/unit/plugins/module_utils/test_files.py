# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The files kinc owns: comparison with disk (text, mode, owner), diffs, atomic writes with their final mode."""

import os
import subprocess
import stat

from ansible_collections.kinc.kinc.plugins.module_utils import files


def mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def test_plan_classifies_create_update_repair_and_unchanged_in_the_order_given(tmp_path):
    (tmp_path / 'a.volume').write_text('same\n')
    os.chmod(str(tmp_path / 'a.volume'), 0o644)
    (tmp_path / 'b.volume').write_text('old\n')
    (tmp_path / 'd.volume').write_text('same\n')
    os.chmod(str(tmp_path / 'd.volume'), 0o666)
    changes = files.plan(str(tmp_path), [('c.container', 'x\n'), ('a.volume', 'same\n'), ('b.volume', 'new\n'),
                                         ('d.volume', 'same\n')], 0o644)
    assert [(c.name, c.action) for c in changes] == [
        ('c.container', 'create'), ('a.volume', 'none'), ('b.volume', 'update'), ('d.volume', 'repair')]
    assert [c.name for c in files.changed(changes)] == ['c.container', 'b.volume', 'd.volume']


def test_diffs_carry_before_and_after_of_changed_texts_only(tmp_path):
    (tmp_path / 'b.volume').write_text('old\n')
    (tmp_path / 'r.volume').write_text('same\n')
    os.chmod(str(tmp_path / 'r.volume'), 0o600)
    changes = files.plan(str(tmp_path), [('b.volume', 'new\n'), ('r.volume', 'same\n')], 0o644)
    assert files.diffs(changes) == [{'before_header': str(tmp_path / 'b.volume'),
                                     'after_header': str(tmp_path / 'b.volume'), 'before': 'old\n', 'after': 'new\n'}]
    diff = files.diffs(files.plan(str(tmp_path), [('n.container', 'x\n')], 0o644))[0]
    assert diff['before'] == '' and diff['before_header'].endswith('(absent)')


def test_a_new_file_is_born_with_its_mode_whatever_the_umask(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def replace(src, dest):
        seen.append((mode(src), open(src).read()))
        real_replace(src, dest)
    monkeypatch.setattr(os, 'replace', replace)
    old = os.umask(0)
    try:
        files.write_atomic(str(tmp_path / 'kube' / 'kinc-dev.conf'), 'secret\n', 0o600, dir_mode=0o700)
    finally:
        os.umask(old)
    assert seen == [(0o600, 'secret\n')]
    assert mode(tmp_path / 'kube' / 'kinc-dev.conf') == 0o600 and mode(tmp_path / 'kube') == 0o700
    assert os.listdir(str(tmp_path / 'kube')) == ['kinc-dev.conf']


def test_an_update_does_not_inherit_the_wrong_mode_of_the_old_file(tmp_path):
    path = tmp_path / 'kinc-dev.conf'
    path.write_text('old\n')
    os.chmod(str(path), 0o644)
    files.apply(files.plan_file('kinc-dev.conf', str(path), 'new\n', 0o600))
    assert path.read_text() == 'new\n' and mode(path) == 0o600


def dead_pid():
    child = subprocess.Popen(['true'])
    child.wait()
    return child.pid


def test_a_temporary_file_left_by_a_killed_write_is_removed_by_the_next_write(tmp_path):
    (tmp_path / ('.u.container%s%d' % (files.TEMP_MARK, dead_pid()))).write_text('half')
    (tmp_path / ('.u.container%s%d-0a1b2c3d' % (files.TEMP_MARK, dead_pid()))).write_text('half')
    files.write_atomic(str(tmp_path / 'u.container'), 'text\n', 0o644)
    assert os.listdir(str(tmp_path)) == ['u.container']


def test_the_temporary_file_of_a_live_writer_is_left_to_it(tmp_path):
    # A second run of the same user writing the same file at the same time: its rename must still work.
    writer = subprocess.Popen(['sleep', '30'])
    try:
        theirs = tmp_path / ('.u.container%s%d-0a1b2c3d' % (files.TEMP_MARK, writer.pid))
        theirs.write_text('in flight')
        files.write_atomic(str(tmp_path / 'u.container'), 'text\n', 0o644)
        assert sorted(os.listdir(str(tmp_path))) == sorted(['u.container', theirs.name])
    finally:
        writer.kill()
        writer.wait()


def test_plan_removal_lists_only_existing_files_and_apply_deletes_them(tmp_path):
    (tmp_path / 'a.volume').write_text('a\n')
    changes = files.plan_removal(str(tmp_path), ['a.volume', 'missing.volume'])
    assert [(c.name, c.action, c.before, c.after) for c in changes] == [('a.volume', 'remove', 'a\n', None)]
    files.apply(changes[0])
    assert not (tmp_path / 'a.volume').exists()

# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Quadlet unit files: comparison with disk, diffs, atomic writes and removal."""

import os
import stat

from ansible_collections.kinc.kinc.plugins.module_utils import quadlet


def test_plan_classifies_create_update_and_unchanged(tmp_path):
    (tmp_path / 'a.volume').write_text('same\n')
    (tmp_path / 'b.volume').write_text('old\n')
    changes = quadlet.plan(str(tmp_path), {'a.volume': 'same\n', 'b.volume': 'new\n', 'c.container': 'x\n'})
    assert [(c.name, c.action) for c in changes] == [
        ('a.volume', 'none'), ('b.volume', 'update'), ('c.container', 'create')]
    assert [c.name for c in quadlet.changed(changes)] == ['b.volume', 'c.container']


def test_diffs_carry_before_and_after_of_changed_files_only(tmp_path):
    (tmp_path / 'a.volume').write_text('same\n')
    (tmp_path / 'b.volume').write_text('old\n')
    changes = quadlet.plan(str(tmp_path), {'a.volume': 'same\n', 'b.volume': 'new\n'})
    diffs = quadlet.diffs(changes)
    assert diffs == [{'before_header': str(tmp_path / 'b.volume'), 'after_header': str(tmp_path / 'b.volume'),
                      'before': 'old\n', 'after': 'new\n'}]


def test_diff_of_a_new_file_marks_the_before_side_absent(tmp_path):
    diff = quadlet.diffs(quadlet.plan(str(tmp_path), {'n.container': 'x\n'}))[0]
    assert diff['before'] == '' and diff['before_header'].endswith('(absent)')


def test_apply_writes_atomically_with_the_mode_and_creates_the_directory(tmp_path):
    moves = []

    def atomic_move(src, dest):
        moves.append((os.path.dirname(src), os.path.basename(dest)))
        os.rename(src, dest)

    target = tmp_path / 'systemd'
    changes = quadlet.plan(str(target), {'u.container': 'text\n'})
    quadlet.apply(changes, atomic_move, mode=0o640)
    assert (target / 'u.container').read_text() == 'text\n'
    assert stat.S_IMODE(os.stat(str(target / 'u.container')).st_mode) == 0o640
    # The temporary file lives next to the target, so the rename stays on one file system.
    assert moves == [(str(target), 'u.container')]
    assert os.listdir(str(target)) == ['u.container']


def test_plan_removal_lists_only_existing_files_and_apply_deletes_them(tmp_path):
    (tmp_path / 'a.volume').write_text('a\n')
    changes = quadlet.plan_removal(str(tmp_path), ['a.volume', 'missing.volume'])
    assert [(c.name, c.action, c.before, c.after) for c in changes] == [('a.volume', 'remove', 'a\n', None)]
    quadlet.apply(changes, os.rename)
    assert not (tmp_path / 'a.volume').exists()


def test_quote_escapes_quotes_and_backslashes_for_systemd_word_splitting():
    assert quadlet.quote('io.kinc.managed-by=kinc.kinc 0.1.0') == '"io.kinc.managed-by=kinc.kinc 0.1.0"'
    assert quadlet.quote('a"b\\c') == '"a\\"b\\\\c"'


def test_publish_port_brackets_ipv6_addresses():
    assert quadlet.publish_port('127.0.0.1', 6443, 6443) == '127.0.0.1:6443:6443'
    assert quadlet.publish_port('::1', 7443, 6443) == '[::1]:7443:6443'


def test_volume_service_name_follows_quadlet():
    assert quadlet.volume_service_name('kinc-dev-config.volume') == 'kinc-dev-config-volume.service'


def test_default_dir_depends_on_rootless(monkeypatch):
    monkeypatch.setenv('HOME', '/home/u')
    assert quadlet.default_dir(True) == '/home/u/.config/containers/systemd'
    assert quadlet.default_dir(False) == '/etc/containers/systemd'

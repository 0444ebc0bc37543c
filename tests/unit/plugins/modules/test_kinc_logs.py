# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_logs' module entry point against the shared fake host: every path stays under dest, whatever the
labels, links or modes it finds; archives and files are 0600."""

import json
import os
import stat

import pytest

from fake_host import FakeHost

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args
from ansible_collections.kinc.kinc.plugins.module_utils import module_base
from ansible_collections.kinc.kinc.plugins.modules import kinc_logs


@pytest.fixture
def host(tmp_path, monkeypatch):
    host = FakeHost(tmp_path)
    monkeypatch.setattr(AnsibleModule, 'run_command', lambda self, argv, data=None, **kwargs: host.run(argv, data))
    monkeypatch.setattr(AnsibleModule, 'get_bin_path', lambda self, name, *args, **kwargs: '/usr/bin/' + name)
    monkeypatch.setattr(module_base, 'rootless_environment', lambda module, required=True: True)
    monkeypatch.setenv('HOME', str(host.home))
    host.add_volume('kinc-dev-config', {'io.kinc.cluster': 'dev'})
    return host


def call(capsys, **args):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            kinc_logs.main()
    return json.loads(capsys.readouterr().out)


def test_a_label_that_is_not_a_cluster_name_never_becomes_a_path(host, capsys, tmp_path):
    victim = tmp_path / 'victim'
    victim.mkdir()
    (victim / 'precious').write_text('keep')
    host.add_volume('evil', {'io.kinc.cluster': '../victim'})
    dest = tmp_path / 'out'
    result = call(capsys, dest=str(dest))
    assert not result.get('failed'), result.get('msg')
    assert [c['name'] for c in result['clusters']] == ['dev']
    assert (victim / 'precious').read_text() == 'keep' and not (tmp_path / 'victim.tar.gz').exists()
    assert any("skipped '../victim': a io.kinc.cluster label that is not a cluster name" in str(w)
               for w in result['warnings'])


def test_files_and_archives_are_new_files_of_mode_0600_and_links_are_not_followed(host, capsys, tmp_path):
    dest = tmp_path / 'out'
    dest.mkdir(mode=0o700)
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    os.symlink(str(elsewhere), str(dest / 'dev'))
    os.symlink(str(elsewhere / 'archive'), str(dest / 'dev.tar.gz'))
    result = call(capsys, dest=str(dest))
    assert not result.get('failed'), result.get('msg')
    assert os.listdir(str(elsewhere)) == []
    assert not os.path.islink(str(dest / 'dev')) and not os.path.islink(str(dest / 'dev.tar.gz'))
    assert stat.S_IMODE(os.stat(str(dest / 'dev.tar.gz')).st_mode) == 0o600
    for root, dirs, names in os.walk(str(dest / 'dev')):
        assert all(stat.S_IMODE(os.stat(os.path.join(root, d)).st_mode) == 0o700 for d in dirs)
        assert all(stat.S_IMODE(os.stat(os.path.join(root, n)).st_mode) == 0o600 for n in names)


@pytest.mark.parametrize('make, why', [
    (lambda dest, other: (dest.mkdir(), dest.chmod(0o777)), 'is writable by other users (mode 777)'),
    (lambda dest, other: os.symlink(str(other), str(dest)), 'is not a directory (a link is not followed)'),
    (lambda dest, other: (dest.mkdir(), os.chown(str(dest), 4242, 4242)), 'belongs to uid 4242, not to uid 0 running the task'),
], ids=['shared', 'link', 'foreign'])
def test_a_dest_that_others_could_redirect_is_refused_before_anything_is_written(host, capsys, tmp_path, make, why):
    dest, other = tmp_path / 'out', tmp_path / 'other'
    other.mkdir()
    make(dest, other)
    result = call(capsys, dest=str(dest))
    assert result['failed'] is True
    assert result['msg'] == ('dest: %s %s; fix: give a directory of your own that others cannot write, or a path '
                             'that does not exist yet' % (dest, why))
    assert os.listdir(str(other)) == [] and not os.path.exists(str(dest / 'dev'))

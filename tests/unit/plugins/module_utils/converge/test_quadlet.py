# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Quadlet units: template values, the order they are written in, and when systemd must reload them."""

from ansible_collections.kinc.kinc.plugins.module_utils.host import cgroups
from ansible_collections.kinc.kinc.plugins.module_utils.converge import host_snapshot
from ansible_collections.kinc.kinc.plugins.module_utils.converge import quadlet


def test_plan_follows_the_order_given_volumes_before_the_container(tmp_path):
    order = ['kinc-dev-var-data.volume', 'kinc-dev-config.volume', 'kinc-dev-control-plane.container']
    units = dict((name, name + '\n') for name in order)
    assert [c.name for c in quadlet.plan(str(tmp_path), order, units)] == order


def test_quote_escapes_quotes_and_backslashes_for_systemd_word_splitting():
    assert quadlet.quote('io.kinc.managed-by=kinc.kinc') == '"io.kinc.managed-by=kinc.kinc"'
    assert quadlet.quote('a"b\\c') == '"a\\"b\\\\c"'


def test_publish_port_brackets_ipv6_addresses():
    assert quadlet.publish_port('127.0.0.1', 6443, 6443) == '127.0.0.1:6443:6443'
    assert quadlet.publish_port('::1', 7443, 6443) == '[::1]:7443:6443'


def test_volume_service_name_follows_quadlet():
    assert host_snapshot.volume_service_name('kinc-dev-config.volume') == 'kinc-dev-config-volume.service'
    assert host_snapshot.services('dev') == ['kinc-dev-control-plane.service', 'kinc-dev-var-data-volume.service',
                                             'kinc-dev-config-volume.service']


def test_default_dir_depends_on_rootless(monkeypatch):
    monkeypatch.setenv('HOME', '/home/u')
    assert quadlet.default_dir(True) == '/home/u/.config/containers/systemd'
    assert quadlet.default_dir(False) == '/etc/containers/systemd'


def test_reload_is_needed_for_units_systemd_has_not_loaded_or_loaded_stale(tmp_path):
    generated = tmp_path / 'kinc-dev-control-plane.service'
    generated.write_text('ExecStart=podman run --label io.kinc.node-digest=abc\n')
    loaded = {'LoadState': 'loaded', 'NeedDaemonReload': 'no', 'FragmentPath': str(generated)}
    assert quadlet.reload_needed([loaded], True, 'abc') is False
    assert quadlet.reload_needed([loaded], True, 'def') is True
    assert quadlet.reload_needed([dict(loaded, LoadState='not-found')], True, 'abc') is True
    assert quadlet.reload_needed([dict(loaded, NeedDaemonReload='yes')], True, 'abc') is True
    assert quadlet.reload_needed([{'LoadState': 'not-found', 'NeedDaemonReload': 'no'}], False, None) is False


def test_units_gone_from_disk_but_still_loaded_need_a_reload():
    assert quadlet.still_loaded([{'LoadState': 'not-found'}, {'LoadState': 'loaded'}]) is True
    assert quadlet.still_loaded([{'LoadState': 'not-found', 'NeedDaemonReload': 'no'}]) is False


def test_for_host_keeps_the_unlimited_pids_line_only_where_the_owner_has_the_pids_controller():
    units = {'kinc-dev-control-plane.container': '[Container]\nImage=x\nPidsLimit=-1\nTmpfs=/tmp\n',
             'kinc-dev-var-data.volume': '[Volume]\n'}
    assert quadlet.for_host(units, ['cpu', 'memory', 'pids']) == units
    assert quadlet.for_host(units, ['cpu', 'memory'])['kinc-dev-control-plane.container'] == \
        '[Container]\nImage=x\nTmpfs=/tmp\n'
    assert quadlet.for_host(units, [])['kinc-dev-var-data.volume'] == '[Volume]\n'


def test_owner_controllers_are_the_user_managers_for_a_user_and_the_root_cgroups_for_root(tmp_path):
    manager = tmp_path / 'user.slice' / 'user-1000.slice' / 'user@1000.service'
    manager.mkdir(parents=True)
    (manager / 'cgroup.controllers').write_text('cpu memory pids\n')
    (tmp_path / 'cgroup.controllers').write_text('cpuset cpu io memory hugetlb pids rdma misc\n')
    assert cgroups.owner_controllers(1000, str(tmp_path)) == ['cpu', 'memory', 'pids']
    assert 'rdma' in cgroups.owner_controllers(0, str(tmp_path))
    # No user manager (cgroup v1, no lingering yet): nothing delegated.
    assert cgroups.owner_controllers(1001, str(tmp_path)) == []

# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_registry's main() against the shared fake host: placement, check mode, idempotence, the owner's drop-in,
removal that keeps the volume unless purged, and another user's registry recorded host-wide."""

import json
import os

import pytest

from fake_host import FakeHost, plant_record

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args
from ansible_collections.kinc.kinc.plugins.module_utils.allocation import ledger
from ansible_collections.kinc.kinc.plugins.module_utils.allocation import host_network
from ansible_collections.kinc.kinc.plugins.module_utils import module_base
from ansible_collections.kinc.kinc.plugins.modules import kinc_registry

DROP_IN = '.config/containers/registries.conf.d/50-kinc-registry.conf'


@pytest.fixture
def host(tmp_path, monkeypatch):
    fake = FakeHost(tmp_path)
    monkeypatch.setattr(AnsibleModule, 'run_command', lambda self, argv, data=None, **kwargs: fake.run(argv, data))
    monkeypatch.setattr(AnsibleModule, 'get_bin_path', lambda self, name, *args, **kwargs: '/usr/bin/' + name)
    monkeypatch.setattr(module_base, 'rootless_environment', lambda module, required=True: True)
    monkeypatch.setattr(host_network, 'listeners', lambda proc='/proc', protocol='tcp': [])
    monkeypatch.setenv('HOME', str(fake.home))
    return fake


def call(host, capsys, check_mode=False, **args):
    args = dict({'quadlet_dir': host.quadlet_dir, 'host_record_dir': host.record_dir, '_ansible_check_mode': check_mode,
                 '_ansible_diff': True}, **args)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            kinc_registry.main()
    return json.loads(capsys.readouterr().out)


def test_a_registry_is_placed_recorded_started_and_an_unchanged_run_changes_nothing(host, capsys):
    planned = call(host, capsys, check_mode=True)
    assert planned['changed'] and planned['port'] == 5000 and 'kinc-registry' not in host.volume_labels()
    done = call(host, capsys)
    assert done['actions'] == planned['actions'] == [
        'created volume kinc-registry (port 5000)', 'recorded port 5000 in the host-wide record',
        'wrote kinc-registry.volume', 'wrote kinc-registry.container', 'wrote 50-kinc-registry.conf',
        'started kinc-registry.service']
    assert host.volume_labels()['kinc-registry']['io.kinc.registry-port'] == '5000'
    assert ledger.registry_port(host.record_dir, os.geteuid()) == 5000
    assert host.active['kinc-registry.service'] == 'active'
    assert (host.home / DROP_IN).read_text().endswith('location = "localhost:5000"\ninsecure = true\n')
    assert call(host, capsys)['changed'] is False
    assert call(host, capsys, check_mode=True)['changed'] is False


def test_the_port_skips_clusters_and_other_users_registries(host, capsys):
    host.add_volume('kinc-dev-var-data', {'io.kinc.cluster': 'dev', 'io.kinc.api-port': '5000',
                                          'io.kinc.pod-subnet': '10.244.0.0/24', 'io.kinc.service-subnet': '10.0.0.0/16'})
    place = os.path.join(host.record_dir, '4242')
    os.makedirs(place, exist_ok=True)
    os.chown(place, 4242, 4242)
    with open(os.path.join(place, 'registry.json'), 'w') as handle:
        handle.write('{"uid": 4242, "port": 5001}')
    os.chown(os.path.join(place, 'registry.json'), 4242, 4242)
    assert call(host, capsys)['port'] == 5002
    refused = call(host, capsys, port=5003)
    assert refused['failed'] and refused['msg'] == ('port: 5003 differs from port 5002 the registry holds; fix: leave '
                                                    'port out (or set it to 5002), or remove the registry with '
                                                    'state=absent purge=true first')


def test_removal_keeps_the_volume_and_the_port_unless_purged(host, capsys):
    call(host, capsys)
    removed = call(host, capsys, state='absent')
    assert removed['actions'] == ['stopped kinc-registry.service', 'removed kinc-registry.container',
                                  'removed kinc-registry.volume', 'removed 50-kinc-registry.conf']
    assert 'kinc-registry' in host.volume_labels() and not (host.home / DROP_IN).exists()
    assert ledger.registry_port(host.record_dir, os.geteuid()) == 5000
    assert call(host, capsys, state='absent')['changed'] is False
    purged = call(host, capsys, state='absent', purge=True)
    assert purged['actions'] == ['removed volume kinc-registry', 'removed the port from the host-wide record']
    assert 'kinc-registry' not in host.volume_labels()
    assert ledger.registry_port(host.record_dir, os.geteuid()) is None


def test_a_drop_in_kinc_did_not_write_is_never_replaced(host, capsys):
    (host.home / DROP_IN).parent.mkdir(parents=True)
    (host.home / DROP_IN).write_text('[[registry]]\nlocation = "localhost:5000"\n')
    failed = call(host, capsys)
    assert failed['failed'] and failed['msg'].startswith('%s exists and kinc did not write it' % (host.home / DROP_IN))
    assert 'kinc-registry' not in host.volume_labels()
    assert call(host, capsys, state='absent')['failed']
    assert (host.home / DROP_IN).read_text() == '[[registry]]\nlocation = "localhost:5000"\n'


def test_the_port_skips_what_another_users_stopped_cluster_publishes(host, capsys):
    """A cluster of another user publishes its host ports again when it starts: the record holds them."""
    plant_record(host.record_dir, 4242, {'web': {'api_port': 6443, 'pod_subnet': '10.244.43.0/24',
                                                 'service_subnet': '10.43.0.0/16',
                                                 'ports': [{'host_port': 5000, 'protocol': 'tcp', 'address': '0.0.0.0'}]}})
    assert call(host, capsys)['port'] == 5001
    refused = call(host, capsys, state='absent', purge=True) and call(host, capsys, port=5000)
    assert refused['failed'] and "5000 is held by cluster 'web' of uid 4242 (a published port)" in refused['msg']

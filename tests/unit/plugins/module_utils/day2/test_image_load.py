# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_image's decisions against the shared fake host (tests/unit/fake_host.py): idempotence by ID, check
mode, and the errors a user meets (missing image, stopped cluster, full disk, a node without skopeo). The real
copy runs in tests/integration/test_day2.py."""

import hashlib
import os

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils.day2 import image_load
from ansible_collections.kinc.kinc.plugins.module_utils.module_base import KincError
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import PodmanClient

CONFIG_A = '{"os":"linux","config":{"Labels":{"v":"a"}}}'
CONFIG_B = '{"os":"linux","config":{"Labels":{"v":"b"}}}'
ID_A = hashlib.sha256(CONFIG_A.encode()).hexdigest()
ID_B = hashlib.sha256(CONFIG_B.encode()).hexdigest()
NODE = 'kinc-dev-control-plane'


def node(host, state='running', store=None, volumes=True):
    """The owner's image localhost/app:dev (config A) and cluster dev, whose node's store maps names to configs."""
    host.add_image('localhost/app:dev', CONFIG_A)
    if volumes:
        host.add_volume('kinc-dev-var-data', {})
    if state != 'absent':
        host.add_container(NODE, {}, state=state)
    host.node_images[NODE] = dict(store or {})
    return host


def calls(host):
    """The podman arguments of every call, as the fake host reads them (without exec's --env pairs)."""
    return [host._args(argv) for argv in host.podman_calls()]


def copies(host):
    return [c for c in calls(host) if c[:1] == ['exec'] and c[2:4] == ['skopeo', 'copy']]


def ensure(host, check_mode=False, image='localhost/app:dev', rootless=True):
    """kinc_image's podman path, with its archive saved under the host's tmp/."""
    tmp_dir = host.root / 'tmp'
    tmp_dir.mkdir(exist_ok=True)
    podman = PodmanClient(host.run, 'podman')
    source = image_load.podman_source(podman, image)
    return image_load.ensure(podman, 'dev', source, source.names[0], str(tmp_dir), check_mode, rootless)


@pytest.mark.parametrize('rootless', [True, False])
def test_skopeo_in_a_rootless_node_is_told_it_runs_in_a_user_namespace(host, rootless):
    # Without it the layer unpacker writes trusted.* xattrs for an opaque whiteout, which a user namespace
    # refuses (tests/integration/test_node_runtime.py unpacks such an image with the real skopeo).
    ensure(node(host), rootless=rootless)
    execs = [argv for argv in host.podman_calls() if argv[1] == 'exec']
    assert execs and all(('--env' in argv) == rootless for argv in execs)
    assert all(argv[argv.index('--env') + 1] == '_CONTAINERS_USERNS_CONFIGURED=done' for argv in execs if rootless)


def test_a_new_image_is_saved_copied_in_and_verified(host):
    result = ensure(node(host), image='app:dev')
    assert result['changed'] is True
    assert (result['name'], result['image_id'], result['previous_id']) == ('localhost/app:dev', ID_A, None)
    assert result['diff'] == {'before': {'cluster': 'dev', 'name': 'localhost/app:dev', 'image_id': None},
                              'after': {'cluster': 'dev', 'name': 'localhost/app:dev', 'image_id': ID_A}}
    save, = [c for c in calls(host) if c[0] == 'save']
    assert save[:4] == ['save', '--quiet', '--format', 'docker-archive'] and save[-1] == 'app:dev'
    cp, = [c for c in calls(host) if c[0] == 'cp']
    assert cp[2].startswith(NODE + ':/var/tmp/kinc-image-')
    copy, = copies(host)
    assert copy[-2:] == ['docker-archive:' + cp[2].split(':', 1)[1], 'containers-storage:localhost/app:dev']
    assert host.node_images[NODE] == {'localhost/app:dev': CONFIG_A}
    # The archive in the node and the one on the host are gone.
    assert ['exec', NODE, 'rm', '-f', cp[2].split(':', 1)[1]] in calls(host)
    assert not os.path.exists(host.node_path(NODE, cp[2].split(':', 1)[1]))
    assert list((host.root / 'tmp').iterdir()) == []


def test_the_same_id_already_in_the_node_changes_nothing(host):
    result = ensure(node(host, store={'localhost/app:dev': CONFIG_A}))
    assert result['changed'] is False and result['previous_id'] == ID_A
    assert not [c for c in calls(host) if c[0] in ('save', 'cp')]


def test_a_rebuilt_image_with_the_same_tag_is_loaded_again(host):
    result = ensure(node(host, store={'localhost/app:dev': CONFIG_B}))
    assert result['changed'] is True and (result['previous_id'], result['image_id']) == (ID_B, ID_A)
    assert host.node_images[NODE]['localhost/app:dev'] == CONFIG_A


def test_check_mode_reports_without_copying_even_before_the_cluster_runs(host):
    assert ensure(node(host, store={'localhost/app:dev': CONFIG_B}), check_mode=True)['changed'] is True
    assert copies(host) == [] and not [c for c in calls(host) if c[0] == 'save']
    del host.containers[NODE]  # stopped: Quadlet removed the node container
    assert ensure(host, check_mode=True)['changed'] is True


def test_a_missing_image_names_the_build_command(host):
    with pytest.raises(KincError, match=r"image localhost/other:1 is not in the Podman storage.*podman build -t"):
        ensure(node(host), image='localhost/other:1')


@pytest.mark.parametrize('state, volumes, fragment', [
    ('exited', True, r'cluster dev is not running \(its node container kinc-dev-control-plane is exited\); start it'),
    # Quadlet removes a stopped node's container; its volumes say the cluster exists.
    ('absent', True, r'cluster dev is not running \(its node container kinc-dev-control-plane is gone\)'),
    ('absent', False, r'cluster dev does not exist on this host .*deploy it first'),
])
def test_a_cluster_that_does_not_run_is_an_error(host, state, volumes, fragment):
    with pytest.raises(KincError, match=fragment):
        ensure(node(host, state=state, volumes=volumes))


def test_too_little_space_in_the_node_fails_before_copying(host):
    host.free = 10 ** 8
    with pytest.raises(KincError, match=r'cluster dev has 95 MiB free on its /var volume; .* needs about 190 MiB'):
        ensure(node(host))
    assert copies(host) == []


def test_a_full_disk_during_the_copy_says_so(host):
    host.node_refuse['skopeo copy'] = 'writing blob: write /var/lib/containers/storage/x: no space left on device'
    with pytest.raises(KincError, match=r'the disk holding its /var volume is full'):
        ensure(node(host))


def test_a_node_without_skopeo_says_to_rebuild_the_node_image(host):
    host.node_missing.add('skopeo')
    with pytest.raises(KincError, match=r'has no skopeo.*rebuild the node image'):
        ensure(node(host))


def test_an_id_that_changes_on_the_way_is_an_error(host, tmp_path):
    podman = PodmanClient(node(host).run, 'podman')
    source = image_load.podman_source(podman, 'localhost/app:dev')
    host.add_image('localhost/app:dev', CONFIG_B)  # what lands in the node is another config
    with pytest.raises(KincError, match='its config was rewritten'):
        image_load.ensure(podman, 'dev', source, 'localhost/app:dev', str(tmp_path), False, True)

# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_image's decisions against a scripted podman: idempotence by ID, check mode, and the errors a user
meets (missing image, stopped cluster, full disk, a node without skopeo). The real copy runs in
tests/integration/test_day2.py."""

import hashlib
import json

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils import image_load
from ansible_collections.kinc.kinc.plugins.module_utils.module_base import KincError
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import PodmanClient

CONFIG_A = '{"os":"linux","config":{"Labels":{"v":"a"}}}'
CONFIG_B = '{"os":"linux","config":{"Labels":{"v":"b"}}}'
ID_A = hashlib.sha256(CONFIG_A.encode()).hexdigest()
ID_B = hashlib.sha256(CONFIG_B.encode()).hexdigest()
NODE = 'kinc-dev-control-plane'


class FakeNode(object):
    """podman as seen by kinc_image: one owner's image, one node whose store maps names to configs."""

    def __init__(self, state='running', store=None, free=10 ** 10, skopeo=True, copy_error=None, volumes=True):
        self.state = state
        self.volumes = volumes
        self.store = dict(store or {})
        self.free = free
        self.skopeo = skopeo
        self.copy_error = copy_error
        self.owner_config = CONFIG_A
        self.calls = []

    def __call__(self, argv, data=None):
        args = argv[1:]
        self.calls.append(args)
        if args[:2] == ['image', 'inspect']:
            if args[-1] not in ('localhost/app:dev', 'app:dev'):
                return 125, '[]', 'Error: %s: image not known' % args[-1]
            image_id = hashlib.sha256(self.owner_config.encode()).hexdigest()
            return 0, json.dumps([{'Id': image_id, 'RepoTags': ['localhost/app:dev'], 'Size': 10 ** 8}]), ''
        if args[:2] == ['container', 'inspect']:
            if self.state == 'absent':
                return 125, '[]', 'Error: no such container %s' % NODE
            return 0, json.dumps([{'State': {'Status': self.state}}]), ''
        if args[:2] == ['volume', 'ls']:
            return 0, json.dumps([{'Name': 'kinc-dev-var-data', 'Labels': {}}] if self.volumes else []), ''
        if args[0] == 'save':
            return 0, '', ''
        if args[0] == 'cp':
            return 0, '', ''
        if args[0] == 'exec':
            return self.node(args[2:])
        raise AssertionError('unexpected podman call %r' % args)

    def node(self, argv):
        if argv[0] == 'skopeo' and not self.skopeo:
            return 127, '', 'exec: "skopeo": executable file not found in $PATH'
        if argv[:2] == ['skopeo', 'inspect']:
            name = argv[-1].split(':', 1)[1]
            if name not in self.store:
                return 1, '', ('reference "[vfs@/var/lib/containers/storage+/run/containers/storage]%s" does not '
                               'resolve to an image ID' % name)
            return 0, self.store[name], ''
        if argv[:2] == ['skopeo', 'copy']:
            if self.copy_error:
                return 1, '', self.copy_error
            self.store[argv[-1].split(':', 1)[1]] = self.owner_config
            return 0, '', ''
        if argv[0] == 'df':
            return 0, 'Filesystem 1-blocks Used Available Capacity Mounted on\nvar 100 0 %d 0%% /var\n' % self.free, ''
        if argv[0] == 'rm':
            return 0, '', ''
        raise AssertionError('unexpected command in the node %r' % argv)

    def copies(self):
        return [c for c in self.calls if c[:1] == ['exec'] and c[2:4] == ['skopeo', 'copy']]


def ensure(fake, tmp_path, check_mode=False, image='localhost/app:dev'):
    podman = PodmanClient(fake, 'podman')
    source = image_load.podman_source(podman, image)
    return image_load.ensure(podman, 'dev', source, source.names[0], str(tmp_path), check_mode)


def test_a_new_image_is_saved_copied_in_and_verified(tmp_path):
    fake = FakeNode()
    result = ensure(fake, tmp_path, image='app:dev')
    assert result['changed'] is True
    assert (result['name'], result['image_id'], result['previous_id']) == ('localhost/app:dev', ID_A, None)
    assert result['diff'] == {'before': {'cluster': 'dev', 'name': 'localhost/app:dev', 'image_id': None},
                              'after': {'cluster': 'dev', 'name': 'localhost/app:dev', 'image_id': ID_A}}
    save, = [c for c in fake.calls if c[0] == 'save']
    assert save[:4] == ['save', '--quiet', '--format', 'docker-archive'] and save[-1] == 'app:dev'
    cp, = [c for c in fake.calls if c[0] == 'cp']
    assert cp[2].startswith(NODE + ':/var/tmp/kinc-image-')
    copy, = fake.copies()
    assert copy[-2:] == ['docker-archive:' + cp[2].split(':', 1)[1], 'containers-storage:localhost/app:dev']
    # The archive in the node and the one on the host are gone.
    assert ['exec', NODE, 'rm', '-f', cp[2].split(':', 1)[1]] in fake.calls
    assert list(tmp_path.iterdir()) == []


def test_the_same_id_already_in_the_node_changes_nothing(tmp_path):
    fake = FakeNode(store={'localhost/app:dev': CONFIG_A})
    result = ensure(fake, tmp_path)
    assert result['changed'] is False and result['previous_id'] == ID_A
    assert not [c for c in fake.calls if c[0] in ('save', 'cp')]


def test_a_rebuilt_image_with_the_same_tag_is_loaded_again(tmp_path):
    fake = FakeNode(store={'localhost/app:dev': CONFIG_B})
    result = ensure(fake, tmp_path)
    assert result['changed'] is True and (result['previous_id'], result['image_id']) == (ID_B, ID_A)
    assert fake.store['localhost/app:dev'] == CONFIG_A


def test_check_mode_reports_without_copying_even_before_the_cluster_runs(tmp_path):
    fake = FakeNode(store={'localhost/app:dev': CONFIG_B})
    assert ensure(fake, tmp_path, check_mode=True)['changed'] is True
    assert fake.copies() == [] and not [c for c in fake.calls if c[0] == 'save']
    absent = FakeNode(state='absent')
    assert ensure(absent, tmp_path, check_mode=True)['changed'] is True


def test_a_missing_image_names_the_build_command(tmp_path):
    with pytest.raises(KincError, match=r"image localhost/other:1 is not in the Podman storage.*podman build -t"):
        ensure(FakeNode(), tmp_path, image='localhost/other:1')


@pytest.mark.parametrize('state, volumes, fragment', [
    ('exited', True, r'cluster dev is not running \(its node container kinc-dev-control-plane is exited\); start it'),
    # Quadlet removes a stopped node's container; its volumes say the cluster exists.
    ('absent', True, r'cluster dev is not running \(its node container kinc-dev-control-plane is gone\)'),
    ('absent', False, r'cluster dev does not exist on this host .*deploy it first'),
])
def test_a_cluster_that_does_not_run_is_an_error(tmp_path, state, volumes, fragment):
    with pytest.raises(KincError, match=fragment):
        ensure(FakeNode(state=state, volumes=volumes), tmp_path)


def test_too_little_space_in_the_node_fails_before_copying(tmp_path):
    fake = FakeNode(free=10 ** 8)
    with pytest.raises(KincError, match=r'cluster dev has 95 MiB free on its /var volume; .* needs about 190 MiB'):
        ensure(fake, tmp_path)
    assert fake.copies() == []


def test_a_full_disk_during_the_copy_says_so(tmp_path):
    fake = FakeNode(copy_error='writing blob: write /var/lib/containers/storage/x: no space left on device')
    with pytest.raises(KincError, match=r'the disk holding its /var volume is full'):
        ensure(fake, tmp_path)


def test_a_node_without_skopeo_says_to_rebuild_the_node_image(tmp_path):
    with pytest.raises(KincError, match=r'has no skopeo.*rebuild the node image'):
        ensure(FakeNode(skopeo=False), tmp_path)


def test_an_id_that_changes_on_the_way_is_an_error(tmp_path):
    fake = FakeNode()
    fake.owner_config = CONFIG_A
    podman = PodmanClient(fake, 'podman')
    source = image_load.podman_source(podman, 'localhost/app:dev')
    fake.owner_config = CONFIG_B  # what lands in the node is another config
    with pytest.raises(KincError, match='its config was rewritten'):
        image_load.ensure(podman, 'dev', source, 'localhost/app:dev', str(tmp_path), False)

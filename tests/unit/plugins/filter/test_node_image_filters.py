# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.kinc.kinc.plugins.filter.node_image import node_image_build_args, node_image_choice

DEFAULT = 'localhost/kinc-node:v1.37.1'


def declared(**entries):
    return [dict({'name': name, 'image': DEFAULT, 'kubernetes_version': '', 'state': 'present'}, **entry)
            for name, entry in entries.items()]


def test_a_pinned_version_without_an_own_image_chooses_kincs_image_of_that_version():
    clusters = [{'name': 'a'}, {'name': 'b', 'kubernetes_version': '1.36.4'},
                {'name': 'c', 'kubernetes_version': '1.35.9', 'image': 'quay.io/me/node:1'}]
    chosen = node_image_choice(declared(a={}, b={'kubernetes_version': '1.36.4'},
                                        c={'kubernetes_version': '1.35.9', 'image': 'quay.io/me/node:1'}), clusters)
    assert [c['image'] for c in chosen] == [DEFAULT, 'localhost/kinc-node:v1.36.4', 'quay.io/me/node:1']


def test_a_role_wide_version_applies_to_every_cluster_without_an_own_image():
    chosen = node_image_choice(declared(a={'kubernetes_version': 'v1.35.9'}), [{'name': 'a'}])
    assert chosen[0]['image'] == 'localhost/kinc-node:v1.35.9'


def test_an_unbuildable_version_fails_naming_the_entry():
    with pytest.raises(AnsibleFilterError, match=r"kinc_clusters\[1\]\.kubernetes_version '1\.30\.0'"):
        node_image_choice(declared(a={}, b={'kubernetes_version': '1.30.0'}), [{'name': 'a'}, {'name': 'b'}])


def test_absent_clusters_keep_their_image():
    chosen = node_image_choice(declared(a={'kubernetes_version': '1.30.0', 'state': 'absent'}), [{'name': 'a'}])
    assert chosen[0]['image'] == DEFAULT


def test_build_args_for_kincs_images_and_none_for_others():
    assert node_image_build_args('localhost/kinc-node:v1.36.4', DEFAULT)['CRIO_VERSION'] == '1.36.3'
    assert node_image_build_args(DEFAULT, DEFAULT, {'CRI_TOOLS_VERSION': '1.37.0'}) == {
        'KUBERNETES_VERSION': '1.37.1', 'CRIO_VERSION': '1.37.0',
        'FEDORA_IMAGE': 'registry.fedoraproject.org/fedora:44', 'CRI_TOOLS_VERSION': '1.37.0'}
    assert node_image_build_args('localhost/kinc-node:latest', 'localhost/kinc-node:latest', {'A': '1'}) == {'A': '1'}
    assert node_image_build_args('quay.io/me/node:1', DEFAULT) is None

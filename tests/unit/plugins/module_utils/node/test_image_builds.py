# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils.node import image_builds


def test_the_default_image_is_the_newest_minor_pin():
    assert image_builds.image_for() == 'localhost/kinc-node:v%s' % image_builds.VERSIONS['1.37']['kubernetes']
    assert image_builds.build_args()['KUBERNETES_VERSION'] == image_builds.VERSIONS['1.37']['kubernetes']


@pytest.mark.parametrize('version', ['1.36.4', 'v1.36.4', ' 1.36.2 '])
def test_a_version_of_a_known_minor_gets_its_tag_and_the_minor_crio_and_base(version):
    assert image_builds.image_for(version) == 'localhost/kinc-node:v%s' % version.strip().lstrip('v')
    args = image_builds.build_args(version)
    assert args == {'KUBERNETES_VERSION': version.strip().lstrip('v'), 'CRIO_VERSION': image_builds.VERSIONS['1.36']['crio'],
                    'FEDORA_IMAGE': 'registry.fedoraproject.org/fedora:%s' % image_builds.VERSIONS['1.36']['fedora']}


@pytest.mark.parametrize('version, words', [
    ('1.34.2', ['kubernetes_version', "'1.34.2'", '1.37, 1.36, 1.35;']),
    ('1.33.5', ['kubernetes_version', "'1.33.5'", '1.37, 1.36, 1.35;']),
    ('latest', ["'latest' is not a Kubernetes release", "'1.37.1'"]),
    ('1.36', ['is not a Kubernetes release']),
    ('1.37.0-rc.1', ['is not a Kubernetes release']),
])
def test_versions_kinc_does_not_build_are_refused_naming_the_choices(version, words):
    error = image_builds.version_error(version)
    assert error and all(word in error for word in words), error
    with pytest.raises(ValueError):
        image_builds.image_for(version)


def test_no_minor_past_its_end_of_life_or_on_an_archived_base_is_built():
    # 1.33 (end of life 2026-06-28) on fedora:42 (end of life 2026-05-13, its repositories moved to the
    # archive) no longer installed: no row may name either.
    assert image_builds.version_error('1.33.5') is not None
    for row in image_builds.VERSIONS.values():
        assert row['eol'] > '2026-12-03' and int(row['fedora']) >= 43


@pytest.mark.parametrize('image, version', [
    ('localhost/kinc-node:v1.36.4', '1.36.4'), ('localhost/kinc-node:latest', None),
    ('localhost/kinc-node:v1.34.1', None), ('quay.io/x/kinc-node:v1.36.4', None), (None, None)])
def test_only_kincs_version_tags_map_back_to_a_version(image, version):
    assert image_builds.version_of_image(image) == version

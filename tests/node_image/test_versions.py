# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The version table (plugins/module_utils/node/image_builds.py) agrees with the Containerfile, the README, the
role's defaults and the kubeadm template, for every Kubernetes minor kinc builds."""

import os
import re

import pytest
import yaml

from conftest import IMAGE_DIR, REPO

from ansible_collections.kinc.kinc.plugins.module_utils.node import config_render
from ansible_collections.kinc.kinc.plugins.module_utils.node import image_builds

# kubeadm's config API: v1beta4 from kubeadm 1.31 on; kubeadm 1.37 no longer reads v1beta3.
KUBEADM_API = 'kubeadm.k8s.io/v1beta4'
KUBEADM_API_SINCE = (1, 31)


def read(*path):
    with open(os.path.join(*path)) as handle:
        return handle.read()


def containerfile_defaults():
    return dict(re.findall(r'^ARG (\w+)=(.*)$', read(IMAGE_DIR, 'Containerfile'), re.M))


def test_the_containerfile_defaults_are_the_default_row():
    defaults = containerfile_defaults()
    expected = image_builds.build_args()
    assert {key: defaults[key].strip('"') for key in expected} == expected
    assert expected['KUBERNETES_VERSION'].startswith(image_builds.DEFAULT_MINOR + '.')
    # The newest minor of the table is the default.
    assert image_builds.DEFAULT_MINOR == max(image_builds.VERSIONS, key=lambda m: tuple(map(int, m.split('.'))))


@pytest.mark.parametrize('minor', sorted(image_builds.VERSIONS))
def test_each_row_pins_kubernetes_and_crio_of_its_own_minor(minor):
    row = image_builds.VERSIONS[minor]
    assert image_builds.minor_of(row['kubernetes']) == minor
    assert image_builds.minor_of(row['crio']) == minor, 'CRI-O follows the Kubernetes minor'
    assert tuple(map(int, minor.split('.'))) >= KUBEADM_API_SINCE
    assert re.match(r'^\d{4}-\d{2}-\d{2}$', row['eol'])


@pytest.mark.parametrize('minor', sorted(image_builds.VERSIONS))
def test_the_readme_gives_each_pin_its_source_and_end_of_life(minor):
    row = image_builds.VERSIONS[minor]
    lines = [line for line in read(IMAGE_DIR, 'README.md').splitlines()
             if line.startswith('| %s ' % minor) or line.startswith('| %s (' % minor)]
    assert len(lines) == 1, 'files/image/README.md has no version table row for %s' % minor
    for value in (row['kubernetes'], row['crio'], 'fedora:%s' % row['fedora'], row['eol']):
        assert value in lines[0]


def test_the_kubeadm_template_uses_the_api_every_minor_reads():
    docs = [d for d in yaml.safe_load_all(read(REPO, config_render.TEMPLATE_PATH).replace('${', '_{')) if d]
    assert {d['apiVersion'] for d in docs if d['kind'] in ('InitConfiguration', 'ClusterConfiguration')} == {KUBEADM_API}


def test_the_role_default_image_is_the_default_version_image():
    defaults = yaml.safe_load(read(REPO, 'roles/kinc_cluster/defaults/main.yml'))
    specs = yaml.safe_load(read(REPO, 'roles/kinc_cluster/meta/argument_specs.yml'))
    assert defaults['kinc_node_image'] == image_builds.image_for() == 'localhost/kinc-node:v%s' % (
        image_builds.VERSIONS[image_builds.DEFAULT_MINOR]['kubernetes'])
    assert specs['argument_specs']['main']['options']['kinc_node_image']['default'] == defaults['kinc_node_image']


def test_the_ignored_preflight_checks_exist_in_current_kubeadm():
    # kubeadm >= 1.32 no longer checks bridge-nf-call-iptables; ignoring it only hides a typo.
    assert 'bridge-nf-call-iptables' not in read(REPO, config_render.TEMPLATE_PATH)

# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every Quadlet key kinc's unit templates use is understood by the oldest Podman kinc declares.

The versions come from Podman itself: the Key* constants of pkg/systemd/quadlet/quadlet.go at the tags
v4.4.0 … v4.7.0 of github.com/containers/podman, and its RELEASE_NOTES.md:
- 4.4.0 "Introduce Quadlet" (Image, ContainerName, Label, PublishPort, Volume, Environment, AddDevice,
  PodmanArgs in .container; VolumeName absent, Label in .volume);
- 4.5.0 "Quadlet now supports adding tmpfs filesystems through the Tmpfs key in .container files" (#17907);
- 4.6.0 "Quadlet now supports the HostName field … in .container files" (#18486), and AddDevice's optional
  '-' prefix (commit d51911f7b0 "Support systemd optional prefix '-' for devices", first in v4.6.0);
- 4.7.0 "Quadlet now allows setting user-defined names for Volume and Network units via the VolumeName and
  NetworkName directives", "Quadlet now supports setting the PidsLimit option in a container".
"""

import os
import re

import pytest
import yaml

from ansible_collections.kinc.kinc.plugins.module_utils import podman_client
from ansible_collections.kinc.kinc.plugins.module_utils.converge import registry
from ansible_collections.kinc.kinc.plugins.module_utils.versions import parse_version

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))))
TEMPLATES = os.path.join(REPO, 'files', 'quadlet')

# (section, key) -> the first Podman release whose Quadlet knows it.
INTRODUCED = {
    ('Container', 'Image'): '4.4',
    ('Container', 'ContainerName'): '4.4',
    ('Container', 'Label'): '4.4',
    ('Container', 'PublishPort'): '4.4',
    ('Container', 'Volume'): '4.4',
    ('Container', 'Environment'): '4.4',
    ('Container', 'AddDevice'): '4.4',
    ('Container', 'PodmanArgs'): '4.4',
    ('Container', 'Tmpfs'): '4.5',
    ('Container', 'HostName'): '4.6',
    ('Container', 'PidsLimit'): '4.7',
    ('Container', 'Network'): '4.4',
    ('Volume', 'Label'): '4.4',
    ('Volume', 'VolumeName'): '4.7',
}
# Value forms newer than their key.
VALUE_FORMS = [
    (('Container', 'AddDevice'), re.compile(r'^-'), '4.6', "AddDevice's optional '-' prefix"),
]
# Sections systemd itself reads; Quadlet passes them through.
SYSTEMD_SECTIONS = frozenset(['Unit', 'Service', 'Install'])


def quadlet_keys(text):
    """[(section, key, value)] of a unit template's Quadlet sections (Jinja statements and comments left out)."""
    found = []
    section = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(('#', ';', '{%', '{#')):
            continue
        header = re.match(r'^\[(\w+)\]$', line)
        if header:
            section = header.group(1)
        elif section not in SYSTEMD_SECTIONS:
            key, _sep, value = line.partition('=')
            found.append((section, key, value))
    return found


def needed(keys):
    """[(version, what)] each key and value form needs."""
    needs = []
    for section, key, value in keys:
        if (section, key) not in INTRODUCED:
            needs.append(('999', '%s= in [%s] has no known Podman version; add it to INTRODUCED from Podman\'s '
                                 'release notes' % (key, section)))
            continue
        needs.append((INTRODUCED[(section, key)], '%s= in [%s]' % (key, section)))
        for (form_section, form_key), pattern, version, what in VALUE_FORMS:
            if (section, key) == (form_section, form_key) and pattern.search(value):
                needs.append((version, what))
    return needs


def too_new(keys, minimum):
    return ['%s needs Podman %s' % (what, version) for version, what in needed(keys)
            if parse_version(version) > parse_version(minimum)]


def templates():
    return sorted(name for name in os.listdir(TEMPLATES) if name.endswith('.j2'))


@pytest.mark.parametrize('template', templates())
def test_no_template_uses_a_quadlet_key_newer_than_the_declared_minimum(template):
    with open(os.path.join(TEMPLATES, template)) as handle:
        keys = quadlet_keys(handle.read())
    assert keys, 'no Quadlet keys found in %s' % template
    assert too_new(keys, podman_client.MIN_PODMAN_VERSION) == []


@pytest.mark.parametrize('unit', registry.UNIT_FILES)
def test_the_registry_units_use_no_quadlet_key_newer_than_the_declared_minimum(unit):
    keys = quadlet_keys(registry.render_units(registry.DEFAULT_IMAGE, 5000)[unit])
    assert keys and too_new(keys, podman_client.MIN_PODMAN_VERSION) == []


def test_the_declared_minimum_is_the_newest_key_in_use():
    versions = []
    for template in templates():
        with open(os.path.join(TEMPLATES, template)) as handle:
            versions += [version for version, _what in needed(quadlet_keys(handle.read()))]
    assert max(versions, key=parse_version) == podman_client.MIN_PODMAN_VERSION


def test_a_newer_key_or_an_unknown_one_fails():
    keys = quadlet_keys('[Container]\nImage=x\n{% if a %}\nAddDevice=-/dev/fuse\n{% endif %}\n'
                        '[Service]\nRestart=always\n[Volume]\nVolumeName=v\n')
    assert keys == [('Container', 'Image', 'x'), ('Container', 'AddDevice', '-/dev/fuse'), ('Volume', 'VolumeName', 'v')]
    assert too_new(keys, '4.5') == ["AddDevice's optional '-' prefix needs Podman 4.6", 'VolumeName= in [Volume] needs Podman 4.7']
    assert too_new(quadlet_keys('[Container]\nReloadCmd=x\n'), '9.9') == [
        "ReloadCmd= in [Container] has no known Podman version; add it to INTRODUCED from Podman's release notes "
        'needs Podman 999']


def test_the_preflight_default_and_the_readme_declare_the_same_minimum():
    with open(os.path.join(REPO, 'roles', 'kinc_host', 'defaults', 'main.yml')) as handle:
        assert yaml.safe_load(handle)['kinc_host_min_podman_version'] == podman_client.MIN_PODMAN_VERSION
    with open(os.path.join(REPO, 'README.md')) as handle:
        readme = handle.read()
    assert 'Podman ≥ %s' % podman_client.MIN_PODMAN_VERSION in readme
    assert set(re.findall(r'Podman ≥ (\d+\.\d+)', readme)) == {podman_client.MIN_PODMAN_VERSION}
    assert 'Podman %s or newer' % podman_client.MIN_PODMAN_VERSION in str(podman_client.PodmanNotFound('podman'))

# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils.versions import parse_version, version_text


@pytest.mark.parametrize('text, expected', [
    # Podman
    ('4.3.1', (4, 3, 1)), ('5.4.2-dev', (5, 4, 2)), ('5', (5, 0, 0)), ('5.x', (5, 0, 0)), ('5.4.2+ds1', (5, 4, 2)),
    # kernels
    ('6.1.0-18-amd64', (6, 1, 0)), ('4.4', (4, 4, 0)), ('5.10.0rc1', (5, 10, 0)), ('', (0, 0, 0)),
    ('6.18.44-fc-v595', (6, 18, 44)),
])
def test_parse_version(text, expected):
    assert parse_version(text) == expected


def test_version_text():
    assert version_text((4, 4, 0)) == '4.4.0'

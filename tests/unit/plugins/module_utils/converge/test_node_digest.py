# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The digest of what a node runs with: what changes it, what does not, and where it is stamped."""

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils.converge import node_digest

UNITS = {'n.volume': '# Managed by kinc\n[Volume]\nVolumeName=n\n',
         'n.container': '# Managed by kinc\n[Unit]\nDescription=x\n\n[Container]\nImage=a\n'}
CONFIG = {'cluster.env': '# Written by kinc.kinc\nKINC_EVENTS=0\n'}


def test_a_meaningful_change_of_any_file_changes_the_digest():
    base = node_digest.digest(UNITS, CONFIG)
    assert node_digest.digest(dict(UNITS, **{'n.container': UNITS['n.container'].replace('a', 'b')}), CONFIG) != base
    assert node_digest.digest(dict(UNITS, **{'n.volume': UNITS['n.volume'] + 'Label=x\n'}), CONFIG) != base
    assert node_digest.digest(UNITS, {'cluster.env': 'KINC_EVENTS=1\n'}) != base
    assert node_digest.digest(UNITS, dict(CONFIG, **{'kubeadm.conf': 'x\n'})) != base


def test_comments_and_blank_lines_do_not_change_the_digest():
    reworded = dict((name, text.replace('# Managed by kinc', '# Managed by kinc.kinc 9.9\n\n; note'))
                    for name, text in UNITS.items())
    assert node_digest.digest(reworded, {'cluster.env': '# Written by kinc.kinc 9.9\nKINC_EVENTS=0\n'}) == \
        node_digest.digest(UNITS, CONFIG)


def test_stamp_puts_the_label_first_in_the_container_section_and_the_digest_ignores_it():
    stamped, value = node_digest.stamp(UNITS, CONFIG, 'n.container')
    lines = stamped['n.container'].splitlines()
    assert lines[lines.index('[Container]') + 1] == 'Label="io.kinc.node-digest=%s"' % value
    assert stamped['n.volume'] == UNITS['n.volume']
    assert node_digest.digest(stamped, CONFIG) == value


def test_a_container_unit_without_its_section_is_refused():
    with pytest.raises(ValueError):
        node_digest.stamp({'n.container': '[Unit]\n'}, {}, 'n.container')

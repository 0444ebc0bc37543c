# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lines playbooks/status.yml prints."""

from ansible_collections.kinc.kinc.plugins.filter import status_lines


def test_a_cluster_line_has_name_url_phase_version_and_age_in_columns():
    line = status_lines.cluster_status_line({'name': 'dev', 'api_url': 'https://127.0.0.1:6443', 'phase': 'ready',
                                             'kubernetes_version': 'v1.33.5', 'age': '3h12m'})
    assert line.split() == ['dev', 'https://127.0.0.1:6443', 'ready', 'v1.33.5', '3h12m']
    assert line.index('https') == 21


def test_a_stopped_cluster_shows_its_container_state_and_dashes_for_the_unknown():
    line = status_lines.cluster_status_line({'name': 'old', 'api_url': None, 'phase': None,
                                             'container_state': 'exited', 'kubernetes_version': None, 'age': None})
    assert line.split() == ['old', '-', 'exited', '-', '-']


def test_a_step_line_shows_state_times_duration_and_message():
    line = status_lines.cluster_step_line({'name': 'apiserver', 'state': 'done', 'started': '2026-11-22T10:00:09Z',
                                           'finished': '2026-11-22T10:00:21Z', 'duration': 12,
                                           'message': 'API ready'})
    assert line.split(None, 5) == ['apiserver', 'done', '2026-11-22T10:00:09Z', '2026-11-22T10:00:21Z', '12',
                                   'API ready']
    pending = status_lines.cluster_step_line({'name': 'dns', 'state': 'pending', 'started': '', 'finished': '',
                                              'duration': None, 'message': ''})
    assert pending.split() == ['dns', 'pending', '-', '-', '-']


def test_capacity_lines_say_how_many_more_fit_and_show_each_resource():
    lines = status_lines.capacity_lines({'clusters_more': 4, 'limited_by': 'memory', 'resources': {
        'tasks': {'clusters_more': None, 'limit': None, 'limit_after_fixes': None, 'used': 12, 'per_cluster': 4096,
                  'unit': 'tasks of user-1000.slice'},
        'memory': {'clusters_more': 4, 'limit': 10000, 'limit_after_fixes': 10000, 'used': 0, 'per_cluster': 2048,
                   'unit': 'MiB available'}}})
    assert lines[0] == '4 more cluster(s), limited by memory'
    assert lines[1].split()[:2] == ['RESOURCE', 'MORE']
    assert lines[2].split() == ['memory', '4', '10000', '10000', '0', '2048', 'MiB', 'available']
    assert lines[3].split() == ['tasks', '-', '-', '-', '12', '4096', 'tasks', 'of', 'user-1000.slice']
    assert status_lines.capacity_lines({'clusters_more': None, 'limited_by': None, 'resources': {}})[0] == \
        'unlimited more cluster(s)'

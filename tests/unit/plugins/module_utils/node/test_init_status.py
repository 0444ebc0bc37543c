# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node's status.json: validation, summaries and failure messages."""

import json
import os

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils.node import init_status
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import PodmanClient


def status(phase='initializing', steps=None, **extra):
    data = {'schema': 1, 'cluster': 'dev', 'phase': phase, 'steps': steps or []}
    data.update(extra)
    return json.dumps(data)


def step(name, state, unit='kinc-kubeadm-init.service', started='', finished='', message=''):
    return {'name': name, 'unit': unit, 'state': state, 'started': started, 'finished': finished,
            'message': message}


def test_parse_normalises_steps_and_computes_durations():
    parsed = init_status.parse(status('ready', [
        step('crio', 'done', 'crio.service', '2026-11-22T10:00:01Z', '2026-11-22T10:00:04Z'),
        step('dns', 'pending')]))
    assert parsed['phase'] == 'ready'
    assert parsed['steps'][0] == {'name': 'crio', 'unit': 'crio.service', 'state': 'done',
                                  'started': '2026-11-22T10:00:01Z', 'finished': '2026-11-22T10:00:04Z',
                                  'duration': 3, 'message': ''}
    assert parsed['steps'][1]['duration'] is None


def test_a_step_message_carries_no_secret():
    parsed = init_status.parse(status('failed', [
        step('addons', 'failed', message='kubeadm join --token abcdef.0123456789abcdef failed')]))
    assert parsed['steps'][0]['message'] == 'kubeadm join --token REDACTED-BY-KINC failed'


@pytest.mark.parametrize('text, fragment', [
    ('{', 'not JSON'),
    ('[]', 'must be a JSON object'),
    (status(schema=2), 'schema must be 1; got: 2'),
    (status('booting'), "phase must be one of initializing, ready, failed; got: 'booting'"),
    (status(steps='x'), 'steps must be a list'),
    (status(steps=[step('crio', 'skipped')]), "steps[0] (crio): state must be one of"),
    (status(steps=[{'state': 'done'}]), 'steps[0].name must be a non-empty string'),
    (status(steps=[step('crio', 'done', started='yesterday')]), "timestamp 'yesterday'"),
])
def test_parse_rejects_what_breaks_the_contract(text, fragment):
    with pytest.raises(init_status.StatusError) as err:
        init_status.parse(text)
    assert fragment in str(err.value)


def test_summary_counts_done_steps_and_names_running_and_failed_ones():
    parsed = init_status.parse(status('failed', [
        step('crio', 'done'), step('certs', 'running'), step('apiserver', 'failed', message='timed out'),
        step('dns', 'pending')]))
    assert init_status.summary(parsed) == 'failed: 1/4 steps done, running: certs, failed: apiserver (timed out)'


def test_failure_message_names_the_first_failed_step_its_unit_and_journal():
    parsed = init_status.parse(status('failed', [
        step('crio', 'done', 'crio.service'), step('apiserver', 'failed', message='apiserver never answered'),
        step('kubelet', 'failed', message='later')]))
    text = init_status.failure_message('dev', parsed, 'line 1\nline 2\n')
    assert text == ("cluster dev failed at step 'apiserver' (unit kinc-kubeadm-init.service): apiserver never "
                    "answered\nlast lines of the journal of kinc-kubeadm-init.service:\nline 1\nline 2")


def test_failure_message_without_a_failed_step_says_so():
    parsed = init_status.parse(status('failed', [step('crio', 'done')]))
    assert 'no step is marked failed' in init_status.failure_message('dev', parsed, '')


NODE = 'kinc-dev-control-plane'


def test_fetch_tolerates_a_container_that_is_not_up_and_a_missing_file(host):
    podman = PodmanClient(host.run)
    assert init_status.fetch(podman, NODE) is None  # no such container: podman exec exits 125
    host.add_volume('kinc-dev-var-data', {})
    host.add_container(NODE, {})
    assert init_status.fetch(podman, NODE) is None  # the node has not written its status yet: cat exits 1


def test_fetch_reads_the_contract_path_in_the_container(host):
    host.add_volume('kinc-dev-var-data', {})
    host.add_container(NODE, {})
    path = host.node_file(NODE, 'status.json')
    os.makedirs(os.path.dirname(path))
    with open(path, 'w') as handle:
        handle.write(status('ready'))
    host.calls = []
    assert init_status.fetch(PodmanClient(host.run), NODE)['phase'] == 'ready'
    assert host.podman_calls() == [['podman', 'exec', NODE, 'cat', '/var/lib/kinc/status.json']]

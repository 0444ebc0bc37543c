# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node's status.json: validation, summaries and failure messages."""

import json

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils import node_status


def status(phase='initializing', steps=None, **extra):
    data = {'schema': 1, 'cluster': 'dev', 'phase': phase, 'steps': steps or []}
    data.update(extra)
    return json.dumps(data)


def step(name, state, unit='kinc-kubeadm-init.service', started='', finished='', message=''):
    return {'name': name, 'unit': unit, 'state': state, 'started': started, 'finished': finished,
            'message': message}


def test_parse_normalises_steps_and_computes_durations():
    parsed = node_status.parse(status('ready', [
        step('crio', 'done', 'crio.service', '2026-11-22T10:00:01Z', '2026-11-22T10:00:04Z'),
        step('dns', 'pending')]))
    assert parsed['phase'] == 'ready'
    assert parsed['steps'][0] == {'name': 'crio', 'unit': 'crio.service', 'state': 'done',
                                  'started': '2026-11-22T10:00:01Z', 'finished': '2026-11-22T10:00:04Z',
                                  'duration': 3, 'message': ''}
    assert parsed['steps'][1]['duration'] is None


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
    with pytest.raises(node_status.StatusError) as err:
        node_status.parse(text)
    assert fragment in str(err.value)


def test_summary_counts_done_steps_and_names_running_and_failed_ones():
    parsed = node_status.parse(status('failed', [
        step('crio', 'done'), step('certs', 'running'), step('apiserver', 'failed', message='timed out'),
        step('dns', 'pending')]))
    assert node_status.summary(parsed) == 'failed: 1/4 steps done, running: certs, failed: apiserver (timed out)'


def test_failure_message_names_the_first_failed_step_its_unit_and_journal():
    parsed = node_status.parse(status('failed', [
        step('crio', 'done', 'crio.service'), step('apiserver', 'failed', message='apiserver never answered'),
        step('kubelet', 'failed', message='later')]))
    text = node_status.failure_message('dev', parsed, 'line 1\nline 2\n')
    assert text == ("cluster dev failed at step 'apiserver' (unit kinc-kubeadm-init.service): apiserver never "
                    "answered\nlast lines of the journal of kinc-kubeadm-init.service:\nline 1\nline 2")


def test_failure_message_without_a_failed_step_says_so():
    parsed = node_status.parse(status('failed', [step('crio', 'done')]))
    assert 'no step is marked failed' in node_status.failure_message('dev', parsed, '')


class FakePodman:
    def __init__(self, rc, out):
        self.result = (rc, out, '')
        self.args = None

    def call(self, args, ok_rcs=(0,)):
        self.args = args
        assert self.result[0] in ok_rcs
        return self.result


def test_fetch_tolerates_a_container_that_is_not_up_and_a_missing_file():
    assert node_status.fetch(FakePodman(125, ''), 'kinc-dev-control-plane') is None
    assert node_status.fetch(FakePodman(1, ''), 'kinc-dev-control-plane') is None


def test_fetch_reads_the_contract_path_in_the_container():
    podman = FakePodman(0, status('ready'))
    assert node_status.fetch(podman, 'kinc-dev-control-plane')['phase'] == 'ready'
    assert podman.args == ['exec', 'kinc-dev-control-plane', 'cat', '/var/lib/kinc/status.json']

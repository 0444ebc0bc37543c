# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_validate, the controller-side check of a whole kinc_clusters list: one failure with every problem."""

from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task
from ansible.template import Templar

from ansible_collections.kinc.kinc.plugins.action import kinc_validate


def run(args):
    task = Task()
    task.args = args
    action = kinc_validate.ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=None,
                                        templar=Templar(loader=None), shared_loader_obj=None)
    return action.run(task_vars={})


def test_a_good_list_is_returned_with_its_defaults_and_requests():
    result = run({'clusters': [{'name': 'dev'}, {'name': 'old', 'state': 'absent'}],
                  'role_vars': {'kinc_api_address': '127.0.0.2'}})
    assert not result.get('failed') and result['changed'] is False and result['problems'] == []
    assert [(c['name'], c['state'], c['api_address']) for c in result['clusters']] == [
        ('dev', 'present', '127.0.0.2'), ('old', 'absent', '127.0.0.2')]
    assert result['allocation_requests'] == [
        {'name': 'dev', 'api_address': '127.0.0.2', 'field': 'kinc_clusters[0]', 'ports': []}]


def test_every_problem_in_one_failure():
    result = run({'clusters': [{'name': 'n7', 'kubernetes_version': 'latest'}, {'name': 'n8', 'api_address': 'x'}]})
    assert result['failed'] is True
    assert result['msg'] == (
        "2 problems in kinc_clusters, nothing was changed: (1) kinc_clusters[0].kubernetes_version: 'latest' is not a "
        "Kubernetes version; fix: write it like '1.33.5' or 'v1.33.5' (2) kinc_clusters[1].api_address: 'x' is not a "
        "unicast IP address; fix: give the host address to publish the API on, such as 127.0.0.1")


def test_unknown_arguments_are_refused():
    with pytest.raises(AnsibleActionFail):
        run({'clusters': [], 'extra': 1})


def test_an_entry_without_a_name_is_a_problem_not_a_crash():
    result = run({'clusters': [{'api_port': 7001}]})
    assert result['failed'] is True and result['allocation_requests'] == []
    assert result['msg'].endswith('kinc_clusters[0].name: missing; fix: give every cluster a name, e.g. dev')

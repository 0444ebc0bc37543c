# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc.kinc.kinc_validate: check a whole kinc_clusters list on the controller, touching no host.

The rules are cluster_spec's, the same the modules apply; this only gathers every problem into one failure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.kinc.kinc.plugins.module_utils.spec import cluster_spec

_ARGS = frozenset(['clusters', 'role_vars', 'field'])


def failure_message(field, problems):
    listed = ' '.join('(%d) %s' % (number, text) for number, text in enumerate(problems, 1))
    plural = '' if len(problems) == 1 else 's'
    return '%d problem%s in %s, nothing was changed: %s' % (len(problems), plural, field, listed)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = self._task.args
        unknown = sorted(set(args) - _ARGS)
        if unknown or 'clusters' not in args:
            raise AnsibleActionFail('kinc_validate takes clusters (required), role_vars and field; got: %s'
                                    % ', '.join(sorted(args)))
        role_vars = args.get('role_vars') or {}
        if not isinstance(role_vars, dict):
            raise AnsibleActionFail('role_vars must be a mapping of kinc_* variables; got: %r' % (role_vars,))
        field = args.get('field') or 'kinc_clusters'
        declared, problems = cluster_spec.declared_clusters(args['clusters'], role_vars, field)
        result.update(changed=False, clusters=declared, problems=problems,
                      allocation_requests=[] if problems else cluster_spec.allocation_requests(declared, field))
        if problems:
            result.update(failed=True, msg=failure_message(field, problems))
        return result

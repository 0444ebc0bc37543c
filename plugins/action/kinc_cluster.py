# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller half of kinc.kinc.kinc_cluster: render the cluster's files, then run the module.

The managed host may lack Jinja2 and module_utils may import only the standard library, so the Quadlet
unit templates (files/quadlet/*.j2) and the node configuration (kubeadm.conf, cluster.env) are rendered
here and handed to the module as the options `quadlet_units` and `node_config`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.kinc.kinc.plugins.module_utils import cluster_params
from ansible_collections.kinc.kinc.plugins.module_utils import cluster_spec
from ansible_collections.kinc.kinc.plugins.module_utils import kubeadm_config
from ansible_collections.kinc.kinc.plugins.module_utils import naming

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUADLET_TEMPLATES = os.path.join(COLLECTION_ROOT, 'files', 'quadlet')
CONTAINER_TEMPLATE = 'kinc-node.container.j2'
VOLUME_TEMPLATE = 'kinc-volume.volume.j2'
RENDERED_OPTIONS = ('quadlet_units', 'node_config')


def _environment(directory):
    return Environment(loader=FileSystemLoader(directory), undefined=StrictUndefined,
                       keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False)


def render_units(params, template_dir=QUADLET_TEMPLATES):
    """{Quadlet file name: text} for the cluster described by `params` (validated)."""
    env = _environment(template_dir)
    values = cluster_params.template_values(params)
    units = {}
    for volume_name in naming.volume_names(params['name']):
        units[volume_name + '.volume'] = env.get_template(VOLUME_TEMPLATE).render(dict(values, volume_name=volume_name))
    units[naming.container_name(params['name']) + '.container'] = env.get_template(CONTAINER_TEMPLATE).render(values)
    return units


def render_node_config(params, rootless):
    """{file name: text} for the config volume; kubeadm.conf comes from the node image's own template."""
    template = ''
    if params['config_mode'] == 'mounted':
        with open(os.path.join(COLLECTION_ROOT, kubeadm_config.TEMPLATE_PATH)) as handle:
            template = handle.read()
    try:
        return cluster_params.node_config(params, template, rootless)
    except kubeadm_config.KubeadmConfigError as exc:
        raise AnsibleActionFail(str(exc))


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        for option in RENDERED_OPTIONS:
            if option in args:
                raise AnsibleActionFail('%s is set by the kinc.kinc.kinc_cluster action plugin from the other '
                                        'options; remove it from the task' % option)
        state = args.get('state', 'present')
        allocation_given = all(args.get(o) is not None for o in ('api_port', 'pod_subnet', 'service_subnet'))
        if state == 'present' or (state in ('started', 'stopped') and allocation_given):
            params, problems = cluster_spec.normalize(args)
            problems = problems or cluster_spec.errors(params)
            if problems:
                raise AnsibleActionFail('; '.join(problems))
            args['api_port'] = params['api_port']
            args['quadlet_units'] = render_units(params)
            args['node_config'] = render_node_config(params, self._remote_rootless(params))
        result.update(self._execute_module(module_name='kinc.kinc.kinc_cluster', module_args=args,
                                           task_vars=task_vars))
        return result

    def _remote_rootless(self, params):
        """Whether the module will run as a user other than root (kubeadm.conf differs for a user namespace).

        Only mounted mode needs it; baked mode leaves the decision to the node."""
        if params['config_mode'] != 'mounted':
            return True
        done = self._low_level_execute_command('id -u', sudoable=True)
        uid = (done.get('stdout') or '').strip()
        if done.get('rc') != 0 or not uid.isdigit():
            raise AnsibleActionFail("could not tell which user kinc_cluster runs as ('id -u' said: %s)"
                                    % (done.get('stderr') or done.get('stdout') or 'nothing').strip())
        return uid != '0'

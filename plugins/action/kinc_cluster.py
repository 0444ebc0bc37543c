# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller half of kinc.kinc.kinc_cluster: render the cluster's files, then run the module.

The managed host may lack Jinja2 and module_utils may import only the standard library, so the Quadlet
unit templates (files/quadlet/*.j2) and the node configuration (kubeadm.conf, cluster.env) are rendered
here and handed to the module as the options `quadlet_units`, `node_config` and `node_config_rootful`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.kinc.kinc.plugins.module_utils.converge import render_values
from ansible_collections.kinc.kinc.plugins.module_utils.spec import cluster_spec
from ansible_collections.kinc.kinc.plugins.module_utils.node import config_render
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming
from ansible_collections.kinc.kinc.plugins.module_utils.spec import node_settings

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUADLET_TEMPLATES = os.path.join(COLLECTION_ROOT, 'files', 'quadlet')
CONTAINER_TEMPLATE = 'kinc-node.container.j2'
VOLUME_TEMPLATE = 'kinc-volume.volume.j2'
RENDERED_OPTIONS = ('quadlet_units', 'node_config', 'node_config_rootful')


def _environment(directory):
    return Environment(loader=FileSystemLoader(directory), undefined=StrictUndefined,
                       keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False)


def render_units(params, template_dir=QUADLET_TEMPLATES):
    """{Quadlet file name: text} for the cluster described by `params` (validated)."""
    env = _environment(template_dir)
    values = render_values.template_values(params)
    units = {}
    for volume_name in naming.volume_names(params['name']):
        units[volume_name + '.volume'] = env.get_template(VOLUME_TEMPLATE).render(dict(values, volume_name=volume_name))
    units[naming.container_name(params['name']) + '.container'] = env.get_template(CONTAINER_TEMPLATE).render(values)
    return units


# What kinc_cluster writes above a kubeadm.conf with kubeadm_patches merged (YAML written again: the
# template's comments are gone).
PATCHED_HEADER = ('# kinc\'s kubeadm configuration (files/image/rootfs/etc/kinc/kubeadm.conf.tmpl) with the '
                  'cluster\'s kubeadm_patches merged.\n')


def patch_kubeadm_config(text, patches):
    """The rendered kubeadm configuration with `patches` merged (node_settings.apply_patches)."""
    documents = [d for d in yaml.safe_load_all(text) if d]
    # Plain lists, dicts and strings: ansible-core hands over its own (tagged) subclasses, which PyYAML's safe
    # dumper cannot represent.
    patches = json.loads(json.dumps(patches))
    try:
        documents = node_settings.apply_patches(documents, patches)
    except ValueError as exc:
        raise AnsibleActionFail(str(exc))
    return PATCHED_HEADER + yaml.safe_dump_all(documents, default_flow_style=False, sort_keys=False,
                                               explicit_start=True)


def render_node_config(params, rootless):
    """{file name: text} for the config volume; kubeadm.conf comes from the node image's own template."""
    template = ''
    if params['config_mode'] == 'mounted':
        with open(os.path.join(COLLECTION_ROOT, config_render.TEMPLATE_PATH)) as handle:
            template = handle.read()
    try:
        return render_values.node_config(params, template, rootless, patch_kubeadm_config)
    except (config_render.KubeadmConfigError, ValueError) as exc:
        raise AnsibleActionFail(str(exc))


def _without_unset(entry):
    """The entry without the options a role passes as '' to mean "not set"."""
    return dict((k, v) for k, v in entry.items() if not (k in cluster_spec.EMPTY_MEANS_UNSET and v == ''))


def needs_rendering(args):
    """present, or started/stopped with the allocation given, converge the files."""
    state = args.get('state') or 'present'
    allocation_given = all(args.get(o) is not None for o in ('api_port', 'pod_subnet', 'service_subnet'))
    return state == 'present' or (state in ('started', 'stopped') and allocation_given)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = _without_unset(self._task.args)
        many = args.get('clusters') is not None
        entries = [_without_unset(e) if isinstance(e, dict) else e for e in args['clusters']] if many else [args]
        problems = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise AnsibleActionFail('clusters[%d] must be a dictionary of cluster options; got: %r' % (index, entry))
            where = 'clusters[%d] (%s): ' % (index, entry.get('name')) if many else ''
            for option in RENDERED_OPTIONS:
                if option in entry:
                    problems.append('%s%s is set by the kinc.kinc.kinc_cluster action plugin from the other '
                                    'options; remove it from the task' % (where, option))
            if problems or not needs_rendering(entry):
                continue
            params, found = cluster_spec.normalize(entry)
            found = found or cluster_spec.errors(params)
            if found:
                problems += [where + p for p in found]
                continue
            entry['api_port'] = params['api_port']
            entry['quadlet_units'] = render_units(params)
            # kubeadm.conf differs for a node in a user namespace; the module, which knows whom it runs as,
            # takes the rootful variant as root (cheaper than asking the host here).
            entry['node_config'] = render_node_config(params, True)
            if params['config_mode'] == 'mounted':
                entry['node_config_rootful'] = render_node_config(params, False)
        if problems:
            raise AnsibleActionFail('; '.join(problems))
        if many:
            args['clusters'] = entries
        result.update(self._execute_module(module_name='kinc.kinc.kinc_cluster', module_args=args,
                                           task_vars=task_vars))
        return result

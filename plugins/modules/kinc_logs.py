#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: kinc_logs
short_description: Gather a kinc cluster's logs, status and configuration into an archive on the managed host
version_added: 0.1.0
description:
  - For each cluster, writes C(<dest>/<cluster>/) and C(<dest>/<cluster>.tar.gz) on the managed host with the
    journal of every unit of the node's init chain, CRI-O and kubelet, the node's whole journal, C(status.json),
    C(events.jsonl), the rendered kubeadm configuration, the configuration the collection handed the node,
    C(podman inspect) of the node and its volumes, the Quadlet units and the journal of their service, and, when
    the API answers, C(kubectl get nodes,pods,events -A -o wide) and a C(kubectl cluster-info dump) cut at
    O(dump_max_bytes).
  - Never fails because a piece is missing (the node is stopped, failed at some step, the API is down); each
    cluster's C(missing) list and its C(summary.json) say which pieces are missing and why.
  - Certificates and keys are not copied; private keys, client keys, tokens, passwords, bootstrap and bearer tokens,
    certificate keys, encryption secrets and the data of Secrets are removed from every file.
  - Everything is written under O(dest) only, as new files of mode 0600 (a link in the place of a cluster's
    directory or archive is removed, never followed); a cluster is gathered only when its name, read from Podman
    labels, is a cluster name (others are skipped with a warning).
  - Playbook C(playbooks/export-logs.yml) runs it and fetches the archives to the controller.
author:
  - kinc developers (@kinc)
extends_documentation_fragment:
  - kinc.kinc.podman
attributes:
  check_mode:
    description: Gathers nothing and reports C(changed=false).
    support: full
  diff_mode:
    description: Changes nothing a diff could show.
    support: none
options:
  name:
    description: The cluster. Every kinc cluster of the user when omitted.
    type: str
  dest:
    description:
      - Directory on the managed host to write into; created (mode 0700) when missing. A cluster's earlier
        directory and archive there are replaced.
      - An existing O(dest) must be a directory (not a link) of the user running the task that no other user can
        write; anything else fails before a file is written.
    type: path
    required: true
  dump_max_bytes:
    description: Cut C(kubectl cluster-info dump) after this many bytes.
    type: int
    default: 10485760
seealso:
  - module: kinc.kinc.kinc_cluster_info
'''

EXAMPLES = r'''
- name: Gather the logs of cluster dev into /var/tmp/kinc-logs/dev.tar.gz
  kinc.kinc.kinc_logs:
    name: dev
    dest: /var/tmp/kinc-logs
  register: kinc_logs

- name: Say what could not be gathered
  ansible.builtin.debug:
    msg: "{{ kinc_logs.clusters[0].missing | map(attribute='piece') }}"
'''

RETURN = r'''
dest:
  description: The directory written into.
  returned: always
  type: str
clusters:
  description: One entry per cluster.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The cluster.
      type: str
    directory:
      description: C(<dest>/<cluster>), the gathered files.
      type: str
    archive:
      description: C(<dest>/<cluster>.tar.gz), the same files under the directory C(<cluster>/).
      type: str
    archive_bytes:
      description: Size of the archive.
      type: int
    files:
      description: The files gathered, relative to the directory.
      type: list
      elements: str
    missing:
      description: The pieces that could not be gathered, each with C(piece) and C(reason).
      type: list
      elements: dict
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kinc.kinc.plugins.module_utils.day2 import log_export
from ansible_collections.kinc.kinc.plugins.module_utils import module_base
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming
from ansible_collections.kinc.kinc.plugins.module_utils.converge import quadlet

OPTIONS = dict(
    name=dict(type='str'),
    dest=dict(type='path', required=True),
    dump_max_bytes=dict(type='int', default=10 * 2 ** 20),
)


def main():
    module = AnsibleModule(argument_spec=module_base.argument_spec(OPTIONS), supports_check_mode=True)
    params = module.params

    def body():
        if params['name'] is not None:
            error = naming.name_error(params['name'])
            if error:
                raise module_base.KincError(error)
        rootless = module_base.rootless_environment(module, required=False)
        podman = module_base.podman(module)
        label = naming.LABEL_CLUSTER if params['name'] is None else '%s=%s' % (naming.LABEL_CLUSTER, params['name'])
        labelled = set(c.labels.get(naming.LABEL_CLUSTER) for c in podman.containers(label=label))
        labelled.update(v.labels.get(naming.LABEL_CLUSTER) for v in podman.volumes(label=label))
        names = []
        for name in sorted(n for n in labelled if n):
            # A label is anyone's text: only a cluster name may become a path under dest.
            if naming.name_error(name):
                module.warn('skipped %r: a %s label that is not a cluster name; fix: remove the object carrying it'
                            % (name[:80], naming.LABEL_CLUSTER))
            else:
                names.append(name)
        if params['name'] is not None and not names:
            module.warn('cluster %s has neither a node nor volumes on this host; nothing to gather' % params['name'])
        if module.check_mode:
            return dict(changed=False, dest=params['dest'], clusters=[{'name': n} for n in names])
        if os.path.lexists(params['dest']):
            why = log_export.dest_error(params['dest'])
            if why:
                raise module_base.KincError('dest: %s; fix: give a directory of your own that others cannot write, '
                                            'or a path that does not exist yet' % why)
        else:
            os.makedirs(params['dest'], log_export.DIR_MODE)
        user_systemd = os.geteuid() != 0
        clusters = [log_export.export(n, podman, module.run_command, user_systemd and rootless is not None,
                                      quadlet.default_dir(user_systemd), params['dest'], params['dump_max_bytes'])
                    for n in names]
        return dict(changed=bool(clusters), dest=params['dest'], clusters=clusters)

    module_base.run(module, body)


if __name__ == '__main__':
    main()

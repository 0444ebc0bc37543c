# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One cluster within a kinc_cluster call: its options, the names it owns, and what was done to it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.kinc.kinc.plugins.module_utils.kubeconfig import document
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming
from ansible_collections.kinc.kinc.plugins.module_utils.redaction import redact

# The states after which the cluster's service should be running (not systemd's ActiveStates).
STATES_THAT_RUN = ('present', 'started')


class ClusterRun:
    """params: the cluster's validated options plus `quadlet_units`/`node_config` (rendered texts, or None),
    `quadlet_dir`, `kubeconfig_path` and `user_kubeconfig` (~/.kube/config), all expanded."""

    def __init__(self, params):
        self.params = params
        self.name = params['name']
        self.state = params['state']
        self.container = naming.container_name(self.name)
        self.service = naming.service_name(self.name)
        self.unit_files = naming.quadlet_file_names(self.name)
        self.actions = []
        self.diff = []
        self.restarted = False
        self.status = None
        self.error = None
        self.digest = None
        # When this call (re)started the node: statuses older than that are the previous boot's.
        self.since = None
        # Text of the node's admin kubeconfig as read with its status (None until read).
        self.admin_text = None

    @property
    def changed(self):
        return bool(self.actions)

    def did(self, action):
        self.actions.append(action)

    @property
    def files_given(self):
        return bool(self.params.get('quadlet_units'))

    @property
    def wants_running(self):
        return self.state in STATES_THAT_RUN

    def quadlet_paths(self):
        return [os.path.join(self.params['quadlet_dir'], f) for f in self.unit_files]

    def labels(self):
        p = self.params
        return naming.allocation_labels(self.name, p['api_port'], p['pod_subnet'], p['service_subnet'])

    def api_port(self, snapshot):
        """api_port from the options, else from the labels of the cluster's volumes."""
        if self.params.get('api_port'):
            return self.params['api_port']
        for volume_name in naming.volume_names(self.name):
            volume = snapshot.volume(volume_name)
            port = volume.labels.get(naming.LABEL_API_PORT) if volume else None
            if port and port.isdigit():
                return int(port)
        return None

    def server_url(self, snapshot):
        port = self.api_port(snapshot)
        return document.server_url(self.params['api_address'], port) if port else None

    def result(self, snapshot):
        status = None
        if self.status:
            status = {'phase': self.status['phase'], 'steps': self.status['steps']}
        path = self.params['kubeconfig_path']
        state = {'absent': 'absent', 'stopped': 'stopped'}.get(self.state, 'running')
        return {
            'name': self.name,
            'state': state,
            'changed': self.changed,
            'actions': self.actions,
            'api_port': self.api_port(snapshot),
            'api_url': self.server_url(snapshot),
            'kubeconfig': path if os.path.exists(path) else None,
            'service_name': self.service,
            'container_name': self.container,
            'volumes': naming.volume_names(self.name),
            'quadlet_files': self.quadlet_paths(),
            'restarted': self.restarted,
            'status': status,
            'failed': self.error is not None,
            'msg': redact(self.error or ''),
        }

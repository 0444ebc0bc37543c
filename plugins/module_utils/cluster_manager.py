# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kinc_cluster's state machine: converge one cluster's Quadlet units, node config, service and kubeconfig.

Everything it touches is injected (PodmanClient, Systemctl, atomic_move, clock), so unit tests drive it
with fakes that record argv. Check mode plans every change and runs only read-only commands.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible_collections.kinc.kinc.plugins.module_utils import cluster_params
from ansible_collections.kinc.kinc.plugins.module_utils import kubeconfig
from ansible_collections.kinc.kinc.plugins.module_utils import naming
from ansible_collections.kinc.kinc.plugins.module_utils import node_status
from ansible_collections.kinc.kinc.plugins.module_utils import quadlet
from ansible_collections.kinc.kinc.plugins.module_utils.systemd import SystemdError

_ANY_RC = tuple(range(-255, 256))
# Service states in which the node runs or is on its way up.
_RUNNING_STATES = ('active', 'activating', 'reloading')
POLL_INTERVAL = 2
# The node service's journal on the host is mostly podman events; the node's own unit journal says more.
HOST_JOURNAL_LINES = 20
CONFIG_FILE_MODE = 0o644
KUBECONFIG_MODE = 0o600
KUBECONFIG_DIR_MODE = 0o700


class ClusterError(Exception):
    """The task fails; `details` go into the module result (for example the steps)."""

    def __init__(self, msg, **details):
        super(ClusterError, self).__init__(msg)
        self.details = details


class ClusterManager:
    """One run of kinc_cluster for one cluster.

    params: validated module options plus `quadlet_units` and `node_config` (rendered texts),
    `quadlet_dir`, `kubeconfig_path` and `user_kubeconfig` (~/.kube/config) already expanded.
    """

    def __init__(self, params, podman, systemctl, atomic_move, check_mode=False,
                 now=time.time, sleep=time.sleep, path_exists=os.path.exists):
        self.params = params
        self.podman = podman
        self.systemctl = systemctl
        self.atomic_move = atomic_move
        self.check_mode = check_mode
        self.now = now
        self.sleep = sleep
        self.path_exists = path_exists
        self.name = params['name']
        self.container = naming.container_name(self.name)
        self.service = naming.service_name(self.name)
        self.unit_files = naming.quadlet_file_names(self.name)
        self.changed = False
        self.actions = []
        self.diff = []
        self.restarted = False
        self.status = None
        # When this run (re)started the service: older status.json files are from the previous boot.
        self._since = None

    # -- helpers -------------------------------------------------------------------------------
    def _did(self, action):
        self.changed = True
        self.actions.append(action)

    def _labels(self):
        p = self.params
        return naming.allocation_labels(self.name, p['api_port'], p['pod_subnet'], p['service_subnet'])

    def _recorded_port(self):
        """api_port from the options, else from the labels of the cluster's volumes."""
        if self.params.get('api_port'):
            return self.params['api_port']
        for volume in self.podman.volumes(label='%s=%s' % (naming.LABEL_CLUSTER, self.name)):
            port = volume.labels.get(naming.LABEL_API_PORT)
            if port and port.isdigit():
                return int(port)
        return None

    def _quadlet_paths(self):
        return [os.path.join(self.params['quadlet_dir'], f) for f in self.unit_files]

    def _units_exist(self):
        return any(os.path.exists(p) for p in self._quadlet_paths())

    def result(self, state):
        port = self._recorded_port()
        path = self.params['kubeconfig_path']
        status = None
        if self.status:
            status = {'phase': self.status['phase'], 'steps': self.status['steps']}
        return {
            'changed': self.changed,
            'actions': self.actions,
            'diff': self.diff,
            'cluster': {
                'name': self.name,
                'state': state,
                'api_port': port,
                'api_url': kubeconfig.server_url(self.params['api_address'], port) if port else None,
                'kubeconfig': path if os.path.exists(path) else None,
                'service_name': self.service,
                'container_name': self.container,
                'volumes': naming.volume_names(self.name),
                'quadlet_files': self._quadlet_paths(),
                'restarted': self.restarted,
                'status': status,
            },
        }

    # -- states --------------------------------------------------------------------------------
    def run(self):
        state = self.params['state']
        if state == 'present':
            self.present()
            return self.result('running')
        if state == 'started':
            self.started()
            return self.result('running')
        if state == 'stopped':
            self.stopped()
            return self.result('stopped')
        self.absent()
        return self.result('absent')

    def _check_merge_possible(self):
        if self.params.get('merge_kubeconfig') and not kubeconfig.HAS_YAML:
            raise ClusterError('merge_kubeconfig: true needs PyYAML (python3-yaml) on the managed host to edit '
                               '~/.kube/config; install it or set merge_kubeconfig: false')

    def present(self):
        """Files converged, service running (restarted after a change), node ready."""
        self._check_merge_possible()
        changed = self._converge_files()
        self._start(restart=changed)
        self._finish_running()

    def started(self):
        """Like present when the task gives the allocation (rendered units); else start the existing units."""
        if self.params.get('quadlet_units'):
            self.present()
            return
        self._check_merge_possible()
        if not self._units_exist():
            raise ClusterError('cluster %s has no Quadlet units in %s; create it with state=present (or give '
                               'api_port, pod_subnet and service_subnet)' % (self.name, self.params['quadlet_dir']))
        self._reload_if_not_generated()
        self._start(restart=False)
        self._finish_running()

    def stopped(self):
        """Service stopped; with the allocation given, the files are converged too (ready for a later start)."""
        if self.params.get('quadlet_units'):
            self._converge_files()
        self._stop()

    def _stop(self):
        if self.systemctl.active_state(self.service) in _RUNNING_STATES:
            self._did('stop %s' % self.service)
            if not self.check_mode:
                self.systemctl.stop(self.service)

    def _converge_files(self):
        """Volumes, unit files and node config as rendered; returns whether a unit or config file changed."""
        self._check_allocation()
        self._check_host_mounts()
        units = quadlet.plan(self.params['quadlet_dir'], self.params['quadlet_units'])
        self._ensure_volumes()
        config = self._plan_node_config()
        self.diff.extend(quadlet.diffs(units) + quadlet.diffs(config))
        units_changed = quadlet.changed(units)
        config_changed = quadlet.changed(config)
        for change in units_changed + config_changed:
            self._did('%s %s' % (change.action, change.path))
        if not self.check_mode:
            quadlet.apply(units, self.atomic_move)
            quadlet.apply(config, self.atomic_move, mode=CONFIG_FILE_MODE)
            if units_changed:
                self.systemctl.daemon_reload()
                self._require_generated()
            else:
                self._reload_if_not_generated()
        return bool(units_changed or config_changed)

    def _reload_if_not_generated(self):
        """Units written while systemd was not looking (or a failed earlier run) need a daemon-reload."""
        if not self.check_mode and self.systemctl.load_state(self.service) != 'loaded':
            self.systemctl.daemon_reload()
            self._require_generated()

    def absent(self):
        self._stop()
        volume_services = [quadlet.volume_service_name(f) for f in self.unit_files if f.endswith('.volume')]
        for service in volume_services:
            if self.systemctl.active_state(service) == 'active':
                self._did('stop %s' % service)
                if not self.check_mode:
                    self.systemctl.stop(service)
        removals = quadlet.plan_removal(self.params['quadlet_dir'], self.unit_files)
        self.diff.extend(quadlet.diffs(removals))
        for change in removals:
            self._did('remove %s' % change.path)
        if removals and not self.check_mode:
            quadlet.apply(removals, self.atomic_move)
            self.systemctl.daemon_reload()
        if self.podman.container(self.container) is not None:
            self._did('remove container %s' % self.container)
            if not self.check_mode:
                self.podman.remove_container(self.container)
        if self.params.get('purge'):
            self._purge()

    # -- present -------------------------------------------------------------------------------
    def _check_allocation(self):
        """Refuse options that contradict the allocation recorded on existing volumes: labels of
        an existing volume never change, and the allocator trusts them."""
        wanted = self._labels()
        for volume_name in naming.volume_names(self.name):
            volume = self.podman.volume(volume_name)
            if volume is None:
                continue
            if volume.labels.get(naming.LABEL_CLUSTER) != self.name:
                raise ClusterError(
                    'volume %s exists but is not labelled %s=%s, so kinc did not create it; remove it '
                    '(podman volume rm %s) or choose another cluster name'
                    % (volume_name, naming.LABEL_CLUSTER, self.name, volume_name))
            for label, option in ((naming.LABEL_API_PORT, 'api_port'), (naming.LABEL_POD_SUBNET, 'pod_subnet'),
                                  (naming.LABEL_SERVICE_SUBNET, 'service_subnet')):
                recorded = volume.labels.get(label)
                if recorded is not None and recorded != wanted[label]:
                    raise ClusterError(
                        'cluster %s is allocated %s=%s (label %s on volume %s), but %s=%s was given; pass '
                        'the values kinc.kinc.kinc_allocate returns, or re-create the cluster with '
                        'state=absent purge=true' % (self.name, option, recorded, label, volume_name,
                                                     option, self.params[option]))

    def _check_host_mounts(self):
        """A missing bind-mount source fails the service start with a terse podman error; say it first."""
        for name, text in sorted(self.params['quadlet_units'].items()):
            for line in text.splitlines():
                key, _sep, value = line.partition('=')
                source = value.split(':')[0]
                if key.strip() == 'Volume' and source.startswith('/') and not self.path_exists(source):
                    raise ClusterError('%s mounts %s from the host, which does not exist there; the node needs it '
                                       '(as kind nodes do): install the kernel modules package or create the '
                                       'directory' % (name, source))

    def _ensure_volumes(self):
        labels = self._labels()
        for volume_name in naming.volume_names(self.name):
            if self.podman.volume(volume_name) is None:
                self._did('create volume %s' % volume_name)
                if not self.check_mode:
                    self.podman.create_volume(volume_name, labels)

    def _plan_node_config(self):
        wanted = self.params['node_config']
        volume = self.podman.volume(naming.config_volume_name(self.name))
        if volume is None:
            # Check mode on a new cluster: the volume does not exist yet, every file would be created.
            directory = '<volume %s>' % naming.config_volume_name(self.name)
            return [quadlet.FileChange(n, os.path.join(directory, n), 'create', None, wanted[n])
                    for n in sorted(wanted)]
        if not volume.mountpoint:
            raise ClusterError('podman reports no mount point for volume %s; kinc needs a local volume'
                               % volume.name)
        unwanted = [n for n in cluster_params.NODE_CONFIG_FILES if n not in wanted]
        return quadlet.plan(volume.mountpoint, wanted) + quadlet.plan_removal(volume.mountpoint, unwanted)

    def _require_generated(self):
        if self.systemctl.load_state(self.service) != 'loaded':
            unit = os.path.join(self.params['quadlet_dir'], self.unit_files[-1])
            raise ClusterError(
                'Quadlet did not generate %s from %s; run /usr/libexec/podman/quadlet -dryrun%s to see why'
                % (self.service, unit, ' -user' if self.systemctl.user else ''))

    def _start(self, restart):
        try:
            self._start_or_restart(restart)
        except SystemdError as exc:
            raise ClusterError('%s\nlast lines of the journal of %s:\n%s'
                               % (exc, self.service, self._host_journal()))

    def _start_or_restart(self, restart):
        state = self.systemctl.active_state(self.service)
        if state in _RUNNING_STATES:
            if not restart:
                return
            self._did('restart %s' % self.service)
            self.restarted = True
            if not self.check_mode:
                self._since = self.now()
                self.systemctl.restart(self.service)
            return
        self._did('start %s' % self.service)
        if not self.check_mode:
            if state == 'failed':
                self.systemctl.reset_failed(self.service)
            self._since = self.now()
            self.systemctl.start(self.service)

    def _finish_running(self):
        if not self.params.get('wait', True):
            return
        if self.check_mode:
            if not os.path.exists(self.params['kubeconfig_path']):
                self._did('write %s' % self.params['kubeconfig_path'])
            return
        self._wait_ready()
        self._export_kubeconfig()

    # -- readiness -----------------------------------------------------------------------------
    def _exec(self, argv):
        return self.podman.call(['exec', self.container] + list(argv), ok_rcs=_ANY_RC)

    def _read_status(self):
        """The node's parsed status, or None while it has none (booting) or only a previous boot's."""
        try:
            status = node_status.fetch(self.podman, self.container)
        except node_status.StatusError as exc:
            raise ClusterError('%s in container %s does not follow the status contract: %s'
                               % (naming.NODE_STATUS_FILE, self.container, exc))
        if status is None:
            return None
        if self._since is not None:
            # status.json lives on the /var volume: right after a (re)start it is still the last boot's.
            rc, out, _err = self._exec(['stat', '-c', '%Y', naming.NODE_STATUS_FILE])
            if rc != 0 or not out.strip().isdigit() or int(out.strip()) < int(self._since) - 1:
                return None
        return status

    def _initialized(self):
        rc, _out, _err = self._exec(['test', '-e', naming.NODE_INITIALIZED_MARKER])
        return rc == 0

    def _service_crashed(self):
        props = self.systemctl.show(self.service, ['ActiveState', 'SubState'])
        return props.get('ActiveState') == 'failed' or props.get('SubState') == 'auto-restart'

    def _host_journal(self):
        return self.systemctl.journal_tail(self.service, HOST_JOURNAL_LINES)

    def _node_failed(self, status):
        step = node_status.failed_step(status)
        tail = ''
        if step and step['unit']:
            _rc, out, err = self._exec(['journalctl', '-u', step['unit'], '-n', '40', '--no-pager'])
            tail = out or err
        return ClusterError(node_status.failure_message(self.name, status, tail), steps=status['steps'])

    def _wait_ready(self):
        deadline = self.now() + self.params['wait_timeout']
        while True:
            status = self._read_status()
            if status is not None:
                self.status = status
                if status['phase'] == 'failed':
                    raise self._node_failed(status)
                if status['phase'] == 'ready' and self._initialized():
                    return
            elif self._service_crashed():
                raise ClusterError('%s failed before the node reported any status; last lines of its journal:\n%s'
                                   % (self.service, self._host_journal()))
            if self.now() >= deadline:
                where = node_status.summary(status) if status else 'no status from the node yet'
                raise ClusterError('cluster %s was not ready after wait_timeout=%ss (%s); last lines of the journal '
                                   'of %s:\n%s' % (self.name, self.params['wait_timeout'], where, self.service,
                                                   self._host_journal()),
                                   steps=status['steps'] if status else [])
            self.sleep(POLL_INTERVAL)

    # -- kubeconfig ----------------------------------------------------------------------------
    def _export_kubeconfig(self):
        _rc, out, _err = self.podman.call(
            ['exec', self.container, 'kubectl', '--kubeconfig', '/etc/kubernetes/admin.conf',
             'config', 'view', '--raw', '-o', 'json'], what='reading the admin kubeconfig of %s' % self.name)
        try:
            admin = json.loads(out)
        except ValueError as exc:
            raise ClusterError('the admin kubeconfig of %s is not JSON: %s' % (self.name, exc))
        context = naming.context_name(self.name)
        server = kubeconfig.server_url(self.params['api_address'], self._recorded_port())
        try:
            config = kubeconfig.rewrite(admin, context, server)
        except kubeconfig.KubeconfigError as exc:
            raise ClusterError(str(exc))
        path = self.params['kubeconfig_path']
        text = kubeconfig.to_text(config)
        if quadlet.read_text(path) != text:
            self._did('write %s' % path)
            self._make_private_dir(os.path.dirname(path))
            quadlet.write_atomic(path, text, KUBECONFIG_MODE, self.atomic_move, KUBECONFIG_DIR_MODE)
        if self.params.get('merge_kubeconfig'):
            self._merge_kubeconfig(config, context)

    @staticmethod
    def _make_private_dir(directory):
        if not os.path.isdir(directory):
            os.makedirs(directory, KUBECONFIG_DIR_MODE)

    def _merge_kubeconfig(self, config, context):
        path = self.params['user_kubeconfig']
        before = quadlet.read_text(path) or ''
        try:
            existing = kubeconfig.load(before)
            merged = kubeconfig.merge(existing, config, context)
            if before and merged == existing:
                return
            text = kubeconfig.dump(merged)
        except kubeconfig.KubeconfigError as exc:
            raise ClusterError(str(exc))
        self._did('merge context %s into %s' % (context, path))
        self._make_private_dir(os.path.dirname(path))
        quadlet.write_atomic(path, text, KUBECONFIG_MODE, self.atomic_move, KUBECONFIG_DIR_MODE)

    # -- absent --------------------------------------------------------------------------------
    def _purge(self):
        for volume_name in naming.volume_names(self.name):
            if self.podman.volume(volume_name) is not None:
                self._did('remove volume %s' % volume_name)
                if not self.check_mode:
                    self.podman.remove_volume(volume_name)
        path = self.params['kubeconfig_path']
        if os.path.exists(path):
            self._did('remove %s' % path)
            if not self.check_mode:
                os.unlink(path)
        context = naming.context_name(self.name)
        user_path = self.params['user_kubeconfig']
        before = quadlet.read_text(user_path)
        if not kubeconfig.mentions(before, context):
            return
        try:
            existing = kubeconfig.load(before)
            pruned = kubeconfig.remove(existing, context)
            if pruned == existing:
                return
            text = kubeconfig.dump(pruned)
        except kubeconfig.KubeconfigError as exc:
            raise ClusterError(str(exc))
        self._did('remove context %s from %s' % (context, user_path))
        if not self.check_mode:
            quadlet.write_atomic(user_path, text, KUBECONFIG_MODE, self.atomic_move, KUBECONFIG_DIR_MODE)

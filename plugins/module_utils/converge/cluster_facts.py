# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the host can read about a cluster without entering its node: the files on its volumes (cluster.env in
the config volume; kubeadm.yaml, status.json and events.jsonl in the /var volume) and the age of its data.

Read from the volumes' mount points, these work whether the node runs, is stopped or never started.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import os
import re
import time

from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming

CLUSTER_ENV = 'cluster.env'
_VAR_PREFIX = '/var/'
_KUBERNETES_VERSION = re.compile(r'^kubernetesVersion:\s*["\']?(v?[0-9][^"\'\s]*)', re.M)
_PODMAN_TIME = re.compile(r'^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:?\d\d)?')


def var_path(var_mountpoint, node_path):
    """Host path of a node path under /var, through the /var volume's mount point."""
    if not node_path.startswith(_VAR_PREFIX):
        raise ValueError('%s is not under /var' % node_path)
    return os.path.join(var_mountpoint, node_path[len(_VAR_PREFIX):])


def read_text(path):
    """The file's text, or None when it is missing or unreadable."""
    try:
        with open(path, 'rb') as handle:
            return handle.read().decode('utf-8', 'replace')
    except (IOError, OSError):
        return None


def parse_env(text):
    """cluster.env's KEY=value lines as a dict (quotes removed)."""
    values = {}
    for line in (text or '').splitlines():
        key, sep, value = line.strip().partition('=')
        if sep and not key.startswith('#'):
            values[key.strip()] = value.strip().strip('"\'')
    return values


def kubernetes_version(kubeadm_yaml, env, image_labels):
    """The cluster's Kubernetes version: what kubeadm deployed (/var/lib/kinc/kubeadm.yaml), else the version
    pinned in cluster.env, else the node image's label; None when nothing says."""
    match = _KUBERNETES_VERSION.search(kubeadm_yaml or '')
    version = match.group(1) if match and '${' not in match.group(1) else None
    version = version or env.get('KINC_KUBERNETES_VERSION') or (image_labels or {}).get('io.kinc.kubernetes-version')
    if version and not version.startswith('v'):
        version = 'v' + version
    return version or None


def parse_podman_time(text):
    """Seconds since the epoch of a podman timestamp ('2026-11-23T14:29:52.07858Z', '...+01:00'); None if unparsable."""
    match = _PODMAN_TIME.match(text or '')
    if not match:
        return None
    seconds = calendar.timegm(time.strptime(match.group(1), '%Y-%m-%dT%H:%M:%S'))
    zone = match.group(2) or 'Z'
    if zone != 'Z':
        sign = -1 if zone[0] == '-' else 1
        digits = zone[1:].replace(':', '')
        seconds -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return seconds


def age(seconds):
    """A short age like kubectl prints: 45s, 7m, 5h12m, 3d4h."""
    if seconds is None:
        return None
    seconds = max(0, int(seconds))
    if seconds < 60:
        return '%ds' % seconds
    if seconds < 3600:
        return '%dm' % (seconds // 60)
    if seconds < 86400:
        return '%dh%dm' % (seconds // 3600, seconds % 3600 // 60)
    return '%dd%dh' % (seconds // 86400, seconds % 86400 // 3600)


class VolumeFiles(object):
    """A cluster's files as the host sees them through its volumes' mount points."""

    def __init__(self, var_mountpoint, config_mountpoint):
        self.var = var_mountpoint
        self.config = config_mountpoint

    def cluster_env(self):
        return parse_env(read_text(os.path.join(self.config, CLUSTER_ENV)) if self.config else None)

    def var_file(self, node_path):
        return read_text(var_path(self.var, node_path)) if self.var else None

    def events_file(self):
        """Host path of events.jsonl (whether or not it exists yet), or None without a /var volume."""
        return var_path(self.var, naming.NODE_EVENTS_FILE) if self.var else None

# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cluster's node settings beyond the allocation: node labels, kubeadm patches, memory and CPU limits.

Rules (each error a `<field>: <what>; fix: <what to do>` message), the kubeadm patch merge and the text
these settings become. Pure, standard library only; the YAML of the kubeadm configuration is parsed and
written by the action plugin (controller), which has PyYAML.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Kubernetes label syntax (apimachinery validation.IsQualifiedName / IsValidLabelValue).
_NAME = r'[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?'
_PREFIX = r'[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*'
_LABEL_KEY = re.compile(r'(%s/)?%s\Z' % (_PREFIX, _NAME))
_LABEL_VALUE = re.compile(r'(%s)?\Z' % _NAME)
# kubelet refuses to set these on its own node (NodeRestriction; kubelet --node-labels).
_KUBELET_RESERVED = re.compile(r'([^/]*\.)?(kubernetes\.io|k8s\.io)/')
_KUBELET_ALLOWED = re.compile(r'([^/]*\.)?(kubelet|node)\.kubernetes\.io/|kubernetes\.io/(hostname|arch|os)\Z'
                              r'|beta\.kubernetes\.io/(arch|os|instance-type)\Z|topology\.kubernetes\.io/(region|zone)\Z'
                              r'|failure-domain\.beta\.kubernetes\.io/(region|zone)\Z')
# Podman's --memory: a whole number of bytes or of k, m, g (either case); --cpus: a number of CPUs.
_MEMORY = re.compile(r'([1-9][0-9]{0,15})([bkmgBKMG]?)\Z')
_UNITS = dict(b=1, k=1024, m=1024 ** 2, g=1024 ** 3)
MIN_MEMORY = 1024 ** 3
_CPUS = re.compile(r'[0-9]{1,4}(\.[0-9]{1,3})?\Z')
MIN_CPUS = 0.5

# Documents of kinc's kubeadm configuration (files/image/rootfs/etc/kinc/kubeadm.conf.tmpl) and, per kind,
# the fields kinc sets for the node to work, which a patch may not change (a path names a field and all
# below it). Lists in a patch replace the document's list, so kubeletExtraArgs and certSANs are kinc's.
OWNED = {
    'InitConfiguration': ('localAPIEndpoint', 'nodeRegistration.name', 'nodeRegistration.criSocket',
                          'nodeRegistration.kubeletExtraArgs'),
    'ClusterConfiguration': ('clusterName', 'kubernetesVersion', 'controlPlaneEndpoint', 'networking.podSubnet',
                             'networking.serviceSubnet', 'apiServer.certSANs'),
    'KubeletConfiguration': ('containerRuntimeEndpoint', 'cgroupDriver', 'cgroupRoot',
                             'featureGates.KubeletInUserNamespace', 'systemReserved'),
    'KubeProxyConfiguration': ('conntrack',),
}
OWNED_FIX = {
    'nodeRegistration.kubeletExtraArgs': 'use node_labels for labels and a KubeletConfiguration patch for kubelet '
                                         'settings',
    'systemReserved': 'set memory and cpus: kinc reserves what the node may not use',
}


def _problem(field, what, fix):
    return '%s: %s; fix: %s' % (field, what, fix)


def labels_error(labels, field='node_labels'):
    """Why `labels` cannot be the node's labels (kubelet --node-labels), or None."""
    if not isinstance(labels, dict):
        return _problem(field, '%r is not a mapping' % (labels,), 'write labels as {ingress-ready: "true"}')
    for key in sorted(labels, key=str):
        value = labels[key]
        here = '%s[%r]' % (field, key)
        if not isinstance(key, str) or not _LABEL_KEY.match(key) or len(key.split('/')[0]) > 253:
            return _problem(here, 'is not a label key', 'use [prefix/]name: a DNS subdomain prefix and a name of at '
                            'most 63 letters, digits, -, _ or . starting and ending with a letter or digit')
        if _KUBELET_RESERVED.match(key) and not _KUBELET_ALLOWED.match(key):
            return _problem(here, 'is in a kubernetes.io or k8s.io namespace that kubelet may not set on its node',
                            'use a prefix of your own (example.com/role) or node-role.kubernetes.io after '
                            'the cluster is up (kubectl label node)')
        if isinstance(value, bool) or not isinstance(value, (str, int)) or not _LABEL_VALUE.match(str(value)):
            return _problem(here, 'value %r is not a label value' % (value,), 'quote a value of at most 63 letters, '
                            'digits, -, _ or . starting and ending with a letter or digit, e.g. "true"')
    return None


def labels_arg(labels):
    """kubelet's --node-labels value: key=value pairs, sorted, comma-separated ('' without labels)."""
    return ','.join('%s=%s' % (key, labels[key]) for key in sorted(labels or {}))


def memory_bytes(memory):
    """Podman's --memory value in bytes (a unit suffix multiplies by 1024 per step)."""
    number, unit = _MEMORY.match(memory).groups()
    return int(number) * _UNITS[unit.lower() or 'b']


def memory_error(memory, field='memory'):
    if not isinstance(memory, str) or not _MEMORY.match(memory):
        return _problem(field, '%r is not an amount of memory' % (memory,), 'write it as Podman does, e.g. 4g or 2048m')
    if memory_bytes(memory) < MIN_MEMORY:
        return _problem(field, '%s is below 1g, too little for a control-plane node' % memory, 'give 1g or more (2g '
                        'or more for workloads)')
    return None


def cpus_error(cpus, field='cpus'):
    if not isinstance(cpus, str) or not _CPUS.match(cpus) or float(cpus) < MIN_CPUS:
        return _problem(field, '%r is not a number of CPUs from %s' % (cpus, MIN_CPUS), 'give e.g. 2 or 1.5')
    return None


def podman_limits(memory=None, cpus=None):
    """The node container's `podman run` limit options (Quadlet PodmanArgs=), '' without limits."""
    return ' '.join(['--memory=%s' % memory] * bool(memory) + ['--cpus=%s' % cpus] * bool(cpus))


# The cgroup controller each limit needs.
LIMIT_CONTROLLERS = (('memory', 'memory'), ('cpus', 'cpu'))


def limits_problem(cluster, controllers):
    """Why the owner cannot run `cluster` with its memory/cpus limits: a limit whose cgroup controller is not
    among `controllers` (crun refuses the container), or None."""
    missing = [(key, c) for key, c in LIMIT_CONTROLLERS if cluster.get(key) and c not in controllers]
    if not missing:
        return None
    return _problem('%s: %s' % (cluster.get('name'), ', '.join(k for k, _c in missing)),
                    'needs the cgroup controller %s, which the owner\'s containers do not have (they have: %s)'
                    % (' '.join(c for _k, c in missing), ' '.join(controllers) or 'none'),
                    'run the kinc.kinc.kinc_host role (it delegates cpu and memory to the user\'s systemd), '
                    'or remove the limit')


def _plain(value):
    """Whether `value` is YAML/JSON data: mappings with string keys, lists, strings, numbers, booleans, null."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


def _paths(patch, prefix=''):
    """(dotted path, whether the patch replaces or removes what is there) of every field of `patch`."""
    for key, value in patch.items():
        path = prefix + key
        yield path, not isinstance(value, dict)
        if isinstance(value, dict):
            yield from _paths(value, path + '.')


def patches_error(patches, config_mode='mounted', field='kubeadm_patches'):
    """Why `patches` cannot be merged into kinc's kubeadm configuration, or None."""
    if not isinstance(patches, list):
        return _problem(field, '%r is not a list' % (patches,), 'give a list of documents, each with a kind')
    if patches and config_mode != 'mounted':
        return _problem(field, 'needs config_mode mounted (a baked node renders its image\'s configuration itself)',
                        'set config_mode: mounted, or remove kubeadm_patches')
    for position, patch in enumerate(patches):
        here = '%s[%d]' % (field, position)
        if not isinstance(patch, dict) or not _plain(patch):
            return _problem(here, 'is not a mapping of YAML data', 'write a document such as {kind: '
                            'ClusterConfiguration, apiServer: {extraArgs: [{name: v, value: "2"}]}}')
        kind = patch.get('kind')
        if kind not in OWNED:
            return _problem(here + '.kind', '%r is not a document of kinc\'s kubeadm configuration' % (kind,),
                            'use one of %s' % ', '.join(sorted(OWNED)))
        for path, replaces in _paths(dict((k, v) for k, v in patch.items() if k not in ('apiVersion', 'kind'))):
            # The field itself, one below it, or one above it that the patch replaces (null, a scalar, a list).
            owned = [o for o in OWNED[kind] if path == o or path.startswith(o + '.')
                     or (replaces and o.startswith(path + '.'))]
            if owned:
                return _problem('%s.%s' % (here, path), 'is set by kinc for the node to work',
                                OWNED_FIX.get(owned[0], 'leave it out of the patch'))
    return None


def _merged(document, patch):
    """`patch` merged into `document`: mappings key by key (null removes a key), anything else replaced."""
    result = dict(document)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merged(result[key], value)
        else:
            result[key] = value
    return result


def apply_patches(documents, patches):
    """kinc's kubeadm documents with each patch merged into the document of its kind (and apiVersion, when the
    patch names one). Raises ValueError naming the patch whose apiVersion matches no document."""
    documents = list(documents)
    for position, patch in enumerate(patches):
        matches = [i for i, d in enumerate(documents) if d.get('kind') == patch['kind']
                   and patch.get('apiVersion', d.get('apiVersion')) == d.get('apiVersion')]
        if not matches:
            raise ValueError(_problem('kubeadm_patches[%d].apiVersion' % position, '%r is not the apiVersion of '
                                      'kinc\'s %s' % (patch.get('apiVersion'), patch['kind']),
                                      'leave apiVersion out, or give the one of kinc\'s configuration'))
        body = dict((k, v) for k, v in patch.items() if k not in ('apiVersion', 'kind'))
        for index in matches:
            documents[index] = _merged(documents[index], body)
    return documents


def with_node_labels(kubeadm_text, labels):
    """kubeadm_text with kubelet's node-labels argument after the kubeletExtraArgs line of kinc's template (the
    node's kinc-preflight inserts the same two lines in baked mode)."""
    if not labels:
        return kubeadm_text
    anchor = '  kubeletExtraArgs:\n'
    if anchor not in kubeadm_text:
        raise ValueError('the kubeadm template has no "%s" line for node_labels' % anchor.strip())
    return kubeadm_text.replace(anchor, anchor + '    - name: node-labels\n      value: "%s"\n'
                                % labels_arg(labels), 1)

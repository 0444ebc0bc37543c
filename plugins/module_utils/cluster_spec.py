# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one specification of a cluster's options: types, choices, defaults and every rule about values.

Used by kinc_cluster's argument spec (target), its action plugin (controller, before rendering), the
kinc_validate action (the role's whole `kinc_clusters` list, before the host is touched) and kinc_allocate
(the port range), so a bad value is refused with the same message wherever it is checked.

Every message reads `<field>: <what is wrong with the value>; fix: <what to do>`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


import os
import re

from ansible.module_utils.common.validation import check_type_bool, check_type_int, check_type_str

from ansible_collections.kinc.kinc.plugins.module_utils import image_reference
from ansible_collections.kinc.kinc.plugins.module_utils import kubeadm_config
from ansible_collections.kinc.kinc.plugins.module_utils import naming
from ansible_collections.kinc.kinc.plugins.module_utils import node_image

# Not six's: ansible-core 2.20 deprecates ansible.module_utils.six (sanity's pylint); Python 3 only.
string_types = str

DEFAULT_IMAGE = node_image.image_for()
DEFAULT_API_ADDRESS = naming.DEFAULT_API_ADDRESS
DEFAULT_CONFIG_MODE = 'mounted'
DEFAULT_WAIT_TIMEOUT = 600
DEFAULT_BASE_PORT = 6443
STATES = ('present', 'started', 'stopped', 'absent')
CONFIG_MODES = ('mounted', 'baked')

# TCP ports. Root may publish on any; a rootless user only from the kernel's
# net.ipv4.ip_unprivileged_port_start (1024 unless the host lowered it), which the host-side checks read.
MAX_PORT = 65535
UNPRIVILEGED_PORT_START_FILE = '/proc/sys/net/ipv4/ip_unprivileged_port_start'
KERNEL_UNPRIVILEGED_PORT_START = 1024

# kinc_cluster's options that describe the cluster (the argument spec of the module, without the
# options the action plugin sets and the shared ones of module_base).
CLUSTER_OPTIONS = dict(
    name=dict(type='str', required=True),
    state=dict(type='str', default='present', choices=list(STATES)),
    api_port=dict(type='int'),
    pod_subnet=dict(type='str'),
    service_subnet=dict(type='str'),
    image=dict(type='str', default=DEFAULT_IMAGE),
    api_address=dict(type='str', default=DEFAULT_API_ADDRESS),
    config_mode=dict(type='str', default=DEFAULT_CONFIG_MODE, choices=list(CONFIG_MODES)),
    kubernetes_version=dict(type='str'),
    events=dict(type='bool', default=False),
    purge=dict(type='bool', default=False),
    wait=dict(type='bool', default=True),
    wait_timeout=dict(type='int', default=DEFAULT_WAIT_TIMEOUT),
    kubeconfig_path=dict(type='path'),
    merge_kubeconfig=dict(type='bool', default=False),
    registry_port=dict(type='int'),
)

# The keys of one entry of the role's kinc_clusters list (its meta/argument_specs.yml documents them; a
# unit test keeps the two equal), and for each the role variable that gives its default.
ENTRY_KEYS = ('name', 'state', 'api_port', 'image', 'config_mode', 'api_address', 'kubernetes_version',
              'events', 'merge_kubeconfig', 'kubeconfig_path', 'purge', 'images')
# Entry keys that are not kinc_cluster options: the role hands them to other modules (images: kinc_image).
ROLE_ENTRY_OPTIONS = dict(
    images=dict(type='list', elements='str', default=[]),
)
ROLE_DEFAULT_VARIABLES = dict(
    state='kinc_state',
    image='kinc_node_image',
    config_mode='kinc_config_mode',
    api_address='kinc_api_address',
    kubernetes_version='kinc_kubernetes_version',
    events='kinc_events',
    merge_kubeconfig='kinc_merge_kubeconfig',
    purge='kinc_purge',
)
# Values of the role variables when the inventory sets none (the role's defaults/main.yml; a unit test
# keeps them equal). '' means "not set" for kubernetes_version and kubeconfig_path.
ROLE_DEFAULTS = dict(
    kinc_state='present',
    kinc_node_image=DEFAULT_IMAGE,
    kinc_config_mode=DEFAULT_CONFIG_MODE,
    kinc_api_address=DEFAULT_API_ADDRESS,
    kinc_kubernetes_version='',
    kinc_events=False,
    kinc_merge_kubeconfig=False,
    kinc_purge=False,
    kinc_base_port=DEFAULT_BASE_PORT,
    kinc_wait_timeout=DEFAULT_WAIT_TIMEOUT,
)


def problem(field, what, fix):
    return '%s: %s; fix: %s' % (field, what, fix)


def port_error(port, field='api_port', lowest=1):
    """Why `port` cannot be an API port from `lowest` to 65535, or None."""
    if isinstance(port, bool) or not isinstance(port, int) or not lowest <= port <= MAX_PORT:
        return problem(field, '%r is not a TCP port from %d to %d' % (port, lowest, MAX_PORT),
                       'give a port from %d to %d, or leave api_port out to allocate one' % (lowest, MAX_PORT))
    return None


def registry_port_error(port, field='registry_port'):
    """Why `port` cannot be the owner's local registry port, or None."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= MAX_PORT:
        return problem(field, '%r is not a TCP port from 1 to %d' % (port, MAX_PORT),
                       'take it from kinc.kinc.kinc_registry, or leave it out when there is no registry')
    return None


def _base_port_error(port, field):
    if port_error(port, field):
        return problem(field, '%r is not a TCP port from 1 to %d' % (port, MAX_PORT),
                       'give the first port automatic allocation tries, e.g. %d' % DEFAULT_BASE_PORT)
    return None


def lowest_port(rootless, unprivileged_port_start=KERNEL_UNPRIVILEGED_PORT_START):
    """The lowest port a cluster of this user can publish on: 1 for root, else the kernel's limit."""
    return max(1, unprivileged_port_start) if rootless else 1


def read_unprivileged_port_start(path=UNPRIVILEGED_PORT_START_FILE):
    """net.ipv4.ip_unprivileged_port_start of the network namespace reading it (the kernel default if unknown)."""
    try:
        with open(path) as handle:
            return int(handle.read().strip())
    except (IOError, OSError, ValueError):
        return KERNEL_UNPRIVILEGED_PORT_START


def image_error(image, field='image'):
    """Why `image` is not an image reference Podman can run, or None."""
    why = image_reference.reference_error(image) if isinstance(image, string_types) else 'is not an image reference'
    if why:
        return problem(field, '%r %s' % (image, why), 'write an image reference such as localhost/kinc-node:v1.37.1 '
                       'or registry.example/kinc/node:v1.33@sha256:<hex>')
    return None


def address_error(address, field='api_address'):
    if not kubeadm_config.address_ok(address):
        zone = isinstance(address, string_types) and '%' in address
        return problem(field, '%r is not a unicast IP address%s' % (address, ' (it has an IPv6 zone id)' if zone else ''),
                       'give the host address to publish the API on, such as 127.0.0.1')
    return None


def version_error(version, field='kubernetes_version'):
    try:
        kubeadm_config.normalize_version(version, field)
    except kubeadm_config.KubeadmConfigError as exc:
        return _reworded(field, str(exc), "write a version like 'v1.33.5', or leave it out for the image's own")
    return None


def kubeconfig_path_error(path, field='kubeconfig_path'):
    if (not isinstance(path, string_types) or not path.startswith(('/', '~')) or path.endswith('/')
            or naming.has_control(path)):
        return problem(field, '%r is not the absolute path of a file' % (path,),
                       'give a file path such as ~/.kube/kinc-dev.conf, or leave it out for that default')
    return None


def kubeconfig_clash(path, name, kube_dir, taken):
    """What `path` would overwrite, and a purge delete, that is not cluster `name`'s own kubeconfig: the user's
    <kube_dir>/config, another cluster's default <kube_dir>/kinc-<other>.conf, or a path in `taken` ({path:
    cluster}); None when it is the cluster's own."""
    path = os.path.normpath(path)
    other = re.match(r'kinc-(.+)\.conf\Z', os.path.basename(path))
    if path == os.path.join(kube_dir, 'config'):
        return '%s is the kubeconfig merge_kubeconfig merges contexts into' % path
    if os.path.dirname(path) == kube_dir and other and other.group(1) != name:
        return '%s is the default kubeconfig of cluster %s' % (path, other.group(1))
    if taken.get(path, name) != name:
        return '%s is also the kubeconfig of cluster %s' % (path, taken[path])
    return None


def kubeconfig_fix(name, kube_dir):
    return ('leave kubeconfig_path out (it defaults to %s/%s) or give a file of this cluster alone'
            % (kube_dir, naming.kubeconfig_file_name(name)))


def choice_error(value, choices, field):
    if value not in choices:
        return problem(field, '%r is not one of %s' % (value, ', '.join(choices)), 'use one of %s' % ', '.join(choices))
    return None


def wait_timeout_error(timeout, field='wait_timeout'):
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        return problem(field, '%r is not a positive number of seconds' % (timeout,), 'give the seconds to wait, e.g. 600')
    return None


def name_problem(name, field='name'):
    if not isinstance(name, string_types) or not name:
        return problem(field, '%r is not a cluster name' % (name,), "give a name such as 'dev-1'")
    error = naming.name_error(name, field=field)
    return _reworded(field, error, "rename the cluster, e.g. 'dev-1'") if error else None


def _reworded(field, message, fix):
    """A message of another module ('<field> <value> is ...; <fix>') in this module's form."""
    if message.startswith(field + ' '):
        message = message[len(field) + 1:]
    what, _sep, own_fix = message.partition('; ')
    return problem(field, what, own_fix or fix)


# Rules of each value, shared by the module's options and the role's entries (`field` names the value).
def images_error(images, field='images'):
    """Why `images` is not a list of image references (Podman storage) or absolute archive paths, or None."""
    for position, image in enumerate(images):
        here = '%s[%d]' % (field, position)
        if not isinstance(image, string_types):
            return problem(here, '%r is not a string' % (image,), 'name an image such as localhost/app:dev')
        if image.startswith('/') and not naming.has_control(image):
            continue
        why = image_reference.reference_error(image)
        if why or '@' in image:
            return problem(here, '%r %s' % (image, why or 'names a digest'),
                           'name an image of the owner\'s Podman storage with a tag, such as localhost/app:dev, '
                           'or an image archive by its absolute path')
    return None


VALUE_CHECKS = dict(
    name=name_problem,
    images=images_error,
    state=lambda value, field: choice_error(value, STATES, field),
    config_mode=lambda value, field: choice_error(value, CONFIG_MODES, field),
    api_port=port_error,
    image=image_error,
    api_address=address_error,
    kubernetes_version=version_error,
    kubeconfig_path=kubeconfig_path_error,
    wait_timeout=wait_timeout_error,
    registry_port=registry_port_error,
)


def errors(params, prefix=''):
    """Every problem with kinc_cluster's `params` (module option names as keys), as a list of messages."""
    found = []
    state = params.get('state') or 'present'
    for option, check in sorted(VALUE_CHECKS.items()):
        value = params.get(option)
        if value is None and option not in ('name', 'state'):
            continue
        error = check(state if option == 'state' else value, prefix + option)
        if error:
            found.append(error)
    if params.get('api_port') is None and state == 'present':
        found.append(problem(prefix + 'api_port', 'required with state=present',
                             'take it from kinc.kinc.kinc_allocate'))
    subnets = [params.get(field) for field in ('pod_subnet', 'service_subnet')]
    for field, value in zip(('pod_subnet', 'service_subnet'), subnets):
        if value is None and state == 'present':
            found.append(problem(prefix + field, 'required with state=present', 'take it from kinc.kinc.kinc_allocate'))
    if None not in subnets:
        try:
            kubeadm_config.check_subnets(*subnets)
        except kubeadm_config.KubeadmConfigError as exc:
            found.append(problem(prefix + 'pod_subnet/service_subnet', str(exc),
                                 'take both from kinc.kinc.kinc_allocate'))
    return found


_KINDS = dict(str=('a string', 'a string'), int=('a whole number', 'a whole number'),
              bool=('a boolean', 'true or false'), list=('a list', 'a list, e.g. [localhost/app:dev]'))


def coerce(value, kind, field):
    """(value converted as the module's argument spec would, problem or None); kind: str, int, bool or list."""
    try:
        if kind == 'bool':
            return check_type_bool(value), None
        if kind == 'list':
            if not isinstance(value, list):
                raise TypeError(value)
            return value, None
        if isinstance(value, bool) or isinstance(value, (dict, list)):
            raise TypeError(value)
        if kind == 'int':
            return check_type_int(value), None
        return check_type_str(value, allow_conversion=True), None
    except (TypeError, ValueError):
        what, fix = _KINDS[kind]
        return value, problem(field, '%r is not %s' % (value, what), 'give %s' % fix)


_ENTRY_TYPES = dict((key, dict(CLUSTER_OPTIONS, **ROLE_ENTRY_OPTIONS)[key]['type']) for key in ENTRY_KEYS)
_ENTRY_TYPES['kubeconfig_path'] = 'str'


def _check_value(key, value, field):
    value, error = coerce(value, _ENTRY_TYPES[key], field)
    if error is None and key in VALUE_CHECKS and not (key in ('kubernetes_version', 'kubeconfig_path') and value == ''):
        error = VALUE_CHECKS[key](value, field)
    return value, error


def declared_clusters(entries, role_vars, field='kinc_clusters'):
    """Check the role's whole cluster list at once: (entries with the role-wide defaults applied, problems).

    `role_vars`: the kinc_* role variables (missing ones take ROLE_DEFAULTS). Every entry of the result has
    every key of ENTRY_KEYS except api_port, which is there only when the entry forces one;
    kubernetes_version and kubeconfig_path are '' when not set."""
    found = []
    defaults = {}
    for key, variable in sorted(ROLE_DEFAULT_VARIABLES.items()):
        value = role_vars.get(variable)
        value = ROLE_DEFAULTS[variable] if value is None else value
        defaults[key], error = _check_value(key, value, variable)
        if error:
            found.append(error)
    defaults['kubeconfig_path'] = ''
    defaults['images'] = []
    for variable, check in (('kinc_base_port', _base_port_error), ('kinc_wait_timeout', wait_timeout_error)):
        value = role_vars.get(variable)
        value, error = coerce(ROLE_DEFAULTS[variable] if value is None else value, 'int', variable)
        error = error or check(value, variable)
        if error:
            found.append(error)
    if not isinstance(entries, list):
        return [], found + [problem(field, '%r is not a list' % (entries,),
                                    'give a list of clusters, e.g. [{name: dev}]')]
    declared = []
    names = {}
    ports = {}
    kubeconfigs = {}
    for position, entry in enumerate(entries):
        here = '%s[%d]' % (field, position)
        if not isinstance(entry, dict):
            found.append(problem(here, '%r is not a mapping' % (entry,), 'write each cluster as {name: <name>, ...}'))
            continue
        cluster = dict(defaults)
        bad = set()
        for key in sorted(entry, key=str):
            if key not in ENTRY_KEYS:
                found.append(problem('%s.%s' % (here, key), 'unknown key',
                                     'remove it or use one of %s' % ', '.join(sorted(ENTRY_KEYS))))
            elif entry[key] is not None:
                cluster[key], error = _check_value(key, entry[key], '%s.%s' % (here, key))
                if error:
                    found.append(error)
                    bad.add(key)
        if (cluster['kubernetes_version'] and entry.get('image') is None
                and version_error(cluster['kubernetes_version']) is None):
            # No image of its own: kinc builds one for this version, which it can only for the minors it pins.
            why = node_image.version_error(cluster['kubernetes_version'], here + '.kubernetes_version')
            if why:
                found.append(problem(here + '.kubernetes_version', why.split(' ', 1)[1],
                                     'choose a supported minor, or name an image of your own with image'))
        if entry.get('name') is None:
            found.append(problem(here + '.name', 'missing', 'give every cluster a name, e.g. dev'))
        elif 'name' in bad:
            pass
        elif cluster['name'] in names:
            found.append(problem(here + '.name', '%r repeats %s' % (cluster['name'], names[cluster['name']]),
                                 'declare each cluster once and put all its options in that entry'))
        else:
            names[cluster['name']] = here
        path = cluster['kubeconfig_path']
        if path and 'kubeconfig_path' not in bad and 'name' not in bad and path.startswith('~/'):
            # '~' is the managed host's home: only paths under it can be compared here (the module checks all).
            clash = kubeconfig_clash(path, cluster['name'], '~/.kube', kubeconfigs)
            if clash:
                found.append(problem(here + '.kubeconfig_path', clash, kubeconfig_fix(cluster['name'], '~/.kube')))
            kubeconfigs.setdefault(os.path.normpath(path), cluster['name'])
        port = cluster.get('api_port')
        if port is not None and 'api_port' not in bad and cluster['state'] != 'absent':
            if port in ports:
                found.append(problem(here + '.api_port', '%d is also forced for %s' % (port, ports[port]),
                                     'give each cluster its own port or leave api_port out to allocate one'))
            ports.setdefault(port, here)
        declared.append(cluster)
    return declared, found


def normalize(args):
    """kinc_cluster's task arguments as its argument spec hands them to the module: (params, problems).

    Defaults are filled in and scalars coerced, so the controller renders what the module will validate;
    arguments that are not cluster options pass through unchanged."""
    params = dict(args)
    found = []
    for option, spec in CLUSTER_OPTIONS.items():
        value = args.get(option)
        if value is None:
            params[option] = spec.get('default')
            continue
        params[option], error = coerce(value, 'str' if spec['type'] == 'path' else spec['type'], option)
        if error:
            found.append(error)
    return params, found


def allocation_requests(declared, field='kinc_clusters'):
    """kinc_allocate's `clusters` for the present clusters of a declared list, each naming its entry."""
    return [dict([('name', c['name']), ('api_address', c['api_address']), ('field', '%s[%d]' % (field, position))]
                 + ([('api_port', c['api_port'])] if 'api_port' in c else []))
            for position, c in enumerate(declared) if c['state'] != 'absent']

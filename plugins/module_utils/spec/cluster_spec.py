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

from ansible_collections.kinc.kinc.plugins.module_utils.allocation import host_network
from ansible_collections.kinc.kinc.plugins.module_utils.spec import image_reference
from ansible_collections.kinc.kinc.plugins.module_utils.node import config_render
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming
from ansible_collections.kinc.kinc.plugins.module_utils.node import image_builds
from ansible_collections.kinc.kinc.plugins.module_utils.spec import node_settings

# Not six's: ansible-core 2.20 deprecates ansible.module_utils.six (sanity's pylint); Python 3 only.
string_types = str

DEFAULT_IMAGE = image_builds.image_for()
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
    ports=dict(type='list', elements='dict', default=[], options=dict(
        host_port=dict(type='int', required=True),
        node_port=dict(type='int', required=True),
        protocol=dict(type='str', default='tcp', choices=['tcp', 'udp']),
        address=dict(type='str'),
    )),
    node_labels=dict(type='dict', default={}),
    kubeadm_patches=dict(type='list', elements='dict', default=[]),
    memory=dict(type='str'),
    cpus=dict(type='str'),
    registry_port=dict(type='int'),
)

# The keys of one entry of the role's kinc_clusters list (its meta/argument_specs.yml documents them; a
# unit test keeps the two equal), and for each the role variable that gives its default.
ENTRY_KEYS = ('name', 'state', 'api_port', 'image', 'config_mode', 'api_address', 'kubernetes_version',
              'events', 'merge_kubeconfig', 'kubeconfig_path', 'purge', 'images', 'ports', 'node_labels',
              'kubeadm_patches', 'memory', 'cpus')
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
    ports='kinc_ports',
    memory='kinc_memory',
    cpus='kinc_cpus',
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
    kinc_ports=[],
    kinc_memory='',
    kinc_cpus='',
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
    if not config_render.address_ok(address):
        zone = isinstance(address, string_types) and '%' in address
        return problem(field, '%r is not a unicast IP address%s' % (address, ' (it has an IPv6 zone id)' if zone else ''),
                       'give the host address to publish the API on, such as 127.0.0.1')
    return None


def version_error(version, field='kubernetes_version'):
    try:
        config_render.normalize_version(version, field)
    except config_render.KubeadmConfigError as exc:
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


# -- Published ports (`ports`): host ports forwarded to ports of the node, like kind's extraPortMappings. ------
PROTOCOLS = ('tcp', 'udp')
PORT_KEYS = ('host_port', 'node_port', 'protocol', 'address')
# A cluster publishes at most this many ports (also the most another user's record may claim per cluster).
MAX_PUBLISHED_PORTS = 32
_PORTS_EXAMPLE = '[{host_port: 8080, node_port: 30080}]'


def _mapped_port_error(value, field, what):
    value, error = coerce(value, 'int', field)
    if error is None and not 1 <= value <= MAX_PORT:
        error = problem(field, '%r is not a port from 1 to %d' % (value, MAX_PORT), 'give %s' % what)
    return value, error


def published_ports(ports, api_address, field='ports'):
    """(mappings, problems) of a cluster's `ports`: each mapping {host_port, node_port, protocol, address} with
    protocol tcp and the cluster's `api_address` filled in where left out (`api_address` None: not known yet)."""
    if not isinstance(ports, list):
        return [], [problem(field, '%r is not a list' % (ports,), 'give a list such as %s' % _PORTS_EXAMPLE)]
    if len(ports) > MAX_PUBLISHED_PORTS:
        return [], [problem(field, '%d ports are more than %d' % (len(ports), MAX_PUBLISHED_PORTS),
                            'publish at most %d ports per cluster (an ingress controller needs one or two)'
                            % MAX_PUBLISHED_PORTS)]
    mappings, found = [], []
    for position, entry in enumerate(ports):
        here = '%s[%d]' % (field, position)
        if not isinstance(entry, dict):
            found.append(problem(here, '%r is not a mapping' % (entry,), 'write each port as {host_port: 8080, '
                                 'node_port: 30080}'))
            continue
        errors_before = len(found)
        found += [problem('%s.%s' % (here, key), 'unknown key', 'use %s' % ', '.join(PORT_KEYS))
                  for key in sorted(entry, key=str) if key not in PORT_KEYS]
        mapping = dict(protocol=entry.get('protocol') or 'tcp', address=entry.get('address') or api_address)
        for key, what in (('host_port', 'the host port to publish, e.g. 8080 (not the API port)'),
                          ('node_port', 'the port in the node: a NodePort from 30000 to 32767, or a pod\'s '
                                        'hostPort such as 80')):
            if entry.get(key) is None:
                found.append(problem('%s.%s' % (here, key), 'missing', 'give %s' % what))
            else:
                mapping[key], error = _mapped_port_error(entry[key], '%s.%s' % (here, key), what)
                found += [error] if error else []
        found += [e for e in [choice_error(mapping['protocol'], PROTOCOLS, here + '.protocol')] if e]
        if entry.get('address') is not None:
            found += [e for e in [address_error(entry['address'], here + '.address')] if e]
        if len(found) > errors_before:
            continue
        for earlier, other in enumerate(mappings):
            if same_host_port(mapping, other):
                found.append(problem(here + '.host_port', '%d/%s repeats %s[%d]' % (
                    mapping['host_port'], mapping['protocol'], field, earlier),
                    'publish each host port once per address and protocol'))
        mappings.append(mapping)
    return mappings, found


def same_host_port(one, other):
    """Whether two mappings ({host_port, protocol, address}) bind the same host port (a wildcard meets all)."""
    if (one['host_port'], one['protocol']) != (other['host_port'], other['protocol']):
        return False
    if one['address'] is None or other['address'] is None or address_error(one['address']) \
            or address_error(other['address']):
        return one['address'] == other['address']
    return host_network.blocks(one['address'], other['address'])


def api_port_clashes(mappings, api_ports, field='ports'):
    """Problems of TCP host ports that are API ports ({port: holder}); the API port is taken on every address."""
    return [problem('%s[%d].host_port' % (field, position), '%d is the API port of %s' % (
        mapping['host_port'], api_ports[mapping['host_port']]), 'choose another host port')
        for position, mapping in enumerate(mappings)
        if mapping['protocol'] == 'tcp' and mapping['host_port'] in api_ports]


def _inventory_port_problems(declared, fields):
    """Host ports published twice in the inventory, or on a forced API port, of the clusters not absent."""
    found = []
    live = [(c, fields[i]) for i, c in enumerate(declared) if c['state'] != 'absent']
    api_ports = dict((c['api_port'], 'cluster %s' % c.get('name')) for c, _f in live
                     if isinstance(c.get('api_port'), int))
    seen = []
    for cluster, field in live:
        found += api_port_clashes(cluster['ports'], api_ports, field)
        for position, mapping in enumerate(cluster['ports']):
            clash = [name for name, other in seen if same_host_port(mapping, other)]
            if clash:
                found.append(problem('%s[%d].host_port' % (field, position), '%d/%s is also published by cluster %s'
                                     % (mapping['host_port'], mapping['protocol'], clash[0]),
                                     'give each cluster its own host ports'))
        seen += [(cluster.get('name'), mapping) for mapping in cluster['ports']]
    return found


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
    ports=lambda value, field: (published_ports(value, None, field)[1] or [None])[0],
    node_labels=node_settings.labels_error,
    memory=node_settings.memory_error,
    cpus=node_settings.cpus_error,
    registry_port=registry_port_error,
)
# Checked with the cluster's config_mode (patches need mounted mode).
PATCHES_CHECK = 'kubeadm_patches'


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
    if isinstance(params.get('api_port'), int) and isinstance(params.get('ports'), list):
        found += api_port_clashes(published_ports(params['ports'], None, prefix + 'ports')[0],
                                  {params['api_port']: 'this cluster'}, prefix + 'ports')
    error = node_settings.patches_error(params.get('kubeadm_patches') or [], params.get('config_mode'),
                                        prefix + PATCHES_CHECK)
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
            config_render.check_subnets(*subnets)
        except config_render.KubeadmConfigError as exc:
            found.append(problem(prefix + 'pod_subnet/service_subnet', str(exc),
                                 'take both from kinc.kinc.kinc_allocate'))
    return found


_KINDS = dict(str=('a string', 'a string'), int=('a whole number', 'a whole number'),
              bool=('a boolean', 'true or false'), list=('a list', 'a list, e.g. [localhost/app:dev]'),
              dict=('a mapping', 'a mapping, e.g. {ingress-ready: "true"}'))


def coerce(value, kind, field):
    """(value converted as the module's argument spec would, problem or None); kind: str, int, bool or list."""
    try:
        if kind == 'bool':
            return check_type_bool(value), None
        if kind in ('list', 'dict'):
            if not isinstance(value, dict if kind == 'dict' else list):
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


# Entry keys whose '' means "not set" (so every declared entry has every key).
EMPTY_MEANS_UNSET = ('kubernetes_version', 'kubeconfig_path', 'memory', 'cpus')


def _check_value(key, value, field):
    if key == 'ports':
        return value, None  # checked per cluster, once its api_address is known (declared_clusters)
    value, error = coerce(value, _ENTRY_TYPES[key], field)
    if error is None and key in VALUE_CHECKS and not (key in EMPTY_MEANS_UNSET and value == ''):
        error = VALUE_CHECKS[key](value, field)
    return value, error


def declared_clusters(entries, role_vars, field='kinc_clusters'):
    """Check the role's whole cluster list at once: (entries with the role-wide defaults applied, problems).

    `role_vars`: the kinc_* role variables (missing ones take ROLE_DEFAULTS). Every entry of the result has
    every key of ENTRY_KEYS except api_port, which is there only when the entry forces one; the keys of
    EMPTY_MEANS_UNSET are '' when not set."""
    found = []
    defaults = {}
    for key, variable in sorted(ROLE_DEFAULT_VARIABLES.items()):
        value = role_vars.get(variable)
        value = ROLE_DEFAULTS[variable] if value is None else value
        defaults[key], error = _check_value(key, value, variable)
        if error:
            found.append(error)
    defaults.update(kubeconfig_path='', images=[], node_labels={}, kubeadm_patches=[])
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
    port_fields = []
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
        error = node_settings.patches_error(cluster.get('kubeadm_patches', []), cluster['config_mode'],
                                            here + '.kubeadm_patches')
        if error and 'kubeadm_patches' not in bad:
            found.append(error)
        if (cluster['kubernetes_version'] and entry.get('image') is None
                and version_error(cluster['kubernetes_version']) is None):
            # No image of its own: kinc builds one for this version, which it can only for the minors it pins.
            why = image_builds.version_error(cluster['kubernetes_version'], here + '.kubernetes_version')
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
        port_fields.append(here + '.ports' if entry.get('ports') is not None else 'kinc_ports')
        cluster['ports'], port_problems = published_ports(
            cluster['ports'], None if 'api_address' in bad else cluster['api_address'], port_fields[-1])
        found += [p for p in port_problems if p not in found]
        declared.append(cluster)
    return declared, found + _inventory_port_problems(declared, port_fields)


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
    return [dict([('name', c['name']), ('api_address', c['api_address']), ('field', '%s[%d]' % (field, position)),
                  ('ports', c['ports'])]
                 + ([('api_port', c['api_port'])] if 'api_port' in c else []))
            for position, c in enumerate(declared) if c['state'] != 'absent']

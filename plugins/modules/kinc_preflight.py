#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: kinc_preflight
short_description: Check that a host can run rootless kinc clusters, and say what would make it so
version_added: 0.1.0
description:
  - Gathers the facts that rootless kinc clusters depend on (kernel, cgroup v2 and its controllers, the cgroup
    delegation of the user's systemd manager, user namespaces, the packages, subordinate ids, newuidmap, rootless
    networking, the Podman version, lingering, the kernel modules kube-proxy needs, the user's tasks limit and
    sysctl values) and evaluates them.
  - Every failed check carries a message and the fix. A check is I(blocking) when the C(kinc.kinc.kinc_host)
    role cannot fix it (kernel, cgroup v2 and its controllers, user namespaces, an unknown OS family, a missing
    sysctl); the others are what that role installs or configures.
  - Sizes the sysctl and tasks minimums for the clusters the host has (every user's kinc clusters, found by their
    Quadlet units and volumes) plus the ones O(clusters) declares, so inventories for different clusters on one
    host agree.
  - Counts RV(capacity), how many more clusters the host can run for O(user) and which resource runs out first,
    from live headroom - the user's inotify instances and watches (its processes' and its subordinate ids' in
    C(/proc/*/fdinfo)), its kernel keys and key bytes (C(/proc/key-users)), the tasks of C(user-<uid>.slice)
    against its C(TasksMax), and C(MemAvailable) - against the limits in force B(after) the C(kinc.kinc.kinc_host)
    role's fixes (a limit it raises counts as raised, up to its figure for 64 clusters; a C(TasksMax) that an
    owner's drop-in sets after kinc's counts as it is). Per cluster, each costs what that role sizes by
    (O(sysctls_per_cluster), O(tasks_per_cluster)) and O(memory_per_cluster).
  - The blocking check C(capacity) fails when the clusters of O(clusters) that the host does not have yet do not
    fit, naming the resource, its numbers and the fix. Free API ports and networks are checked by
    M(kinc.kinc.kinc_allocate) in check mode.
  - Returns RV(plan), what the C(kinc.kinc.kinc_host) role would change (only ever its own files, only ever
    adding); an empty RV(plan.changes) means everything is in force and the role skips all its other tasks.
  - Only reads; never changes the host.
author:
  - kinc developers (@kinc)
extends_documentation_fragment:
  - kinc.kinc.podman
options:
  user:
    description: The user who runs the rootless clusters; root is refused.
    type: str
    required: true
  min_podman_version:
    description: Oldest acceptable Podman (4.7 brought the newest Quadlet key kinc's units use, C(VolumeName=)).
    type: str
    default: '4.7'
  min_kernel_version:
    description: Oldest acceptable kernel release.
    type: str
    default: '5.10'
  min_subids:
    description: Smallest acceptable range of subordinate uids and gids for O(user).
    type: int
    default: 65536
  cgroup_controllers:
    description: cgroup v2 controllers the root cgroup must offer and C(user@<uid>.service) must delegate.
    type: list
    elements: str
    default: [cpu, cpuset, io, memory, pids]
  limit_controllers:
    description:
      - cgroup controllers that the inventory's cluster limits need (V(memory) for C(memory), V(cpu) for C(cpus)),
        checked by C(cgroup_limits); the root cgroup must offer them and C(user@<uid>.service) delegate them.
    type: list
    elements: str
    default: []
  clusters:
    description: Names of the clusters the inventory declares for O(user), counted with the ones the host has.
    type: list
    elements: str
    default: []
  host_record_dir:
    description:
      - The host-wide allocation record (see M(kinc.kinc.kinc_allocate)). The clusters of the other users are
        counted from it, validated, each user for at most the admin's per-user limit. Other users' homes are
        never read.
    type: path
    default: /var/lib/kinc/allocations
  sysctls:
    description:
      - Minimum values of sysctls for one cluster, keyed by their dotted name (for example
        C(fs.inotify.max_user_watches)); O(sysctls_per_cluster) adds to them per cluster.
    type: dict
    default: {}
  sysctls_per_cluster:
    description:
      - Added to the O(sysctls) minimums once per cluster counted (at least one), so that a minimum is
        C(sysctls[key] + sysctls_per_cluster[key] * N).
    type: dict
    default: {}
  kernel_modules:
    description: Kernel modules that must be loaded or built in (those kube-proxy needs in the node's mode).
    type: list
    elements: str
    default: []
  tasks_base:
    description: Tasks (processes and threads) C(user-<uid>.slice) must allow besides the clusters.
    type: int
    default: 0
  tasks_per_cluster:
    description: Tasks C(user-<uid>.slice) must allow per counted cluster (Podman's default pids limit of a
      container is 2048).
    type: int
    default: 0
  memory_per_cluster:
    description:
      - MiB of the host's available memory (C(MemAvailable)) one more cluster needs, for RV(capacity); the
        default is kubeadm's documented minimum of 2 GB of RAM per machine. V(0) leaves memory out.
    type: int
    default: 2048
  packages:
    description: Packages that must be installed, keyed by OS family (C(Debian), C(RedHat)); empty skips the check.
    type: dict
    default: {}
  user_directories:
    description:
      - Directories in which O(user) gets a directory of its own, C(<path>/<uid>), owned by the user, mode 0755
        (the host-wide allocation record, where nobody else can take a user's place). Each one that is missing
        or has another mode or owner is listed in RV(plan.directories), with its C(owner).
    type: list
    elements: path
    default: []
  directories:
    description:
      - Directories kinc needs host-wide (for example the shared allocation record), owned by root; each one that
        is missing or has another mode or owner is listed in RV(plan.directories).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: str
        required: true
      mode:
        description: Octal mode, for example C('01777').
        type: str
        required: true
  fail_on:
    description:
      - V(any) fails when any check fails, V(blocking) only when a blocking check fails, V(none) never
        (the result still lists the failed checks).
    type: str
    choices: [any, blocking, none]
    default: any
  ignore:
    description: Names of checks whose failure is reported as a warning only (for example C(cgroup_controllers)).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    description: Runs normally in check mode (it only reads).
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
  idempotent:
    description: Never changes the host.
    support: full
notes:
  - Run it as root (C(become)) so that it can read every file it needs, including other users' homes for their
    clusters; O(user) names whom it checks.
'''

EXAMPLES = r'''
- name: Fail early on what cannot be fixed, list the rest
  kinc.kinc.kinc_preflight:
    user: alice
    fail_on: blocking
    clusters: [dev, ci]
    sysctls:
      net.ipv4.ip_forward: 1
      fs.inotify.max_user_watches: 262144
    sysctls_per_cluster:
      fs.inotify.max_user_watches: 131072
    kernel_modules: [ip_tables, iptable_nat, ip6_tables, ip6table_nat]
  register: preflight

- name: Show what the kinc_host role would change
  ansible.builtin.debug:
    msg: "{{ preflight.plan.changes }}"

- name: Everything must pass now
  kinc.kinc.kinc_preflight:
    user: alice
    ignore: [cgroup_controllers]
'''

RETURN = r'''
preflight_facts:
  description: What was found on the host.
  returned: always
  type: dict
  sample:
    user: alice
    uid: 1000
    gid: 1000
    kernel: 6.12.48-amd64
    os_family: Debian
    missing_packages: []
    podman_package_version: 5.4.2+ds1-2
    cgroup_v2: true
    cgroup_controllers: [cpuset, cpu, io, memory, pids]
    delegated_controllers: [cpu, memory, pids]
    delegate_configured: [cpu, cpuset, io, memory, pids]
    need_daemon_reload: false
    user_manager_active: true
    tasks_max: null
    max_user_namespaces: 96365
    unprivileged_userns_clone: null
    subuid: [[100000, 65536]]
    subgid: [[100000, 65536]]
    subuid_next_free: 165536
    subgid_next_free: 165536
    id_mappers: {newuidmap: /usr/bin/newuidmap, newgidmap: /usr/bin/newgidmap}
    network_helpers: {pasta: /usr/bin/pasta, slirp4netns: null}
    podman_version: 5.4.2
    podman_error: null
    linger: true
    kernel_modules: {loadable: true, missing: []}
    host_clusters: [[alice, dev], [bob, web]]
    cluster_count: 3
    sysctl_minimums: {net.ipv4.ip_forward: 1, fs.inotify.max_user_watches: 655360}
    sysctls: {net.ipv4.ip_forward: 1, fs.inotify.max_user_watches: 655360}
    tasks_override: null
    usage: {inotify_instances: 12, inotify_watches: 301, tasks: 87, memory_available_mib: 23605,
            keys: 2, keys_max: 200, key_bytes: 28, key_bytes_max: 20000}
capacity:
  description:
    - How many more clusters the host can run for O(user), counted after the C(kinc.kinc.kinc_host) role's fixes.
    - C(resources) has one entry per resource (C(inotify_instances), C(inotify_watches), C(kernel_keys),
      C(kernel_key_bytes), C(tasks), C(memory), C(networks)) - C(limit) in force, C(limit_after_fixes), C(used),
      C(per_cluster), C(unit), C(clusters_more) (null - unlimited, or no cost per cluster) and C(fix).
  returned: always
  type: dict
  contains:
    clusters_more:
      description: The smallest room of the resources (at most 1000); null when none limits.
      type: int
      sample: 11
    limited_by:
      description: The resource that runs out first, or null.
      type: str
      sample: memory
    new_clusters:
      description: The clusters of O(clusters) the host does not have yet for O(user).
      type: list
      elements: str
      sample: [ci]
    resources:
      description: Each resource's figures.
      type: dict
      sample:
        memory: {limit: 23605, limit_after_fixes: 23605, used: 0, per_cluster: 2048, unit: MiB available,
                 clusters_more: 11, fix: free memory on the host, or lower kinc_host_memory_per_cluster}
checks:
  description: Every check, blocking ones first.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: kernel, ok: true, blocking: true, message: kernel 6.12.48-amd64 is at least 5.10.0, fix: "..."}
failed_checks:
  description: The failed checks that are not ignored (whatever O(fail_on) says).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: linger, ok: false, blocking: false, message: lingering is disabled for alice,
       fix: loginctl enable-linger alice (keeps the clusters running without a login session)}
plan:
  description:
    - What the C(kinc.kinc.kinc_host) role would change, each entry empty when nothing is to do.
    - Files are kinc's own (each carries C(kinc.kinc.kinc_host) in a comment); a file content of null means
      the file is left as it is.
  returned: always
  type: dict
  contains:
    changes:
      description: Names of the entries below that have something to do; empty when everything is in force.
      type: list
      elements: str
      sample: [sysctl_file, sysctl_apply]
    packages:
      description: Packages to install.
      type: list
      elements: str
    podman_upgrade:
      description: Whether the installed Podman package is older than O(min_podman_version).
      type: bool
    directories:
      description:
        - The entries of O(directories) to create or to give their mode and owner root, then those of
          O(user_directories) (key C(owner) the user).
      type: list
      elements: dict
    subuid:
      description: Range C(start-end) of subordinate uids to add to the user, or null.
      type: str
    subgid:
      description: Range C(start-end) of subordinate gids to add to the user, or null.
      type: str
    linger:
      description: Whether lingering is to be enabled.
      type: bool
    user_manager:
      description: Whether the user's systemd manager is not running yet (to wait for).
      type: bool
    delegate_dropin:
      description: Content of C(/etc/systemd/system/user@.service.d/90-kinc-delegate.conf) to write, or null.
      type: str
    delegate_legacy_remove:
      description: Whether a C(user@.service.d/delegate.conf) written by an older kinc is to be removed.
      type: bool
    daemon_reload:
      description: Whether systemd has unit files changed on disk that it has not loaded.
      type: bool
    tasks_dropin:
      description: Content of kinc's C(TasksMax) drop-in for C(user-<uid>.slice) to write, or null.
      type: str
    modules_load:
      description: Kernel modules to load now.
      type: list
      elements: str
    modules_file:
      description: Content of C(/etc/modules-load.d/kinc.conf) to write, or null.
      type: str
    sysctl_file:
      description: Content of C(/etc/sysctl.d/90-kinc.conf) to write (only the keys kinc raises), or null.
      type: str
    sysctl_file_remove:
      description: Whether kinc's sysctl file is to be removed (it holds no key kinc raises).
      type: bool
    sysctl_apply:
      description: Sysctls to set now, each below the value kinc persists (others are never touched).
      type: dict
    paths:
      description: Where kinc's files are (keys C(delegate_dropin), C(delegate_legacy), C(tasks_dropin),
        C(modules_file), C(sysctl_file)).
      type: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kinc.kinc.plugins.module_utils.allocation import ledger
from ansible_collections.kinc.kinc.plugins.module_utils.host import owned_files
from ansible_collections.kinc.kinc.plugins.module_utils.host.capacity_model import capacity, host_resources, new_clusters
from ansible_collections.kinc.kinc.plugins.module_utils.module_base import KincError, argument_spec, run
from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import MIN_PODMAN_VERSION
from ansible_collections.kinc.kinc.plugins.module_utils.host.preflight import evaluate, failure_message, failures, requirements
from ansible_collections.kinc.kinc.plugins.module_utils.host.findings import gather
from ansible_collections.kinc.kinc.plugins.module_utils.host.preflight_input import validate_ignore, validate_params
from ansible_collections.kinc.kinc.plugins.module_utils.host.fix_plan import plan
from ansible_collections.kinc.kinc.plugins.module_utils.versions import parse_version

OPTIONS = dict(
    user=dict(type='str', required=True),
    min_podman_version=dict(type='str', default=MIN_PODMAN_VERSION),
    min_kernel_version=dict(type='str', default='5.10'),
    min_subids=dict(type='int', default=65536),
    cgroup_controllers=dict(type='list', elements='str', default=['cpu', 'cpuset', 'io', 'memory', 'pids']),
    limit_controllers=dict(type='list', elements='str', default=[]),
    clusters=dict(type='list', elements='str', default=[]),
    host_record_dir=dict(type='path', default=ledger.HOST_RECORD_DIR),
    sysctls=dict(type='dict', default={}),
    sysctls_per_cluster=dict(type='dict', default={}),
    kernel_modules=dict(type='list', elements='str', default=[]),
    tasks_base=dict(type='int', default=0),
    tasks_per_cluster=dict(type='int', default=0),
    memory_per_cluster=dict(type='int', default=2048),
    packages=dict(type='dict', default={}),
    user_directories=dict(type='list', elements='path', default=[]),
    directories=dict(type='list', elements='dict', default=[],
                     options=dict(path=dict(type='str', required=True), mode=dict(type='str', required=True))),
    fail_on=dict(type='str', choices=['any', 'blocking', 'none'], default='any'),
    ignore=dict(type='list', elements='str', default=[]),
)


def preflight(module):
    params = module.params
    uid, gid = validate_params(params)
    req = requirements(min_kernel=parse_version(params['min_kernel_version']),
                       min_podman=parse_version(params['min_podman_version']),
                       min_subids=params['min_subids'], controllers=params['cgroup_controllers'],
                       kernel_modules=params['kernel_modules'], packages=params['packages'],
                       limit_controllers=params['limit_controllers'])
    validate_ignore(params['ignore'], [check.name for check in evaluate({}, req)])

    facts = gather(module, params['user'], uid, gid)
    req['sysctls'] = owned_files.sysctl_minimums(params['sysctls'], params['sysctls_per_cluster'], facts['cluster_count'])
    req['min_tasks'] = params['tasks_base'] + params['tasks_per_cluster'] * facts['cluster_count']
    req['new_clusters'] = new_clusters(facts['host_clusters'], params['user'], params['clusters'])
    facts['sysctl_minimums'] = req['sysctls']
    facts['capacity'] = capacity(host_resources(facts, params))
    checks = evaluate(facts, req)
    failed = failures(checks, ignore=params['ignore'])
    for check in checks:
        if not check.ok and check.name in params['ignore']:
            module.warn('ignored failed check [%s]: %s' % (check.name, check.message))
    result = dict(changed=False, capacity=dict(facts.pop('capacity'), new_clusters=req['new_clusters']),
                  preflight_facts=facts, checks=[check._asdict() for check in checks],
                  failed_checks=[check._asdict() for check in failed], plan=plan(facts, req, params))
    # The message always lists every failed check, so one run shows what blocks and what the role fixes.
    counted = {'any': failed, 'blocking': [check for check in failed if check.blocking], 'none': []}
    if counted[params['fail_on']]:
        raise KincError(failure_message(failed, len(checks)), **result)
    result['msg'] = '%d of %d checks failed' % (len(failed), len(checks))
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(OPTIONS), supports_check_mode=True)
    run(module, lambda: preflight(module))


if __name__ == '__main__':
    main()

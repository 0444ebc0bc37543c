# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host-wide allocation record: every user's clusters, so two users never get the same port or network.

Each user's Podman labels stay the record of that user's own clusters. Ports and networks are host-wide, so
kinc_allocate also keeps a copy of them where every user can read it. The trust model (kinc_allocate's
documentation and roles/kinc_host/README.md say it for users):

- HOST_RECORD_DIR is root's, mode 0755: no user can create or rename anything in it.
- Root (role kinc.kinc.kinc_host) makes one directory per user, HOST_RECORD_DIR/<uid>/, owned by that user;
  only that user writes its record, <uid>/record.json. Nobody else can take that place.
- Every other user's record is untrusted input: opened without following links and without blocking, read only
  when it is a regular file of its uid within MAX_RECORD_BYTES, and used only when every entry is a cluster name,
  a port, one of kinc's own network pairs and at most cluster_spec.MAX_PUBLISHED_PORTS valid published host ports
  (a port, tcp or udp, an IP address). At most max-clusters-per-user entries of a user count (the admin
  may write that number as root into HOST_RECORD_DIR/max-clusters-per-user; default DEFAULT_MAX_CLUSTERS).
  Anything else is skipped with a warning naming the file; it never fails, hangs or crashes a run.
- Allocating locks the directory itself (flock), host-wide. Any user can hold that lock; a run that times out
  names the process holding it.

Beside record.json, <uid>/registry.json holds the port of the user's local registry (kinc_registry), read by
the same rules (registry_ports).

A stopped cluster (Quadlet's --rm leaves no container) still holds its port here; a purged one is dropped by
the kinc_cluster run that purges it (guard.refresh) or by its owner's next kinc_allocate.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import pwd
import re
import stat

from ansible_collections.kinc.kinc.plugins.module_utils.spec import cluster_spec
from ansible_collections.kinc.kinc.plugins.module_utils import files
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming
from ansible_collections.kinc.kinc.plugins.module_utils.allocation.allocator import (
    DEFAULT_INDEXES, EXTRA_INDEXES, Allocation, AllocationError, index_subnets)
from ansible_collections.kinc.kinc.plugins.module_utils.allocation.locking import AllocationLock, default_lock_path
from ansible_collections.kinc.kinc.plugins.module_utils.allocation.published_ports import HeldPort, HostPort

HOST_RECORD_DIR = '/var/lib/kinc/allocations'
RECORD_FILE = 'record.json'
# The port of the user's local registry (kinc_registry), beside the clusters' record: {"uid": N, "port": P}.
REGISTRY_FILE = 'registry.json'
REGISTRY_FILE_BYTES = 64
RECORD_MODE = 0o644
USER_DIR_MODE = 0o755
LIMIT_FILE = 'max-clusters-per-user'
DEFAULT_MAX_CLUSTERS = 16
# A record of DEFAULT_MAX_CLUSTERS entries is about 2 KiB; the cap leaves room for an admin's larger limit.
MAX_RECORD_BYTES = 64 * 1024
_UID_DIR = re.compile(r'\A[0-9]{1,10}\Z')
# kinc's own network pairs: a record may only hold what kinc_allocate can hand out.
_PAIRS = dict((index_subnets(k), k) for k in DEFAULT_INDEXES + EXTRA_INDEXES)


def user_dir(directory, uid):
    return os.path.join(directory, '%d' % uid)


def record_path(directory, uid):
    return os.path.join(user_dir(directory, uid), RECORD_FILE)


def _others_write(info):
    return bool(stat.S_IMODE(info.st_mode) & (stat.S_IWGRP | stat.S_IWOTH))


def _only_its_own(info, uid):
    """Whether lstat `info` is a directory of `uid` that no one else can write."""
    return stat.S_ISDIR(info.st_mode) and info.st_uid == uid and not _others_write(info)


def unusable_reason(directory):
    """Why `directory` cannot serve as the host-wide record (None when it can)."""
    try:
        info = os.lstat(directory)
    except OSError:
        return '%s does not exist' % directory
    if not stat.S_ISDIR(info.st_mode):
        return '%s is not a directory' % directory
    if info.st_uid != 0 and info.st_uid != os.geteuid():
        return '%s belongs to uid %d, not to root' % (directory, info.st_uid)
    if _others_write(info):
        return ('%s is writable by other users (mode %o; kinc before 0.2 made it 1777), so any user could take '
                'another\'s record' % (directory, stat.S_IMODE(info.st_mode)))
    return None


def own_place_reason(directory, uid):
    """Why this user cannot write its record (None when it can)."""
    place = user_dir(directory, uid)
    try:
        info = os.lstat(place)
    except OSError:
        return '%s does not exist' % place
    if not _only_its_own(info, uid):
        return '%s is not a directory of uid %d that only it can write' % (place, uid)
    return None


def allocation_lock(timeout, directory=HOST_RECORD_DIR, lock_path=None, hint='raise lock_timeout'):
    """The lock every change of allocations (a labelled volume created, a record written) happens under:
    host-wide on the record directory when it is usable, else the per-user lock file."""
    if unusable_reason(directory) is None:
        return AllocationLock(directory, timeout, directory=True, hint=hint)
    return AllocationLock(lock_path or default_lock_path(), timeout, hint=hint)


def _user(uid):
    try:
        return '%s, uid %d' % (pwd.getpwuid(uid).pw_name, uid)
    except KeyError:
        return 'uid %d' % uid


class Unusable(Exception):
    """A record file that is not used; the message says why."""


def _read_capped(path, uid, max_bytes):
    """The text of `path`: a regular file of `uid` of at most `max_bytes`, opened without following a link
    and without blocking (a FIFO in its place must not hang the reader)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise Unusable('it cannot be opened (%s)' % (exc.strerror or exc))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Unusable('it is not a regular file')
        if info.st_uid != uid:
            raise Unusable('it belongs to uid %d, not to uid %d whose clusters it names' % (info.st_uid, uid))
        if info.st_size > max_bytes:
            raise Unusable('it has %d bytes, more than %d' % (info.st_size, max_bytes))
        data = os.read(fd, max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise Unusable('it has more than %d bytes' % max_bytes)
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError:
        raise Unusable('it is not UTF-8 text')


def _host_ports(name, entry):
    """The published host ports of a record entry (none when it has no `ports`); Unusable unless each is a port,
    tcp or udp, and an IP address, and there are at most cluster_spec.MAX_PUBLISHED_PORTS."""
    ports = entry.get('ports', [])
    if not isinstance(ports, list) or len(ports) > cluster_spec.MAX_PUBLISHED_PORTS:
        raise Unusable('cluster %r has no valid ports' % name)
    found = []
    for port in ports:
        if not isinstance(port, dict) or cluster_spec.port_error(port.get('host_port')) \
                or port.get('protocol') not in cluster_spec.PROTOCOLS or cluster_spec.address_error(port.get('address')):
            raise Unusable('cluster %r has no valid ports' % name)
        found.append(HostPort(port['host_port'], port['protocol'], port['address']))
    return tuple(found)


def _is_port(value):
    return not isinstance(value, bool) and isinstance(value, int) and 1 <= value <= 65535


def _entries(text, limit):
    """([(Allocation, (HostPort...))] sorted by name, how many beyond `limit` were dropped) of a record's text."""
    try:
        clusters = json.loads(text)['clusters']
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise Unusable('it is not a kinc allocation record (%s)' % type(exc).__name__)
    if not isinstance(clusters, dict):
        raise Unusable('its clusters are not a mapping')
    found = []
    for name in sorted(clusters):
        entry = clusters[name]
        if naming.name_error(name) or not isinstance(entry, dict):
            raise Unusable('entry %r is not a kinc cluster' % (name[:60] if isinstance(name, str) else name,))
        port = entry.get('api_port')
        pair = (entry.get('pod_subnet'), entry.get('service_subnet'))
        if not _is_port(port):
            raise Unusable('cluster %r has no valid api_port' % name)
        if not all(isinstance(n, str) for n in pair) or pair not in _PAIRS:
            raise Unusable('cluster %r holds networks kinc never allocates' % name)
        found.append((Allocation(name, port, pair[0], pair[1]), _host_ports(name, entry)))
    return found[:limit], max(0, len(found) - limit)


def parse(text, limit=DEFAULT_MAX_CLUSTERS):
    """([Allocation] sorted by name, how many entries beyond `limit` were dropped) of a record's text;
    Unusable unless every entry is a cluster name with a port, one of kinc's own network pairs and valid
    published ports."""
    entries, dropped = _entries(text, limit)
    return [allocation for allocation, _ports in entries], dropped


def max_clusters(directory):
    """The admin's per-user limit (a root-owned file in the record directory), else DEFAULT_MAX_CLUSTERS."""
    try:
        text = _read_capped(os.path.join(directory, LIMIT_FILE), 0, 64)
    except Unusable:
        return DEFAULT_MAX_CLUSTERS
    if text is None or not re.match(r'\A\s*[0-9]{1,4}\s*\Z', text):
        return DEFAULT_MAX_CLUSTERS
    return int(text.strip())


def _untrusted_place(place, uid):
    """Why another user's directory in the record directory cannot be trusted (None when it can)."""
    info = os.lstat(place)
    if not _only_its_own(info, uid):
        return 'its directory is not a directory of uid %d that only it can write' % uid
    return None


def _user_record(directory, entry, limit):
    """(uid, [(Allocation, ports)], warning or None) of one entry of the record directory; None when it is not a
    record."""
    if not _UID_DIR.match(entry):
        return None
    uid = int(entry)
    place = os.path.join(directory, entry)
    path = os.path.join(place, RECORD_FILE)
    try:
        why = _untrusted_place(place, uid)
        if why:
            raise Unusable(why)
        text = _read_capped(path, uid, MAX_RECORD_BYTES)
        if text is None:
            return uid, [], None
        allocations, dropped = _entries(text, limit)
    except OSError as exc:
        return uid, [], 'skipped %s: it cannot be read (%s)' % (path, exc.strerror or exc)
    except Unusable as exc:
        return uid, [], ('skipped the host-wide record %s: %s; the clusters of %s are not seen; fix: its owner '
                         'runs kinc.kinc.kinc_allocate again, or root removes it' % (path, exc, _user(uid)))
    warning = None
    if dropped:
        warning = ('only the first %d clusters of %s in %s count (%d more are over the per-user limit in %s)'
                   % (limit, _user(uid), path, dropped, os.path.join(directory, LIMIT_FILE)))
    return uid, allocations, warning


def _records(directory, skip_uid=None):
    """([(uid, [(Allocation, ports)])] of every user's usable record but skip_uid's, [warning])."""
    limit = max_clusters(directory)
    try:
        entries = sorted(os.listdir(directory))
    except OSError as exc:
        return [], ['the host-wide record %s cannot be listed (%s)' % (directory, exc.strerror or exc)]
    found, warnings = [], []
    for entry in entries:
        record = _user_record(directory, entry, limit)
        if record is None or record[0] == skip_uid:
            continue
        owner, allocations, warning = record
        if warning:
            warnings.append(warning)
        found.append((owner, allocations))
    return found, warnings


def others_with_ports(directory, uid):
    """([(holder, Allocation)], [HeldPort], [warning]) of every other user's clusters; holder describes the
    cluster."""
    found, warnings = _records(directory, uid)
    held = [("cluster %r of %s" % (a.name, _user(owner)), a, ports)
            for owner, entries in found for a, ports in entries]
    return ([(holder, a) for holder, a, _ports in held],
            [HeldPort(holder, None, port) for holder, _a, ports in held for port in ports], warnings)


def others(directory, uid):
    """([(holder, Allocation)] of every other user's clusters, [warning]); holder describes the cluster."""
    held, _ports, warnings = others_with_ports(directory, uid)
    return held, warnings


def recorded_names(directory):
    """{uid: [cluster name]} of every user's usable record (what kinc_host may size a host for)."""
    return dict((owner, [a.name for a, _ports in entries]) for owner, entries in _records(directory)[0])


def _port_entries(ports):
    return [dict(host_port=p.host_port, protocol=p.protocol, address=p.address) for p in sorted(set(ports))]


def _require_own_place(directory, uid):
    why = own_place_reason(directory, uid)
    if why:
        raise AllocationError('the host-wide record of uid %d cannot be written: %s; fix: run role kinc.kinc.kinc_host '
                              'with kinc_user set to this user (it creates that directory as root)' % (uid, why))


def write(directory, uid, allocations, ports=None):
    """Replace this user's record with `allocations` ({name: Allocation}) and their published host ports
    (`ports`, {name: [HostPort]}; None keeps the ports the record holds); returns whether it changed."""
    if ports is None:
        ports = read_own_ports(directory, uid) or {}
    text = json.dumps({'uid': uid, 'clusters': dict(
        (a.name, dict({'api_port': a.api_port, 'pod_subnet': a.pod_subnet, 'service_subnet': a.service_subnet},
                      **({'ports': _port_entries(ports[a.name])} if ports.get(a.name) else {})))
        for a in allocations.values())}, sort_keys=True, indent=1) + '\n'
    _require_own_place(directory, uid)
    path = record_path(directory, uid)
    try:
        if _read_capped(path, uid, MAX_RECORD_BYTES) == text:
            return False
    except Unusable:
        pass
    try:
        files.write_atomic(path, text, RECORD_MODE)
    except OSError as exc:
        raise AllocationError('%s: uid %d cannot write it (%s); fix: remove it as root, its owner\'s next '
                              'kinc.kinc.kinc_allocate writes it again' % (path, uid, exc.strerror or exc))
    return True


def read_own(directory, uid):
    """{name: Allocation} of this user's record; None when there is none (or it cannot be used)."""
    try:
        text = _read_capped(record_path(directory, uid), uid, MAX_RECORD_BYTES)
        return None if text is None else dict((a.name, a) for a in parse(text, 1 << 16)[0])
    except (OSError, Unusable):
        return None


def read_own_ports(directory, uid):
    """{name: (HostPort...)} of this user's record; None when there is none (or it cannot be used)."""
    try:
        text = _read_capped(record_path(directory, uid), uid, MAX_RECORD_BYTES)
        return None if text is None else dict((a.name, ports) for a, ports in _entries(text, 1 << 16)[0])
    except (OSError, Unusable):
        return None


def registry_ports(directory, skip_uid):
    """([(holder, port)] of every other user's local registry, [warning]); the same untrusted-input rules as the
    clusters' records: a file that is not a regular file of its uid of at most 64 bytes holding a port is skipped."""
    try:
        entries = sorted(os.listdir(directory))
    except OSError as exc:
        return [], ['the host-wide record %s cannot be listed (%s)' % (directory, exc.strerror or exc)]
    found, warnings = [], []
    for entry in entries:
        if not _UID_DIR.match(entry) or int(entry) == skip_uid:
            continue
        uid = int(entry)
        path = os.path.join(directory, entry, REGISTRY_FILE)
        try:
            if _untrusted_place(os.path.join(directory, entry), uid):
                continue
            port = _registry_file_port(path, uid)
            if port is None:
                continue
        except (OSError, Unusable, ValueError, KeyError, TypeError) as exc:
            warnings.append('skipped the host-wide record %s: %s; the registry of %s is not seen'
                            % (path, exc, _user(uid)))
            continue
        found.append(('the local registry of %s' % _user(uid), port))
    return found, warnings


def _registry_file_port(path, uid):
    """The port a registry file of `uid` holds (None: no file); ValueError and the like when it holds none."""
    text = _read_capped(path, uid, REGISTRY_FILE_BYTES)
    if text is None:
        return None
    port = json.loads(text)['port']
    if not _is_port(port):
        raise ValueError('no valid port')
    return port


def registry_port(directory, uid):
    """This user's recorded registry port; None when there is none (or it cannot be used)."""
    try:
        return _registry_file_port(os.path.join(user_dir(directory, uid), REGISTRY_FILE), uid)
    except (OSError, Unusable, ValueError, KeyError, TypeError):
        return None


def write_registry(directory, uid, port):
    """Record this user's local registry port (None: remove the record); returns whether it changed."""
    _require_own_place(directory, uid)
    path = os.path.join(user_dir(directory, uid), REGISTRY_FILE)
    text = None if port is None else json.dumps({'uid': uid, 'port': port}, sort_keys=True) + '\n'
    try:
        before = _read_capped(path, uid, REGISTRY_FILE_BYTES)
    except (OSError, Unusable):
        before = ''
    if before == text:
        return False
    if text is None:
        files.remove(path)
    else:
        files.write_atomic(path, text, RECORD_MODE)
    return True

# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two rootless users of one booted test host allocate at the same moment: ports and networks are host-wide.

The host-wide record directory is prepared as role kinc_host prepares it (/var/lib/kinc/allocations, root's
0755, with a directory of each user, theirs). Each user's kinc_allocate runs through ansible-playbook with become
to that user; both playbooks are started before either is collected. The last tests play the second user as a
hostile one: what it plants must never hang, crash or starve the first user's runs."""

import ipaddress
import json

import pytest

from conftest import TestHost, booted_testhost, wait_until

RECORD_DIR = '/var/lib/kinc/allocations'
SECOND_USER, SECOND_UID = 'kinc2', 1001


class TwoUserHost(TestHost):

    def add_user(self, user, uid):
        # useradd gives the new user the next free subordinate id range (/etc/login.defs SUB_UID_*).
        self.exec('useradd', '-m', '-s', '/bin/bash', '-u', str(uid), user)
        assert self.exec('grep', '-c', '^%s:' % user, '/etc/subuid').stdout.strip() == b'1'
        self.exec('loginctl', 'enable-linger', user)
        wait_until('user@%d.service' % uid, lambda: self.exec(
            'systemctl', 'is-active', 'user@%d.service' % uid, check=False).returncode == 0)

    def volumes(self, user, uid):
        out = self.exec('runuser', '-u', user, '--', 'env', 'XDG_RUNTIME_DIR=/run/user/%d' % uid,
                        'podman', 'volume', 'ls', '--format', 'json').stdout
        return dict((v['Name'], v['Labels']) for v in json.loads(out or b'[]'))


@pytest.fixture(scope='module')
def host():
    with booted_testhost('twousers', TwoUserHost) as host:
        host.add_user(SECOND_USER, SECOND_UID)
        host.exec('install', '-d', '-o', 'root', '-g', 'root', '-m', '0755', '/var/lib/kinc')
        host.exec('install', '-d', '-o', 'root', '-g', 'root', '-m', '0755', RECORD_DIR)
        for user, uid in ((TestHost.USER, TestHost.UID), (SECOND_USER, SECOND_UID)):
            host.exec('install', '-d', '-o', user, '-g', user, '-m', '0755', '%s/%d' % (RECORD_DIR, uid))
        yield host


USERS = ((TestHost.USER, TestHost.UID), (SECOND_USER, SECOND_UID))


def start(runner, host, user, uid, runs, check=False):
    return runner.start('allocate.yml', host.inventory(become_user=user), check=check, extra_vars={
        'runs': runs, 'allocate_environment': {'XDG_RUNTIME_DIR': '/run/user/%d' % uid}})


def allocate_together(runner, host, runs_by_user):
    """Start one playbook per user, then collect them: {user: [results]}."""
    handles = [(user, start(runner, host, user, uid, runs_by_user[user])) for user, uid in USERS]
    return dict((user, runner.finish(handle)['results']) for user, handle in handles)


def held(results):
    return [(c['api_port'], c['pod_subnet'], c['service_subnet']) for r in results for c in r['clusters']]


def overlapping(allocations):
    networks = [ipaddress.ip_network(n) for _port, pod, service in allocations for n in (pod, service)]
    return [(a, b) for i, a in enumerate(networks) for b in networks[i + 1:] if a.overlaps(b)]


def test_two_users_allocating_at_once_never_share_a_port_or_a_network(host, run_playbook):
    fleet = [{'clusters': [{'name': 'default'}, {'name': 'web'}, {'name': 'ci'}]}]
    results = allocate_together(run_playbook, host, dict((user, fleet) for user, _uid in USERS))
    for user, outcome in results.items():
        assert not outcome[0].get('failed'), outcome[0].get('msg')
        assert [c['name'] for c in outcome[0]['clusters']] == ['default', 'web', 'ci']
    everything = held(results[TestHost.USER]) + held(results[SECOND_USER])
    ports = [port for port, _pod, _service in everything]
    assert len(set(ports)) == 6, everything
    assert overlapping(everything) == []
    # Whoever came first got the seed mapping 6443..6445; the other the next three ports.
    assert sorted(ports) == list(range(6443, 6449))

    # Each user's labels are that user's record; the host-wide copy is one file per user, in its directory, 0644.
    for user, uid in USERS:
        assert sorted(host.volumes(user, uid)) == sorted(
            'kinc-%s-%s' % (name, kind) for name in ('default', 'web', 'ci') for kind in ('var-data', 'config'))
        listing = host.exec('stat', '-c', '%U %a', '%s/%d/record.json' % (RECORD_DIR, uid)).stdout.decode().split()
        assert listing == [user, '644']
        record = json.loads(host.exec('cat', '%s/%d/record.json' % (RECORD_DIR, uid)).stdout)
        assert sorted(record['clusters']) == ['ci', 'default', 'web']


def test_clusters_of_another_user_hold_their_ports_while_stopped(host, run_playbook):
    # None of the six clusters runs (no container, nothing listens): only the record tells who holds what.
    assert host.exec('ss', '-ltnH', 'sport >= :6443 and sport <= :6448').stdout.strip() == b''
    owner_of_6443 = [user for user, uid in USERS
                     if any(labels['io.kinc.api-port'] == '6443' for labels in host.volumes(user, uid).values())][0]
    other, other_uid = [(user, uid) for user, uid in USERS if user != owner_of_6443][0]
    handle = start(run_playbook, host, other, other_uid, [
        {'clusters': [{'name': 'thief', 'api_port': 6443}]},
        {'clusters': [{'name': 'default'}, {'name': 'newcomer'}]},
    ])
    forced, again = run_playbook.finish(handle)['results']
    assert forced['failed'] is True
    assert forced['msg'] == ("clusters[0].api_port: 6443 is held by cluster 'default' of %s, uid %d; fix: choose "
                             "another port or leave api_port out to allocate one"
                             % (owner_of_6443, dict(USERS)[owner_of_6443]))
    assert again['clusters'][0]['existed'] is True
    assert (again['clusters'][1]['api_port'], again['clusters'][1]['pod_subnet']) == (6449, '10.244.49.0/24')


def test_a_host_port_another_users_stopped_cluster_publishes_is_refused_before_anything_changes(host, run_playbook):
    published = [{'host_port': 18443, 'node_port': 443, 'address': '0.0.0.0'}]
    first = run_playbook.finish(start(run_playbook, host, TestHost.USER, TestHost.UID,
                                      [{'clusters': [{'name': 'default', 'ports': published}]}]))['results'][0]
    assert not first.get('failed'), first.get('msg')
    record = json.loads(host.exec('cat', '%s/%d/record.json' % (RECORD_DIR, TestHost.UID)).stdout)
    assert record['clusters']['default']['ports'] == [{'host_port': 18443, 'protocol': 'tcp', 'address': '0.0.0.0'}]
    # Nothing listens on it (the cluster is not running): only the record tells.
    assert host.exec('ss', '-ltnH', 'sport = :18443').stdout.strip() == b''
    wanted = [{'clusters': [{'name': 'ingress', 'ports': [{'host_port': 18443, 'node_port': 80}]}]}]
    message = ("clusters[0].ports[0].host_port: 18443/tcp on 127.0.0.1 is published by cluster 'default' of %s, "
               "uid %d; fix: choose another host port, or remove it from that cluster first"
               % (TestHost.USER, TestHost.UID))
    for check in (True, False):
        refused = run_playbook.finish(start(run_playbook, host, SECOND_USER, SECOND_UID, wanted,
                                            check=check))['results'][0]
        assert refused['failed'] is True and refused['msg'] == message
    assert [v for v in host.volumes(SECOND_USER, SECOND_UID) if v.startswith('kinc-ingress-')] == []
    record = json.loads(host.exec('cat', '%s/%d/record.json' % (RECORD_DIR, SECOND_UID)).stdout)
    assert 'ingress' not in record['clusters']


def test_a_purge_frees_the_port_for_every_user_at_once(host, run_playbook):
    user, uid = TestHost.USER, TestHost.UID
    port = int(host.volumes(user, uid)['kinc-web-config']['io.kinc.api-port'])
    purged = run_playbook.finish(run_playbook.start('purge.yml', host.inventory(become_user=user), extra_vars={
        'cluster_name': 'web', 'purge_environment': {'XDG_RUNTIME_DIR': '/run/user/%d' % uid}}))
    assert not purged.get('failed'), purged.get('msg')
    record = json.loads(host.exec('cat', '%s/%d/record.json' % (RECORD_DIR, uid)).stdout)
    assert 'web' not in record['clusters']
    # Not at the owner's next kinc_allocate: the other user may take the port right away.
    taken = run_playbook.finish(start(run_playbook, host, SECOND_USER, SECOND_UID,
                                      [{'clusters': [{'name': 'taker', 'api_port': port}]}]))['results'][0]
    assert not taken.get('failed'), taken.get('msg')
    assert taken['clusters'][0]['api_port'] == port


def as_second(host, script, detach=False):
    return host.exec('runuser', '-u', SECOND_USER, '--', 'sh', '-c', script, detach=detach)


def test_no_user_can_take_another_users_place_in_the_record(host):
    own = '%s/%d' % (RECORD_DIR, TestHost.UID)
    for script in ('touch %s/%d.json' % (RECORD_DIR, TestHost.UID), 'mkdir %s/4711' % RECORD_DIR,
                   'touch %s/x' % own, 'mv %s %s.gone' % (own, own)):
        denied = as_second(host, script + ' 2>&1; echo rc=$?').stdout.decode()
        assert 'Permission denied' in denied and 'rc=1' in denied, (script, denied)


@pytest.mark.parametrize('plant, why', [
    ('mkfifo "$R"', 'it is not a regular file'),
    ('echo \'{"clusters": {"all": {"api_port": 6450, "pod_subnet": "0.0.0.0/0", "service_subnet": "10.0.0.0/8"}}}\' '
     '> "$R"', "cluster 'all' holds networks kinc never allocates"),
    ('printf "%200000s" "" | tr " " "[" > "$R"', 'more than 65536'),
    ('truncate -s 400M "$R"', 'it has 419430400 bytes, more than 65536'),
    ('ln -s /etc/passwd "$R"', 'it cannot be opened (Too many levels of symbolic links)'),
], ids=['fifo', 'everything', 'deep', 'sparse', 'symlink'])
def test_what_a_hostile_user_plants_as_its_record_is_skipped_with_a_warning(host, run_playbook, plant, why):
    record = '%s/%d/record.json' % (RECORD_DIR, SECOND_UID)
    as_second(host, 'R=%s; rm -f "$R"; %s' % (record, plant))
    handle = start(run_playbook, host, TestHost.USER, TestHost.UID, [{'clusters': [{'name': 'victim'}]}])
    finished = run_playbook.finish(handle)
    outcome = finished['results'][0]
    assert not outcome.get('failed'), outcome.get('msg')
    victim = outcome['clusters'][0]
    index = victim['api_port'] % 100
    assert (victim['pod_subnet'], victim['service_subnet']) == ('10.244.%d.0/24' % index, '10.%d.0.0/16' % index)
    # Ansible prints the module's warnings (and takes them out of the result).
    warned = ' '.join(line.strip() for line in finished['_output'].splitlines())
    assert 'skipped the host-wide record %s: ' % record in warned and why in warned, finished['_output']


HOLDER = ('import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX); '
          'open("/tmp/kinc2-holder.pid", "w").write(str(os.getpid())); time.sleep(120)')


def test_a_lock_held_by_another_user_is_a_message_naming_that_user(host, run_playbook):
    host.exec('runuser', '-u', SECOND_USER, '--', 'python3', '-c', HOLDER, RECORD_DIR, detach=True)
    wait_until('the second user to hold the lock', lambda: host.exec(
        'test', '-s', '/tmp/kinc2-holder.pid', check=False).returncode == 0)
    holder = host.exec('cat', '/tmp/kinc2-holder.pid').stdout.decode()
    try:
        handle = start(run_playbook, host, TestHost.USER, TestHost.UID,
                       [{'clusters': [{'name': 'blocked'}], 'lock_timeout': 1}])
        outcome = run_playbook.finish(handle)['results'][0]
    finally:
        host.exec('kill', holder, check=False)
    assert outcome['failed'] is True
    assert outcome['msg'] == ('waited 1 s for the allocation lock %s, held by pid %s (python3) of %s, uid %d; fix: '
                              'let that finish or stop it, or raise lock_timeout'
                              % (RECORD_DIR, holder, SECOND_USER, SECOND_UID))

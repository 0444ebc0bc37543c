# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property tests: hostile values for every field of a cluster's spec are either refused by the one validation
rule or rendered inert in every file kinc writes (Quadlet units, cluster.env, kubeadm.conf); another user's
record never makes the reader fail."""

import re
import string

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ansible_collections.kinc.kinc.plugins.action import kinc_cluster as action
from ansible_collections.kinc.kinc.plugins.module_utils.allocation import ledger
from ansible_collections.kinc.kinc.plugins.module_utils.spec import cluster_spec
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming

# What an attacker reaches for: line breaks, quotes, shell and systemd specials, zone ids, separators.
HOSTILE = '\n\r\t\x00\x0b\x0c\x1b\x7f\x85\u2028\u2029 "\'`$()%;&|<>\\{}[]#=:@/.-_~*?!,+'
hostile_text = st.text(alphabet=st.sampled_from(HOSTILE) | st.characters(codec='utf-8'), max_size=40)
# Valid values with something hostile added in front, in the middle or at the end.
VALID = {
    'name': 'dev', 'image': 'localhost/kinc-node:v1.37.1', 'api_address': '127.0.0.1',
    'kubernetes_version': '1.37.1', 'kubeconfig_path': '/home/u/.kube/kinc-dev.conf',
    'pod_subnet': '10.244.43.0/24', 'service_subnet': '10.43.0.0/16',
}


def spiked(field):
    valid = VALID[field]
    return st.one_of(
        hostile_text,
        st.tuples(hostile_text, st.integers(0, len(valid))).map(lambda t: valid[:t[1]] + t[0] + valid[t[1]:]),
        st.sampled_from(HOSTILE).map(lambda c: valid + c),
    )


def params_with(field, value):
    args = {'name': 'dev', 'api_port': 6443, 'pod_subnet': '10.244.43.0/24', 'service_subnet': '10.43.0.0/16',
            field: value}
    return cluster_spec.normalize(args)[0]


def problem_fields(field):
    # The subnets are checked as a pair: a bad one is reported as pod_subnet/service_subnet.
    return (field + ':', 'pod_subnet/service_subnet:') if field.endswith('_subnet') else (field + ':',)


# A cluster.env line the node reads as data (common.sh, kinc_read_env); anything else it skips.
NODE_ENV_LINE = re.compile(r'\A(#[^\n]*|KINC_[A-Z0-9_]+=[A-Za-z0-9_.:/,@+-]*)\Z')
BASELINE = params_with('name', 'dev')


def rendered(params):
    units = action.render_units(params)
    config = action.render_node_config(params, rootless=True)
    return units, config


def assert_inert(field, value, params):
    units, config = rendered(params)
    base_units, base_config = rendered(BASELINE)
    # Not one line more or less than a clean render: the value cannot start a line of its own.
    assert ([len(units[n].splitlines()) for n in naming.quadlet_file_names(params['name'])]
            == [len(base_units[n].splitlines()) for n in naming.quadlet_file_names('dev')])
    for text in units.values():
        assert not naming.has_control(text.replace('\n', ''))
    for line in config['cluster.env'].splitlines():
        assert NODE_ENV_LINE.fullmatch(line), line
    kubeadm = list(yaml.safe_load_all(config['kubeadm.conf']))
    assert len(kubeadm) == len(list(yaml.safe_load_all(base_config['kubeadm.conf'])))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(VALID)).flatmap(lambda field: st.tuples(st.just(field), spiked(field))))
@example(('api_address', 'fe80::1%eth0 $(touch /pwned)'))
@example(('api_address', 'fe80::1%x'))
@example(('name', 'dev\n'))
@example(('image', 'localhost/kinc-node:v1\n'))
@example(('kubernetes_version', '1.37.1\n'))
@example(('kubeconfig_path', '/tmp/x\nExecStartPre=/bin/sh'))
def test_a_hostile_value_is_refused_or_inert_in_every_file(field_value):
    field, value = field_value
    params = params_with(field, value)
    problems = cluster_spec.errors(params)
    if problems:
        assert any(p.startswith(problem_fields(field)) for p in problems), problems
        return
    # Accepted: the value holds nothing that could break out (a version is used with its spaces stripped).
    used = value.strip() if field == 'kubernetes_version' else value
    assert not naming.has_control(used)
    if field in ('name', 'image', 'api_address', 'pod_subnet', 'service_subnet'):  # unit lines: no % specifier
        assert '%' not in used
    assert_inert(field, value, params)


@given(st.text(max_size=60))
@example('dev\n')
@example('dev\u2028')
def test_a_name_is_accepted_only_as_a_whole_dns_label(name):
    if naming.name_error(name) is None:
        assert re.fullmatch(r'[a-z0-9]([-a-z0-9]*[a-z0-9])?', name) and len(name) <= naming.MAX_NAME_LENGTH


@given(st.text(alphabet=string.hexdigits + ':.%' + HOSTILE, max_size=50))
@example('fe80::1%eth0')
@example('::1% $(id)')
def test_an_address_with_a_zone_id_or_any_other_character_is_refused(address):
    if cluster_spec.address_error(address) is None:
        assert re.fullmatch(r'[0-9A-Fa-f.:]+', address)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.text(max_size=200),
    json_values.map(lambda v: __import__('json').dumps(v)),
    st.dictionaries(st.text(max_size=12), st.fixed_dictionaries({
        'api_port': st.integers(-5, 70000) | st.booleans() | st.text(max_size=5),
        'pod_subnet': st.sampled_from(['10.244.43.0/24', '0.0.0.0/0', 'garbage', '10.244.300.0/24']),
        'service_subnet': st.sampled_from(['10.43.0.0/16', '10.0.0.0/8', '10.44.0.0/16'])}), max_size=5).map(
        lambda clusters: __import__('json').dumps({'clusters': clusters}))))
def test_a_record_either_parses_to_kincs_own_allocations_or_is_unusable(text):
    try:
        allocations, _dropped = ledger.parse(text)
    except ledger.Unusable:
        return
    for allocation in allocations:
        assert naming.name_error(allocation.name) is None
        assert 1 <= allocation.api_port <= 65535 and not isinstance(allocation.api_port, bool)
        k = int(allocation.service_subnet.split('.')[1])
        assert (allocation.pod_subnet, allocation.service_subnet) == ('10.244.%d.0/24' % k, '10.%d.0.0/16' % k)

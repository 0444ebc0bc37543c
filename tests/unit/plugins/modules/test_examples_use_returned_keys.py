# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module's EXAMPLES only read, from a registered result, keys that the registering module's RETURN
documents (nested keys as far as RETURN describes them)."""

import importlib
import os
import re

import pytest
import yaml

MODULES_DIR = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'plugins', 'modules')
MODULES = sorted(f[:-3] for f in os.listdir(MODULES_DIR) if f.endswith('.py') and not f.startswith('_'))
# Keys every task result has.
COMMON = {'changed', 'failed', 'msg', 'skipped', 'results', 'diff', 'warnings'}


def load(name):
    return importlib.import_module('ansible_collections.kinc.kinc.plugins.modules.%s' % name)


def registered(examples):
    """{registered variable: FQCN of the module of the task}"""
    found = {}
    for task in yaml.safe_load(examples) or []:
        module = [k for k in task if k.startswith('kinc.kinc.')]
        if 'register' in task and module:
            found[task['register']] = module[0].split('.')[-1]
    return found


def undocumented(examples, variable, returns):
    """Paths like 'kinc_dev.allocation' read in `examples` that `returns` does not document."""
    missing = []
    for match in re.finditer(r'\b%s((?:\.[A-Za-z_][A-Za-z0-9_]*)+)' % re.escape(variable), examples):
        level = returns
        for key in match.group(1).split('.')[1:]:
            if key not in level:
                if level is returns and key in COMMON:
                    break
                missing.append(variable + match.group(1))
                break
            level = level[key].get('contains')
            if not isinstance(level, dict):
                break
    return missing


@pytest.mark.parametrize('name', MODULES)
def test_examples_read_only_documented_return_values(name):
    examples = load(name).EXAMPLES
    for variable, module in registered(examples).items():
        returns = yaml.safe_load(load(module).RETURN) or {}
        assert undocumented(examples, variable, returns) == [], '%s EXAMPLES (registered by %s)' % (name, module)


def test_the_check_finds_an_undocumented_key():
    assert undocumented('{{ x.allocation.api_port }}', 'x', {'allocations': {}}) == ['x.allocation.api_port']
    assert undocumented('{{ x.cluster.url }}', 'x', {'cluster': {'contains': {'api_url': {}}}}) == ['x.cluster.url']
    assert undocumented('{{ x.changed }} {{ x.cluster.api_url }}', 'x', {'cluster': {'contains': {'api_url': {}}}}) == []

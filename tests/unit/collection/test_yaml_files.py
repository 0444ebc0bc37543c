# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every YAML file Ansible reads from the collection loads without a warning from Ansible's own loader.

yamllint (in ansible-lint) accepts a YAML merge that overrides a merged key; Ansible warns "Found duplicate
mapping key" on every run of such a task, in the user's output."""

import glob
import os

import pytest
from ansible.parsing.utils.yaml import from_yaml
from ansible.utils.display import Display

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
FILES = sorted(path for pattern in ('roles/**/*.yml', 'playbooks/**/*.yml', 'extensions/molecule/**/*.yml',
                                    'tests/integration/playbooks/*.yml')
               for path in glob.glob(os.path.join(ROOT, pattern), recursive=True))


def test_the_files_are_found():
    assert os.path.join(ROOT, 'roles', 'kinc_host', 'tasks', 'main.yml') in FILES


@pytest.mark.parametrize('path', FILES, ids=lambda path: os.path.relpath(path, ROOT))
def test_ansible_loads_it_without_a_warning(path, monkeypatch):
    warnings = []
    monkeypatch.setattr(Display, 'warning', lambda self, msg, *args, **kwargs: warnings.append(msg))
    with open(path) as handle:
        from_yaml(handle.read(), file_name=path)
    assert warnings == []

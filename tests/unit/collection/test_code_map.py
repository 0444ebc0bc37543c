# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The README's map of the code ("The code") names every module_utils package and file, and nothing else."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MODULE_UTILS = os.path.join(REPO, 'plugins', 'module_utils')


def tree():
    found = {}
    for root, _dirs, files in os.walk(MODULE_UTILS):
        package = os.path.relpath(root, MODULE_UTILS)
        names = sorted(f[:-3] for f in files if f.endswith('.py') and f != '__init__.py')
        if names:
            found['(top)' if package == '.' else package + '/'] = names
    return found


def readme_map():
    with open(os.path.join(REPO, 'README.md')) as handle:
        text = handle.read()
    section = text.split('### The code', 1)[1].split('\n#', 1)[0]
    rows = re.findall(r'^\| `?([^|`]+)`? \| ([^|]+) \|', section, re.M)
    return dict((package, sorted(re.findall(r'`([a-z_]+)`', files))) for package, files in rows
                if package not in ('package', '---'))


def test_the_readme_maps_every_module_utils_file_in_its_package():
    assert readme_map() == tree()

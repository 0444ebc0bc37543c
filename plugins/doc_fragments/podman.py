# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The option every kinc module that runs podman shares (module_utils/module_base.PODMAN_OPTIONS).
    DOCUMENTATION = r'''
options:
  executable:
    description:
      - The podman executable, a name looked up in E(PATH) or a path.
    type: str
    default: podman
    aliases: [podman_executable]
'''

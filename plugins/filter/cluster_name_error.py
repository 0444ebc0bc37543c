# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter kinc.kinc.cluster_name_error: the naming contract's check of a cluster name, for roles."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kinc.kinc.plugins.module_utils.spec.naming import name_error


def cluster_name_error(name, field='name'):
    """Why `name` is not a valid kinc cluster name (the message names `field`), or '' when it is."""
    return name_error(name, field) or ''


class FilterModule(object):

    def filters(self):
        return {'cluster_name_error': cluster_name_error}

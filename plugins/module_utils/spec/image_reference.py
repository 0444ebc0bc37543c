# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container image references, parsed by the grammar of distribution/reference (reference.go, v0.5.0):
[domain[:port]/]path-component[/path-component...][:tag][@algorithm:hex].

A value that is not a reference (spaces, a leading '-' that Podman would read as an option, systemd's
'%' specifiers, a name Quadlet reads as an .image or .build unit) never reaches a unit's Image= line.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming

_DOMAIN_COMPONENT = r'(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
_DOMAIN = r'(?:%s(?:\.%s)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?' % (_DOMAIN_COMPONENT, _DOMAIN_COMPONENT)
_PATH_COMPONENT = r'[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*'
_TAG = r'[\w][\w.-]{0,127}'
_DIGEST = r'[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}'
_REFERENCE = re.compile(r'(?:(?P<domain>%s)/)?(?P<path>%s(?:/%s)*)(?::(?P<tag>%s))?(?:@(?P<digest>%s))?'
                        % (_DOMAIN, _PATH_COMPONENT, _PATH_COMPONENT, _TAG, _DIGEST))
NAME_MAX = 255
# Quadlet reads Image=x.image / x.build as a reference to another unit, not to an image.
_QUADLET_UNIT_SUFFIXES = ('.image', '.build')


def parse(text):
    """{'domain', 'path', 'tag', 'digest'} (absent parts None) of a reference, or None when `text` is none."""
    if not naming.full_match(_REFERENCE, text):
        return None
    return _REFERENCE.fullmatch(text).groupdict()


def reference_error(text):
    """Why `text` cannot be a unit's image reference (without the value), or None."""
    parts = parse(text)
    if not parts:
        return 'is not an image reference ([registry/]name[:tag][@digest]; no spaces, options or % specifiers)'
    name = ('%s/' % parts['domain'] if parts['domain'] else '') + parts['path']
    if len(name) > NAME_MAX:
        return 'has a name longer than %d characters' % NAME_MAX
    if text.endswith(_QUADLET_UNIT_SUFFIXES) and not parts['tag']:
        return 'would name a Quadlet .image or .build unit, not an image'
    return None

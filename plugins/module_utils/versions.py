# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Version strings of Podman and the kernel as comparable (major, minor, patch) tuples."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def parse_version(text):
    """'6.1.0-18-amd64', '5.4.2+ds1' or '5.10.0rc1' -> (6, 1, 0), (5, 4, 2), (5, 10, 0);
    missing or non-numeric parts become 0."""
    parts = []
    for piece in str(text).split('-', 1)[0].split('+', 1)[0].split('.')[:3]:
        digits = ''
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        parts.append(int(digits) if digits else 0)
    while len(parts) < 3:
        parts.append(0)
    return tuple(parts)


def version_text(version):
    return '.'.join(str(part) for part in version)

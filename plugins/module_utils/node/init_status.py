# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node's init status (/var/lib/kinc/status.json, see files/image/README.md): parse, validate, summarise."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from datetime import datetime

from ansible_collections.kinc.kinc.plugins.module_utils.spec.naming import NODE_STATUS_FILE as STATUS_FILE
from ansible_collections.kinc.kinc.plugins.module_utils.redaction import redact

SCHEMA = 1
PHASES = ('initializing', 'ready', 'failed')
STEP_STATES = ('pending', 'running', 'done', 'failed')
_TIME_FORMAT = '%Y-%m-%dT%H:%M:%SZ'
# podman exec fails (125-127) while the container is not up and cat fails (1) while the file is missing.
_ANY_RC = tuple(range(-255, 256))


class StatusError(ValueError):
    """status.json does not follow the contract."""


def parse_time(text):
    """'2026-11-22T10:00:01Z' -> datetime (UTC, naive); empty -> None."""
    if not text:
        return None
    try:
        return datetime.strptime(text.split('.')[0].rstrip('Z') + 'Z', _TIME_FORMAT)
    except ValueError:
        raise StatusError('timestamp %r is not of the form 2026-11-22T10:00:01Z' % (text,))


def _step(raw, index):
    if not isinstance(raw, dict):
        raise StatusError('steps[%d] must be an object; got: %r' % (index, raw))
    name = raw.get('name')
    if not isinstance(name, str) or not name:
        raise StatusError('steps[%d].name must be a non-empty string; got: %r' % (index, name))
    state = raw.get('state')
    if state not in STEP_STATES:
        raise StatusError('steps[%d] (%s): state must be one of %s; got: %r'
                          % (index, name, ', '.join(STEP_STATES), state))
    started = parse_time(raw.get('started'))
    finished = parse_time(raw.get('finished'))
    duration = None
    if started and finished:
        duration = int((finished - started).total_seconds())
    return {
        'name': name,
        'unit': raw.get('unit') or '',
        'state': state,
        'started': raw.get('started') or '',
        'finished': raw.get('finished') or '',
        'duration': duration,
        # The node writes it from command output; it reaches results and messages.
        'message': redact(raw.get('message') or ''),
    }


def parse(text):
    """Parse status.json text into {'schema', 'cluster', 'phase', 'steps': [...]}; raise StatusError."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StatusError('not JSON (%s)' % exc)
    if not isinstance(data, dict):
        raise StatusError('must be a JSON object; got: %r' % (data,))
    if data.get('schema') != SCHEMA:
        raise StatusError('schema must be %d; got: %r (node image and collection versions differ)'
                          % (SCHEMA, data.get('schema')))
    phase = data.get('phase')
    if phase not in PHASES:
        raise StatusError('phase must be one of %s; got: %r' % (', '.join(PHASES), phase))
    steps = data.get('steps')
    if not isinstance(steps, list):
        raise StatusError('steps must be a list; got: %r' % (steps,))
    return {
        'schema': SCHEMA,
        'cluster': data.get('cluster') or '',
        'phase': phase,
        'steps': [_step(raw, index) for index, raw in enumerate(steps)],
    }


def fetch(podman, container):
    """Read and parse the status of `container` through `podman exec`; None while the node has none
    (container not running yet, file not written yet). Raises StatusError on a malformed file."""
    rc, out, _err = podman.call(['exec', container, 'cat', STATUS_FILE], ok_rcs=_ANY_RC)
    if rc != 0 or not out.strip():
        return None
    return parse(out)


def failed_step(status):
    """The first failed step, or None."""
    for step in status['steps']:
        if step['state'] == 'failed':
            return step
    return None


def summary(status):
    """One line for messages, e.g. 'initializing: 5/15 steps done, running: apiserver'."""
    steps = status['steps']
    done = sum(1 for s in steps if s['state'] == 'done')
    text = '%s: %d/%d steps done' % (status['phase'], done, len(steps))
    running = [s['name'] for s in steps if s['state'] == 'running']
    if running:
        text += ', running: %s' % ', '.join(running)
    failed = failed_step(status)
    if failed:
        text += ', failed: %s' % failed['name']
        if failed['message']:
            text += ' (%s)' % failed['message']
    return text


def failure_message(cluster, status, journal_tail):
    """The error a user sees when the node reports a failed init."""
    step = failed_step(status)
    if step is None:
        return 'cluster %s failed to initialize (%s); no step is marked failed' % (cluster, summary(status))
    text = 'cluster %s failed at step %r' % (cluster, step['name'])
    if step['unit']:
        text += ' (unit %s)' % step['unit']
    if step['message']:
        text += ': %s' % step['message']
    if journal_tail:
        text += '\nlast lines of the journal of %s:\n%s' % (step['unit'] or step['name'], journal_tail.rstrip())
    return text

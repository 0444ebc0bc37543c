# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turns bench/results/results.jsonl (written by bench/run.sh) into Markdown: the goals of issue 9 with the
figures of each label (e.g. before/after) beside them, then every figure. The newest record of a kind wins.

Usage: python3 bench/report.py bench/results/results.jsonl [LABEL...]   (only these labels, in this order)
"""

from __future__ import absolute_import, division, print_function

import json
import sys


def load(path):
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def core_source(row):
    """Where the ansible-core of a row came from: "debian" (the host distribution's package) or "venv" (PyPI, the
    test venv's version; every row from before the field was recorded)."""
    return 'debian' if row.get('ansible_core', '').endswith('(debian)') else 'venv'


def newest(rows, label, suite, core='venv', **match):
    found = [r for r in rows if r['label'] == label and r['suite'] == suite and core_source(r) == core
             and all(r.get(k) == v for k, v in match.items())]
    return found[-1] if found else None


def rerun(row):
    """An unchanged re-run's figure: the median with min and max when it was measured more than once."""
    runs = row.get('rerun_runs_s', [row['rerun_s']])
    if len(runs) == 1:
        return '%.1f s' % row['rerun_s']
    return '%.1f s (median of %d; min %.1f, max %.1f)' % (row['rerun_s'], len(runs), min(runs), max(runs))


def when(row):
    """Where a figure comes from: load average (1 min) and cores at the time."""
    return ' (load %.1f, %d cores)' % (row['load_average'][0], row['cores'])


def seconds(row, field):
    return '%.1f s%s' % (row[field], when(row)) if row and field in row else 'not measured'


def rerun_goal(row):
    return rerun(row) + when(row) if row and 'rerun_s' in row else 'not measured'


def ratio(top, bottom, top_field, bottom_field):
    if not top or not bottom or top_field not in top or bottom_field not in bottom:
        return 'not measured'
    return '%.1f s / %.1f s = %.2f×%s' % (
        top[top_field], bottom[bottom_field], top[top_field] / bottom[bottom_field], when(top))


def per_cluster(row, field):
    return '%d (%.1f per cluster)' % (row[field], row[field] / row['clusters']) if row and field in row else 'not measured'


def allocated(row):
    if not row:
        return 'not measured'
    return '%.2f s; %.2f s; %.2f s%s' % (row['create_s'], row['unchanged_s'], row['check_mode_s'], when(row))


def goals(rows, label):
    """(goal, figure) pairs of issue 9 for one label."""
    def deploy(connection, clusters, delay=0, core='venv'):
        return newest(rows, label, 'deploy', core, connection=connection, clusters=clusters, init_delay_s=delay)
    delays = sorted(set(r['init_delay_s'] for r in rows if r['suite'] == 'deploy' and r.get('init_delay_s')))
    delay = delays[-1] if delays else 20
    fleet1 = newest(rows, label, 'fleet', hosts=1)
    fleet3 = newest(rows, label, 'fleet', hosts=3)
    allocate = newest(rows, label, 'allocate')
    return [
        ('deploy of 5 clusters ≤ 1.3× deploy of 1, stand-in init %d s (Podman connection)' % delay,
         ratio(deploy('podman', 5, delay), deploy('podman', 1, delay), 'deploy_s', 'deploy_s')),
        ('unchanged re-run, local connection, 3 clusters ≤ 5 s', rerun_goal(deploy('local', 3))),
        ('unchanged re-run, local connection, Debian 13\'s ansible-core, 3 clusters ≤ 3 s (issue 17)',
         rerun_goal(deploy('local', 3, core='debian'))),
        ('unchanged re-run, Podman connection, 3 clusters ≤ 12 s (issue 17: ≤ 5 s)', rerun_goal(deploy('podman', 3))),
        ('podman calls of an unchanged re-run ≤ 3 per cluster (Podman connection, 3 clusters)',
         per_cluster(deploy('podman', 3), 'rerun_podman_calls')),
        ('podman calls of an unchanged re-run ≤ 3 per cluster (local connection, 3 clusters)',
         per_cluster(deploy('local', 3), 'rerun_podman_calls')),
        ('deploy, 1 cluster: kinc ≤ 1.5× the bare commands',
         ratio(deploy('podman', 1), deploy('podman', 1), 'deploy_s', 'bare_deploy_s')),
        ('deploy, 5 clusters: kinc ≤ 1.5× the bare commands',
         ratio(deploy('podman', 5), deploy('podman', 5), 'deploy_s', 'bare_deploy_s')),
        ('deploy, 5 clusters, stand-in init %d s: kinc ≤ 1.5× the bare commands' % delay,
         ratio(deploy('podman', 5, delay), deploy('podman', 5, delay), 'deploy_s', 'bare_deploy_s')),
        ('kinc_allocate, %s clusters in one call: module time < 1 s (creating; unchanged; check mode)'
         % (allocate['clusters'] if allocate else 100),
         allocated(allocate)),
        ('three hosts × 2 clusters in one run ≤ 1.3× one host (deploy from a fresh host)',
         ratio(fleet3, fleet1, 'deploy_s', 'deploy_s')),
        ('three hosts × 2 clusters, unchanged re-run, against one host',
         ratio(fleet3, fleet1, 'rerun_s', 'rerun_s')),
    ]


def table(header, lines):
    out = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    out.extend('| ' + ' | '.join(str(c) for c in line) + ' |' for line in lines)
    return out


def report(rows, only=None):
    labels = []
    for row in rows:
        row.setdefault('label', '')
        if row['label'] not in labels:
            labels.append(row['label'])
    if only:
        labels = [label for label in only if label in labels]
        rows = [row for row in rows if row['label'] in labels]
    per_label = [goals(rows, label) for label in labels]
    out = ['# kinc benchmark results', '',
           'Figures from bench/run.sh; the newest of each kind per label. Load average (1 min) and cores of the '
           'machine when each was measured are beside it.', '']
    out += table(['goal (issues 9 and 17)'] + [label or 'figure' for label in labels],
                 [[goal] + [figures[i][1] for figures in per_label] for i, (goal, _fig) in enumerate(per_label[0])])
    out += ['', '## Every figure', '']
    lines = []
    for row in rows:
        if row['suite'] == 'deploy':
            what = '%s connection, %d cluster(s), init %d s' % (row['connection'], row['clusters'], row['init_delay_s'])
            figures = 'deploy %.1f s (%d podman calls)' % (row['deploy_s'], row['deploy_podman_calls'])
            if 'rerun_s' in row:
                figures += ', unchanged re-run %s (%d podman calls)' % (rerun(row), row['rerun_podman_calls'])
            if 'bare_deploy_s' in row:
                figures += '; bare deploy %.1f s (%d podman calls)' % (row['bare_deploy_s'], row['bare_deploy_podman_calls'])
            if 'bare_check_s' in row:
                figures += ', bare check %.1f s (%d podman calls)' % (row['bare_check_s'], row['bare_check_podman_calls'])
        elif row['suite'] == 'host_preparation':
            what = 'host preparation (kinc_host), %s connection' % row['connection']
            figures = 'first run %.1f s, unchanged re-run %.1f s (%d podman calls)' % (
                row['first_run_s'], row['rerun_s'], row['rerun_podman_calls'])
        elif row['suite'] == 'fleet':
            what = '%d host(s) × %d clusters, Podman connection, one run' % (row['hosts'], row['clusters_per_host'])
            figures = 'deploy %.1f s, unchanged re-run %.1f s' % (row['deploy_s'], row['rerun_s'])
        elif row['suite'] == 'allocate':
            what = 'kinc_allocate, %d clusters, one call' % row['clusters']
            figures = 'check mode %.2f s, creating %.2f s, unchanged %.2f s' % (
                row['check_mode_s'], row['create_s'], row['unchanged_s'])
        else:
            continue
        lines.append([row['label'], row['measured'], row['commit'], '%.2f %.2f %.2f' % tuple(row['load_average']),
                      row['cores'], row.get('ansible_core', ''), what, figures])
    out += table(['label', 'measured (UTC)', 'commit', 'load 1/5/15 min', 'cores', 'ansible-core', 'what', 'figures'],
                 lines)
    return '\n'.join(out) + '\n'


def main():
    sys.stdout.write(report(load(sys.argv[1]), sys.argv[2:]))


if __name__ == '__main__':
    main()

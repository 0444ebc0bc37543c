# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Quadlet generator of each Podman of tests/tooling/podman-matrix.txt, built from upstream source by
tests/tooling/build-podman.sh, turns kinc's units into the services kinc runs (Debian 13's is checked in
test_kinc_cluster.py). KINC_PODMAN_BUILDS names the builds ("<version>=<dir> ..."); the podman_matrix stage
sets it and KINC_PODMAN_BUILDS_REQUIRED=1, so that a missing build fails there instead of skipping."""

import os
import shlex
import subprocess

import pytest

from ansible_collections.kinc.kinc.plugins.action import kinc_cluster as action

from test_kinc_cluster import NODE_RUN_ARGUMENTS, PORTS, _generated_services, options

MATRIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'tooling', 'podman-matrix.txt')


def versions():
    with open(MATRIX) as handle:
        return [line.split()[0] for line in handle if line.strip() and not line.startswith('#')]


def build_of(version):
    builds = dict(item.split('=', 1) for item in os.environ.get('KINC_PODMAN_BUILDS', '').split())
    if version not in builds:
        if os.environ.get('KINC_PODMAN_BUILDS_REQUIRED') == '1':
            pytest.fail('no build of Podman %s in KINC_PODMAN_BUILDS' % version)
        pytest.skip('Podman %s is not built (tests/tooling/build-podman.sh %s)' % (version, version))
    return builds[version]


def argv(command):
    """Podman's arguments with '--option=value' as '--option value': Quadlet 4.9 writes --name=x, 5.x --name x."""
    words = []
    for word in shlex.split(command):
        words.extend(word.split('=', 1) if word.startswith('--') and '=' in word else [word])
    return words


def contains(words, part):
    wanted = argv(part)
    return any(words[i:i + len(wanted)] == wanted for i in range(len(words)))


@pytest.mark.parametrize('version', versions())
def test_the_quadlet_generator_accepts_the_units(version, tmp_path):
    quadlet = os.path.join(build_of(version), 'libexec', 'podman', 'quadlet')
    # With published ports and the cluster's limits (PodmanArgs=: Quadlet 4.9 has no Memory=, none has a CPU key).
    for name, text in action.render_units(options(api_port=7443, ports=PORTS, memory='2g', cpus='1.5')).items():
        (tmp_path / name).write_text(text)
    done = subprocess.run([quadlet, '-dryrun', '-user'], env=dict(os.environ, QUADLET_UNIT_DIRS=str(tmp_path)),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert done.returncode == 0, done.stderr
    services = _generated_services(done.stdout)
    assert sorted(services) == ['kinc-dev-config-volume.service', 'kinc-dev-control-plane.service',
                                'kinc-dev-var-data-volume.service'], done.stdout + done.stderr
    node = services['kinc-dev-control-plane.service']
    exec_start = [line for line in node.splitlines() if line.startswith('ExecStart=')][0]
    # The distribution's path, as a package installs Podman.
    assert exec_start.startswith('ExecStart=/usr/bin/podman run ')
    for fragment in NODE_RUN_ARGUMENTS + ('--memory=2g --cpus=1.5',):
        assert contains(argv(exec_start), fragment), (fragment, exec_start)
    assert 'Requires=kinc-dev-var-data-volume.service' in node
    assert 'Requires=kinc-dev-config-volume.service' in node
    volume = services['kinc-dev-config-volume.service']
    volume_start = [line for line in volume.splitlines() if line.startswith('ExecStart=')][0]
    assert contains(argv(volume_start), '--label io.kinc.pod-subnet=10.244.43.0/24')
    assert argv(volume_start)[-1] == 'kinc-dev-config'

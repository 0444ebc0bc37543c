# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the host reads about a cluster from its volumes: cluster.env, the Kubernetes version, ages."""

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils.converge import cluster_facts


def test_parse_env_reads_key_value_lines_and_drops_quotes_and_comments():
    assert cluster_facts.parse_env('# kinc\nKINC_EVENTS=1\nKINC_CLUSTER_NAME="dev"\n\nnoise\n') == \
        {'KINC_EVENTS': '1', 'KINC_CLUSTER_NAME': 'dev'}
    assert cluster_facts.parse_env(None) == {}


@pytest.mark.parametrize('kubeadm_yaml, env, labels, version', [
    ('kubernetesVersion: v1.33.5\n', {'KINC_KUBERNETES_VERSION': '1.33.4'}, {}, 'v1.33.5'),
    ('kubernetesVersion: "1.32.1"\n', {}, {}, 'v1.32.1'),
    ('kubernetesVersion: ${KINC_KUBERNETES_VERSION}\n', {'KINC_KUBERNETES_VERSION': '1.33.4'}, {}, 'v1.33.4'),
    (None, {}, {'io.kinc.kubernetes-version': 'v1.33.5'}, 'v1.33.5'),
    (None, {}, {}, None),
])
def test_kubernetes_version_prefers_what_kubeadm_deployed(kubeadm_yaml, env, labels, version):
    assert cluster_facts.kubernetes_version(kubeadm_yaml, env, labels) == version


@pytest.mark.parametrize('text, seconds', [
    ('2026-11-23T14:29:52.078587608Z', 1795444192),
    ('2026-11-23T15:29:52.078587608+01:00', 1795444192),
    ('2026-11-23T14:29:52Z', 1795444192),
    ('yesterday', None),
    (None, None),
])
def test_podman_times_of_any_zone_become_epoch_seconds(text, seconds):
    assert cluster_facts.parse_podman_time(text) == seconds


@pytest.mark.parametrize('seconds, text', [(45, '45s'), (420, '7m'), (3 * 3600 + 720, '3h12m'),
                                           (3 * 86400 + 4 * 3600 + 5, '3d4h'), (-5, '0s'), (None, None)])
def test_age_is_printed_like_kubectl(seconds, text):
    assert cluster_facts.age(seconds) == text


def test_var_paths_go_through_the_volume_and_refuse_other_paths(tmp_path):
    files = cluster_facts.VolumeFiles(str(tmp_path), None)
    assert files.events_file() == str(tmp_path / 'log' / 'kinc' / 'events.jsonl')
    assert files.var_file('/var/lib/kinc/status.json') is None and files.cluster_env() == {}
    with pytest.raises(ValueError):
        cluster_facts.var_path(str(tmp_path), '/etc/kinc/config/cluster.env')

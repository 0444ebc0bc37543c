# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real Podman resolves a unique prefix of a volume name: with a cluster's volume gone, `volume rm` and
`volume inspect` of its name act on another cluster's volume. kinc acts on exact names only.

Cluster 'pfx' has volume kinc-pfx-var-data; cluster 'pfx-var-data-x' has kinc-pfx-var-data-x-config, whose name
starts with it. This machine's root Podman, private storage."""

import json
import os
import subprocess
import sys

COLLECTIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           '.ansible', 'collections')
OTHER = 'kinc-pfx-var-data-x-config'


def client(store):
    sys.path.insert(0, COLLECTIONS)
    from ansible_collections.kinc.kinc.plugins.module_utils.podman_client import PodmanClient

    def runner(argv, data=None):
        done = subprocess.run(argv, env=store.env, input=data, capture_output=True, text=True, check=False)
        return done.returncode, done.stdout, done.stderr
    return PodmanClient(runner)


def test_removing_a_volume_that_is_gone_leaves_a_volume_whose_name_it_prefixes(clean_private_podman):
    store = clean_private_podman
    store.create_volume(OTHER, {'io.kinc.cluster': 'pfx-var-data-x'})
    # The hazard on this Podman: the name of a missing volume finds the other one.
    found = json.loads(store.podman('volume', 'inspect', '--format', 'json', 'kinc-pfx-var-data', check=False).stdout
                       or b'[]')
    assert [v['Name'] for v in found] == [OTHER]
    client(store).remove_volume('kinc-pfx-var-data')
    assert OTHER in store.volume_labels()

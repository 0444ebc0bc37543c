# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node reads cluster.env as data (common.sh kinc_load_env): a value can never run a command as the
node's root, whatever the config volume holds. Runs the node's real common.sh with bash."""

import os
import subprocess

COMMON = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'files', 'image', 'rootfs', 'usr', 'local', 'lib',
                      'kinc', 'common.sh')


def load(tmp_path, text):
    env_file = tmp_path / 'cluster.env'
    env_file.write_text(text)
    script = ('. "$1"; KINC_CLUSTER_ENV="$2"; KINC_IMAGE_ENV=/nonexistent; kinc_load_env; '
              'printf "%s|%s|%s\\n" "$KINC_CLUSTER_NAME" "$KINC_API_ADDRESS" "${KINC_EVIL-unset}"')
    done = subprocess.run(['bash', '-c', script, 'test', COMMON, str(env_file)], capture_output=True, text=True,
                          cwd=str(tmp_path), check=True)
    return done.stdout.strip(), done.stderr


def test_values_are_exported_and_nothing_in_them_runs(tmp_path):
    out, err = load(tmp_path, '# Written by kinc.kinc\nKINC_CLUSTER_NAME=dev\nKINC_API_ADDRESS=fe80::1 $(touch pwned)\n'
                              'KINC_EVIL=`touch pwned2`\ntouch pwned3\nKINC_API_ADDRESS=::1;touch pwned4\n')
    assert out == 'dev||unset'
    assert sorted(os.listdir(str(tmp_path))) == ['cluster.env']
    assert err.count('ignored a line that is not KINC_<NAME>=<plain value>') == 4


def test_a_file_kinc_writes_is_read_whole(tmp_path):
    out, err = load(tmp_path, 'KINC_CLUSTER_NAME=dev\nKINC_API_ADDRESS=192.0.2.10\nKINC_EVIL=10.244.43.0/24')
    assert (out, err) == ('dev|192.0.2.10|10.244.43.0/24', '')

# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CRI-O's effective configuration in the node image: the cri-o package's 10-crio.conf (fixture) with kinc's
drop-ins decoded over it the way CRI-O does, then the runtime checks CRI-O makes at start.

How CRI-O reads drop-ins (cri-o/cri-o pkg/config/config.go UpdateFromDropInFile, vendored BurntSushi/toml
decode.go unifyMap): every file of /etc/crio/crio.conf.d in name order is decoded into the configuration
so far. Keys of a table that maps to a struct are set one by one; a table that is an entry of a map
(``[crio.runtime.runtimes.<name>]``, ``[crio.runtime.workloads.<name>]``) is decoded into a fresh value that
replaces the whole entry, so keys the package set and the drop-in does not repeat are lost. At start CRI-O
validates every runtime handler: an empty monitor_path means ``conmon`` on $PATH, a runtime_path must
exist; the default runtime failing is fatal.
"""

import glob
import os
import tomllib

import pytest

from conftest import HERE, ROOTFS

FIXTURES = os.path.join(HERE, 'fixtures', 'cri-o')
DROP_IN_DIR = os.path.join(ROOTFS, 'etc/crio/crio.conf.d')
# Map-valued tables of CRI-O's configuration: their entries are replaced, not merged.
MAP_TABLES = (('crio', 'runtime', 'runtimes'), ('crio', 'runtime', 'workloads'))
# The node's $PATH for CRI-O (systemd's default).
SYSTEM_PATH = ('/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin')


def decode_over(config, drop_in, path=()):
    """Decode the drop-in's tables into config as CRI-O does (struct tables merge, map entries replace)."""
    for key, value in drop_in.items():
        here = path + (key,)
        if path in MAP_TABLES:
            config[key] = value
        elif isinstance(value, dict):
            decode_over(config.setdefault(key, {}), value, here)
        else:
            config[key] = value
    return config


def effective_config(drop_in_dir=DROP_IN_DIR):
    with open(os.path.join(FIXTURES, '10-crio.conf'), 'rb') as handle:
        config = tomllib.load(handle)
    for path in sorted(glob.glob(os.path.join(drop_in_dir, '*.conf'))):
        with open(path, 'rb') as handle:
            decode_over(config, tomllib.load(handle))
    return config


def image_files():
    """Files a node image has: the packages' executables (fixture) and kinc's rootfs."""
    with open(os.path.join(FIXTURES, 'package-files.txt')) as handle:
        files = {line.strip() for line in handle if line.startswith('/')}
    for dirpath, dummy, names in os.walk(ROOTFS):
        files.update('/' + os.path.relpath(os.path.join(dirpath, name), ROOTFS) for name in names)
    return files


def handler_problems(name, handler, files):
    """What CRI-O's start-up validation finds wrong with one runtime handler."""
    problems = []
    monitor = handler.get('monitor_path', '')
    if not monitor:
        if not any(os.path.join(d, 'conmon') in files for d in SYSTEM_PATH):
            problems.append('runtime %s: monitor_path is empty and there is no conmon on $PATH' % name)
    elif monitor not in files:
        problems.append('runtime %s: monitor_path %s is not in the image' % (name, monitor))
    runtime = handler.get('runtime_path', '')
    if not runtime:
        if not any(os.path.join(d, name) in files for d in SYSTEM_PATH):
            problems.append('runtime %s: runtime_path is empty and there is no %s on $PATH' % (name, name))
    elif runtime not in files:
        problems.append('runtime %s: runtime_path %s is not in the image' % (name, runtime))
    return problems


def test_decode_replaces_map_entries_and_merges_struct_tables():
    config = {'crio': {'runtime': {'default_runtime': 'crun', 'runtimes': {'crun': {'monitor_path': '/m', 'x': 1}}}}}
    decode_over(config, {'crio': {'runtime': {'cgroup_manager': 'cgroupfs',
                                              'runtimes': {'crun': {'runtime_path': '/r'}}}}})
    assert config['crio']['runtime']['default_runtime'] == 'crun'  # struct keys merge
    assert config['crio']['runtime']['runtimes']['crun'] == {'runtime_path': '/r'}  # map entry replaced


def test_the_check_catches_a_drop_in_that_loses_the_package_monitor_path(tmp_path):
    # The seed's mistake: redefining the crun table without monitor_path.
    (tmp_path / '20-bad.conf').write_text('[crio.runtime.runtimes.crun]\nruntime_path = "/usr/libexec/crio/crun"\n')
    handler = effective_config(str(tmp_path))['crio']['runtime']['runtimes']['crun']
    assert handler_problems('crun', handler, image_files()) == [
        'runtime crun: monitor_path is empty and there is no conmon on $PATH']


def test_every_runtime_of_the_effective_config_has_a_monitor_and_a_runtime_in_the_image():
    config = effective_config()
    runtimes = config['crio']['runtime']['runtimes']
    files = image_files()
    problems = [p for name, handler in sorted(runtimes.items()) for p in handler_problems(name, handler, files)]
    assert problems == []
    assert 'conmon' not in config['crio']['runtime'], 'crio.runtime.conmon would override every monitor_path'


@pytest.mark.parametrize('route_runtime', ['crun', 'kinc-crun'])
def test_each_runtime_a_node_route_selects_is_defined(route_runtime):
    # kinc-cgroups selects the default runtime per node (CONTAINER_DEFAULT_RUNTIME in /run/kinc/crio.env).
    config = effective_config()
    assert config['crio']['runtime']['default_runtime'] == 'crun'
    assert route_runtime in config['crio']['runtime']['runtimes']


def test_the_wrapper_runs_the_packaged_crun():
    with open(os.path.join(ROOTFS, 'usr/local/bin/kinc-crun-wrapper')) as handle:
        wrapper = handle.read()
    runtimes = effective_config()['crio']['runtime']['runtimes']
    assert 'KINC_CRUN:-%s}' % runtimes['crun']['runtime_path'] in wrapper
    assert runtimes['kinc-crun']['runtime_root'] == runtimes['crun']['runtime_root']

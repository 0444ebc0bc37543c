# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image names as a node stores them, and the ID of the image in docker- and oci-archives."""

import hashlib
import io
import json
import tarfile

import pytest

from ansible_collections.kinc.kinc.plugins.module_utils.day2 import image_identity

CONFIG = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
CONFIG_ID = hashlib.sha256(CONFIG).hexdigest()


def write_tar(path, members):
    with tarfile.open(str(path), 'w') as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return str(path)


def docker_archive(path, tags=('localhost/app:dev',), config_name=CONFIG_ID + '.json'):
    manifest = [{'Config': config_name, 'RepoTags': list(tags), 'Layers': []}]
    return write_tar(path, {'manifest.json': json.dumps(manifest).encode(), config_name: CONFIG})


def oci_archive(path, ref_name='localhost/app:dev'):
    manifest = json.dumps({'schemaVersion': 2, 'config': {'digest': 'sha256:' + CONFIG_ID}, 'layers': []}).encode()
    manifest_digest = hashlib.sha256(manifest).hexdigest()
    entry = {'digest': 'sha256:' + manifest_digest}
    if ref_name:
        entry['annotations'] = {'org.opencontainers.image.ref.name': ref_name}
    return write_tar(path, {'index.json': json.dumps({'manifests': [entry]}).encode(),
                            'blobs/sha256/' + manifest_digest: manifest, 'blobs/sha256/' + CONFIG_ID: CONFIG})


@pytest.mark.parametrize('given, qualified', [
    ('app:dev', 'localhost/app:dev'),
    ('app', 'localhost/app:latest'),
    ('team/app:1', 'localhost/team/app:1'),
    ('localhost/app:dev', 'localhost/app:dev'),
    ('registry.example.com/app', 'registry.example.com/app:latest'),
    ('registry.example.com:5000/team/app:2', 'registry.example.com:5000/team/app:2'),
])
def test_qualify_names_an_image_as_podman_and_the_node_store_it(given, qualified):
    assert image_identity.qualify(given) == qualified


def test_qualify_refuses_a_digest():
    with pytest.raises(ValueError, match='names a digest'):
        image_identity.qualify('localhost/app@sha256:' + CONFIG_ID)


def test_docker_archive_gives_the_config_digest_and_qualified_tags(tmp_path):
    path = docker_archive(tmp_path / 'a.tar', tags=['app:dev', 'localhost/app:1'])
    assert image_identity.read_archive(path) == ('docker-archive', CONFIG_ID, ['localhost/app:dev', 'localhost/app:1'])


def test_docker_archive_id_is_the_hash_of_the_config_not_its_file_name(tmp_path):
    path = docker_archive(tmp_path / 'a.tar', config_name='config.json')
    assert image_identity.read_archive(path)[1] == CONFIG_ID


def test_oci_archive_gives_the_manifest_config_digest_and_its_ref_name(tmp_path):
    assert image_identity.read_archive(oci_archive(tmp_path / 'o.tar')) == ('oci-archive', CONFIG_ID, ['localhost/app:dev'])
    # A bare tag in the annotation names no repository: no name, the caller must give one.
    assert image_identity.read_archive(oci_archive(tmp_path / 'p.tar', ref_name='dev'))[2] == []


@pytest.mark.parametrize('members, fragment', [
    ({'hello.txt': b'hi'}, 'neither manifest.json'),
    ({'manifest.json': b'[]'}, 'exactly one image'),
    ({'manifest.json': b'{'}, 'is not JSON'),
    ({'manifest.json': json.dumps([{'Config': 'gone.json'}]).encode()}, "config 'gone.json'"),
    ({'index.json': b'{"manifests": []}'}, 'found 0'),
    ({'index.json': json.dumps({'manifests': [{'digest': 'sha256:' + 'a' * 64}]}).encode()}, 'is missing'),
])
def test_a_broken_archive_is_named_with_what_is_wrong(tmp_path, members, fragment):
    path = write_tar(tmp_path / 'bad.tar', members)
    with pytest.raises(image_identity.ArchiveError, match=fragment):
        image_identity.read_archive(path)


def test_a_file_that_is_no_tar_says_how_to_write_one(tmp_path):
    path = tmp_path / 'x.tar'
    path.write_bytes(b'not a tar at all' * 100)
    with pytest.raises(image_identity.ArchiveError, match='podman save'):
        image_identity.read_archive(str(path))

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: kinc_image
short_description: Load a local image into a kinc cluster's image store
version_added: 0.1.0
description:
  - Makes an image of the owner's Podman storage (for example one built with C(podman build -t localhost/app:dev .))
    or an image archive on the managed host available to the pods of a kinc cluster, without a registry.
  - The image is written with C(skopeo) into the node's containers-storage, the image store CRI-O reads, so a pod
    naming it with C(imagePullPolicy) V(Never) (or V(IfNotPresent)) runs it.
  - Idempotent by image ID; the node already holding the same ID under that name is C(changed=false), a rebuilt
    image with the same tag is loaded again.
  - Fails with a message naming the fix when the image is missing, the cluster does not run, or the disk
    holding the node's C(/var) volume is too full.
  - Rootless it works on the clusters of the user the module runs as.
author:
  - kinc developers (@kinc)
extends_documentation_fragment:
  - kinc.kinc.podman
attributes:
  check_mode:
    description: Reports whether the image would be loaded; on a cluster that does not run yet, that it would.
    support: full
  diff_mode:
    description: Shows the image ID of the name in the cluster before and after.
    support: full
options:
  cluster:
    description: Name of the cluster.
    type: str
    required: true
  image:
    description:
      - An image in the Podman storage of the user running the module, for example V(localhost/app:dev) or
        V(app:dev) (which Podman names V(localhost/app:dev)).
      - Exactly one of O(image) and O(archive).
    type: str
  archive:
    description:
      - Path of an image archive on the managed host, as C(podman save -o) writes it (docker-archive, the
        default, or oci-archive).
      - Exactly one of O(image) and O(archive).
    type: path
  name:
    description:
      - The name the image gets in the cluster, the one pod specs use.
      - Defaults to O(image), fully qualified (V(app:dev) becomes V(localhost/app:dev)), or to the name recorded in
        O(archive).
    type: str
  tmp_dir:
    description: Directory on the managed host where an image of O(image) is saved before it is copied into the node.
    type: path
    default: /var/tmp
seealso:
  - module: kinc.kinc.kinc_cluster
'''

EXAMPLES = r'''
- name: Build an image as the clusters' owner
  ansible.builtin.command:
    argv: [podman, build, -t, localhost/app:dev, /home/dev/app]
  changed_when: true

- name: Load it into cluster dev (a pod spec then names localhost/app:dev with imagePullPolicy Never)
  kinc.kinc.kinc_image:
    cluster: dev
    image: localhost/app:dev

- name: Load an archive written by 'podman save -o /var/tmp/tools.tar localhost/tools:1.0' into two clusters
  kinc.kinc.kinc_image:
    cluster: "{{ item }}"
    archive: /var/tmp/tools.tar
  loop: [dev, ci]

- name: Load an oci-archive under a name of your choice
  kinc.kinc.kinc_image:
    cluster: dev
    archive: /var/tmp/app.oci.tar
    name: localhost/app:candidate
'''

RETURN = r'''
cluster:
  description: The cluster.
  returned: always
  type: str
  sample: dev
name:
  description: The image's name in the cluster.
  returned: always
  type: str
  sample: localhost/app:dev
image_id:
  description: ID of the source image (the sha256 of its config), which the name has in the cluster afterwards.
  returned: always
  type: str
  sample: 3f0c9b1c3e6b4b5c0e2f0f6fd0e3c0b1f2f0a1c2d3e4f5a6b7c8d9e0f1a2b3c4
previous_id:
  description: ID the name had in the cluster before; null when the cluster had no image of that name.
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kinc.kinc.plugins.module_utils.day2 import image_load
from ansible_collections.kinc.kinc.plugins.module_utils.day2 import image_identity
from ansible_collections.kinc.kinc.plugins.module_utils import module_base
from ansible_collections.kinc.kinc.plugins.module_utils.spec import naming

OPTIONS = dict(
    cluster=dict(type='str', required=True),
    image=dict(type='str'),
    archive=dict(type='path'),
    name=dict(type='str'),
    tmp_dir=dict(type='path', default='/var/tmp'),
)


def target_name(params, source):
    """The name in the cluster: the one asked for, else the source's own."""
    if params['name']:
        return image_identity.qualify(params['name'])
    if source.names:
        return source.names[0]
    raise module_base.KincError('image archive %s records no image name; name the image with option name '
                                '(for example localhost/app:dev)' % params['archive'])


def main():
    module = AnsibleModule(argument_spec=module_base.argument_spec(OPTIONS), supports_check_mode=True,
                           mutually_exclusive=[('image', 'archive')], required_one_of=[('image', 'archive')])
    params = module.params

    def body():
        error = naming.name_error(params['cluster'], 'cluster')
        if error:
            raise module_base.KincError(error)
        rootless = module_base.rootless_environment(module)
        podman = module_base.podman(module)
        try:
            if params['image']:
                source = image_load.podman_source(podman, params['image'])
            else:
                source = image_load.archive_source(params['archive'])
            name = target_name(params, source)
        except ValueError as exc:
            raise module_base.KincError(str(exc))
        return image_load.ensure(podman, params['cluster'], source, name, params['tmp_dir'], module.check_mode,
                                 rootless)

    module_base.run(module, body)


if __name__ == '__main__':
    main()

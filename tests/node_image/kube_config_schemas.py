# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON schemas of the kubeadm config documents kinc renders, written from the Kubernetes API references
(kubernetes-validate ships no schemas for them):
  https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4/
  https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/
  https://kubernetes.io/docs/reference/config-api/kube-proxy-config.v1alpha1/
Each object lists the fields of its API type with their types (additionalProperties false, so a misspelt or
misplaced field fails); the KubeletConfiguration and KubeProxyConfiguration lists are limited to the
fields kinc may set, plus their neighbours most likely to be confused with them.
"""

STRING = {'type': 'string'}
BOOL = {'type': 'boolean'}
INT = {'type': 'integer'}
STRINGS = {'type': 'array', 'items': STRING}
# A Go time.Duration as metav1.Duration serialises it, e.g. 4m0s, 24h0m0s, 0s.
DURATION = {'type': 'string', 'pattern': r'^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$'}
BOOL_MAP = {'type': 'object', 'additionalProperties': BOOL}


def obj(properties, required=()):
    return {'type': 'object', 'properties': properties, 'required': list(required), 'additionalProperties': False}


def type_meta(api_version, kind):
    return {'apiVersion': {'const': api_version}, 'kind': {'const': kind}}


ARGS = {'type': 'array', 'items': obj({'name': STRING, 'value': STRING}, ['name', 'value'])}
ENVS = {'type': 'array', 'items': obj({'name': STRING, 'value': STRING, 'valueFrom': {'type': 'object'}}, ['name'])}
HOST_PATH_MOUNTS = {'type': 'array', 'items': obj({
    'name': STRING, 'hostPath': STRING, 'mountPath': STRING, 'readOnly': BOOL, 'pathType': STRING},
    ['name', 'hostPath', 'mountPath'])}
CONTROL_PLANE_COMPONENT = {'extraArgs': ARGS, 'extraVolumes': HOST_PATH_MOUNTS, 'extraEnvs': ENVS}
TAINT = obj({'key': STRING, 'value': STRING, 'effect': {'enum': ['NoSchedule', 'PreferNoSchedule', 'NoExecute']},
             'timeAdded': STRING}, ['key', 'effect'])
TIMEOUTS = obj({name: DURATION for name in (
    'controlPlaneComponentHealthCheck', 'kubeletHealthCheck', 'kubernetesAPICall', 'etcdAPICall',
    'tlsBootstrap', 'discovery', 'upgradeManifests')})

INIT_CONFIGURATION = obj(dict(type_meta('kubeadm.k8s.io/v1beta4', 'InitConfiguration'), **{
    'bootstrapTokens': {'type': 'array', 'items': {'type': 'object'}},
    'dryRun': BOOL,
    'nodeRegistration': obj({
        'name': {'type': 'string', 'pattern': r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'},
        'criSocket': {'type': 'string', 'pattern': r'^unix:///'},
        'taints': {'type': 'array', 'items': TAINT},
        'kubeletExtraArgs': ARGS,
        'ignorePreflightErrors': STRINGS,
        'imagePullPolicy': {'enum': ['Always', 'IfNotPresent', 'Never']},
        'imagePullSerial': BOOL}),
    'localAPIEndpoint': obj({'advertiseAddress': STRING,
                             'bindPort': {'type': 'integer', 'minimum': 1, 'maximum': 65535}}),
    'certificateKey': STRING,
    'skipPhases': STRINGS,
    'patches': obj({'directory': STRING}),
    'timeouts': TIMEOUTS,
}), ['apiVersion', 'kind'])

CLUSTER_CONFIGURATION = obj(dict(type_meta('kubeadm.k8s.io/v1beta4', 'ClusterConfiguration'), **{
    'etcd': obj({
        'local': obj({'imageRepository': STRING, 'imageTag': STRING, 'dataDir': STRING, 'extraArgs': ARGS,
                      'extraEnvs': ENVS, 'serverCertSANs': STRINGS, 'peerCertSANs': STRINGS}),
        'external': obj({'endpoints': STRINGS, 'caFile': STRING, 'certFile': STRING, 'keyFile': STRING})}),
    'networking': obj({'serviceSubnet': STRING, 'podSubnet': STRING, 'dnsDomain': STRING}),
    'kubernetesVersion': {'type': 'string', 'pattern': r'^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$'},
    'controlPlaneEndpoint': {'type': 'string', 'pattern': r'^[a-z0-9.-]+(:[0-9]{1,5})?$'},
    'apiServer': obj(dict(CONTROL_PLANE_COMPONENT, certSANs=STRINGS)),
    'controllerManager': obj(CONTROL_PLANE_COMPONENT),
    'scheduler': obj(CONTROL_PLANE_COMPONENT),
    'dns': obj({'imageRepository': STRING, 'imageTag': STRING, 'disabled': BOOL}),
    'proxy': obj({'disabled': BOOL}),
    'certificatesDir': STRING,
    'imageRepository': STRING,
    'featureGates': BOOL_MAP,
    'clusterName': STRING,
    'encryptionAlgorithm': {'enum': ['RSA-2048', 'RSA-3072', 'RSA-4096', 'ECDSA-P256']},
    'certificateValidityPeriod': DURATION,
    'caCertificateValidityPeriod': DURATION,
}), ['apiVersion', 'kind'])

EVICTION_SIGNALS = ['memory.available', 'nodefs.available', 'nodefs.inodesFree', 'imagefs.available',
                    'imagefs.inodesFree', 'containerfs.available', 'containerfs.inodesFree', 'pid.available']
KUBELET_CONFIGURATION = obj(dict(type_meta('kubelet.config.k8s.io/v1beta1', 'KubeletConfiguration'), **{
    'containerRuntimeEndpoint': {'type': 'string', 'pattern': r'^unix:///'},
    'cgroupDriver': {'enum': ['cgroupfs', 'systemd']},
    'cgroupRoot': {'type': 'string', 'pattern': '^/'},
    'cgroupsPerQOS': BOOL,
    'kubeletCgroups': STRING,
    'systemCgroups': STRING,
    'failSwapOn': BOOL,
    'featureGates': BOOL_MAP,
    'imageGCHighThresholdPercent': {'type': 'integer', 'minimum': 0, 'maximum': 100},
    'imageGCLowThresholdPercent': {'type': 'integer', 'minimum': 0, 'maximum': 100},
    'evictionHard': {'type': 'object', 'propertyNames': {'enum': EVICTION_SIGNALS},
                     'additionalProperties': {'type': 'string', 'pattern': r'^([0-9]+(\.[0-9]+)?%|[0-9]+[A-Za-z]*)$'}},
    'evictionSoft': {'type': 'object', 'propertyNames': {'enum': EVICTION_SIGNALS}},
    'protectKernelDefaults': BOOL,
    'localStorageCapacityIsolation': BOOL,
    'clusterDNS': STRINGS,
    'clusterDomain': STRING,
    'staticPodPath': STRING,
    'rotateCertificates': BOOL,
    'serverTLSBootstrap': BOOL,
}), ['apiVersion', 'kind'])

KUBE_PROXY_CONFIGURATION = obj(dict(type_meta('kubeproxy.config.k8s.io/v1alpha1', 'KubeProxyConfiguration'), **{
    'mode': {'enum': ['', 'iptables', 'ipvs', 'nftables', 'kernelspace']},
    'clusterCIDR': STRING,
    'bindAddress': STRING,
    'metricsBindAddress': STRING,
    'conntrack': obj({
        'maxPerCore': {'type': ['integer', 'null'], 'minimum': 0},
        'min': {'type': ['integer', 'null'], 'minimum': 0},
        'tcpEstablishedTimeout': DURATION,
        'tcpCloseWaitTimeout': DURATION,
        'tcpBeLiberal': BOOL,
        'udpTimeout': DURATION,
        'udpStreamTimeout': DURATION}),
    'iptables': obj({'masqueradeAll': BOOL, 'masqueradeBit': INT, 'localhostNodePorts': BOOL,
                     'syncPeriod': DURATION, 'minSyncPeriod': DURATION}),
}), ['apiVersion', 'kind'])

BY_KIND = {
    'InitConfiguration': INIT_CONFIGURATION,
    'ClusterConfiguration': CLUSTER_CONFIGURATION,
    'KubeletConfiguration': KUBELET_CONFIGURATION,
    'KubeProxyConfiguration': KUBE_PROXY_CONFIGURATION,
}

"""Validation: real manifests pass; each mistake yields the apiserver's field, reason and message."""
from __future__ import annotations

import pathlib

import pytest
import yaml

from engine.apiserver import registry, resources
from engine.apiserver.validation import apps, common, core
from engine.errors import Invalid
from engine.objects import clone
from engine.quantity import QUANTITY_MESSAGE, cpu_millis, memory_bytes, parse_quantity
from engine.selectors import label_key_error, label_value_error

MANIFESTS = pathlib.Path(__file__).parent / "manifests"


def prepare(obj: dict) -> tuple[resources.ResourceType, dict]:
    """Default a copy the way the API server does before validating."""
    rt = resources.by_kind(obj["apiVersion"], obj["kind"])
    out = clone(obj)
    if rt.namespaced:
        out.setdefault("metadata", {}).setdefault("namespace", "default")
    registry.default_object(rt, out)
    return rt, out


def create_causes(obj: dict) -> list[tuple[str, str, str]]:
    rt, out = prepare(obj)
    return [(c.field, c.reason, c.message) for c in registry.validate_create(rt, out)]


def update_causes(new: dict, old: dict) -> list[tuple[str, str, str]]:
    rt, old_d = prepare(old)
    _, new_d = prepare(new)
    return [(c.field, c.reason, c.message) for c in registry.validate_update(rt, new_d, old_d)]


def manifest_docs() -> list[dict]:
    docs = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


@pytest.mark.parametrize("doc", manifest_docs(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_real_manifests_validate(doc):
    assert create_causes(doc) == []
    assert update_causes(doc, doc) == []


# -- fixtures -------------------------------------------------------------------------------------

def deployment() -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                                           "ports": [{"containerPort": 80}]}]}}}}


def pod() -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0"},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}


def service() -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}


def statefulset() -> dict:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
            "spec": {"serviceName": "nginx", "replicas": 2, "selector": {"matchLabels": {"app": "nginx"}},
                     "template": {"metadata": {"labels": {"app": "nginx"}},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}}


def _set(path: str, value):
    """Return a mutation setting a dotted path (ints index lists); value DELETE removes the key."""
    def mutate(obj: dict) -> dict:
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        target = obj
        for key in keys[:-1]:
            target = target[key]
        if value is DELETE:
            del target[keys[-1]]
        elif isinstance(target, list) and keys[-1] == len(target):
            target.append(value)
        else:
            target[keys[-1]] = value
        return obj
    return mutate


DELETE = object()
SUBDOMAIN_MSG = common.DNS1123_SUBDOMAIN_MSG
LABEL_MSG = common.DNS1123_LABEL_MSG

CREATE_CASES = [
    # metadata
    ("deployment-name-format", deployment, _set("metadata.name", "Web_1"),
     [("metadata.name", "FieldValueInvalid", f'Invalid value: "Web_1": {SUBDOMAIN_MSG}')]),
    ("deployment-name-required", deployment, _set("metadata.name", DELETE),
     [("metadata.name", "FieldValueRequired", "Required value: name or generateName is required")]),
    ("deployment-name-too-long", deployment, _set("metadata.name", "a" * 254),
     [("metadata.name", "FieldValueInvalid", f'Invalid value: "{"a" * 254}": must be no more than 253 characters')]),
    ("bad-label-value", deployment, _set("metadata.labels", {"app": "bad value"}),
     [("metadata.labels", "FieldValueInvalid",
       'Invalid value: "bad value": ' + label_value_error("bad value"))]),
    ("bad-annotation-key", deployment, _set("metadata.annotations", {"bad key": "x"}),
     [("metadata.annotations", "FieldValueInvalid",
       'Invalid value: "bad key": ' + label_key_error("bad key"))]),
    # deployment spec
    ("negative-replicas", deployment, _set("spec.replicas", -1),
     [("spec.replicas", "FieldValueInvalid", "Invalid value: -1: must be greater than or equal to 0")]),
    ("selector-required", deployment, _set("spec.selector", DELETE),
     [("spec.selector", "FieldValueRequired", "Required value")]),
    ("empty-selector", deployment, _set("spec.selector", {}),
     [("spec.selector", "FieldValueInvalid", "Invalid value: {}: empty selector is invalid for deployment")]),
    ("selector-mismatch", deployment, _set("spec.template.metadata.labels", {"app": "other"}),
     [("spec.template.metadata.labels", "FieldValueInvalid",
       'Invalid value: {"app":"other"}: `selector` does not match template `labels`')]),
    ("template-restart-never", deployment, _set("spec.template.spec.restartPolicy", "Never"),
     [("spec.template.spec.restartPolicy", "FieldValueNotSupported",
       'Unsupported value: "Never": supported values: "Always"')]),
    ("containers-required", deployment, _set("spec.template.spec.containers", []),
     [("spec.template.spec.containers", "FieldValueRequired", "Required value")]),
    ("image-required", deployment, _set("spec.template.spec.containers.0.image", ""),
     [("spec.template.spec.containers[0].image", "FieldValueRequired", "Required value")]),
    ("container-name-format", deployment, _set("spec.template.spec.containers.0.name", "Web"),
     [("spec.template.spec.containers[0].name", "FieldValueInvalid", f'Invalid value: "Web": {LABEL_MSG}')]),
    ("container-port-range", deployment, _set("spec.template.spec.containers.0.ports.0.containerPort", 70000),
     [("spec.template.spec.containers[0].ports[0].containerPort", "FieldValueInvalid",
       "Invalid value: 70000: must be between 1 and 65535, inclusive")]),
    ("max-surge-percent-format", deployment,
     _set("spec.strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25"}}),
     [("spec.strategy.rollingUpdate.maxSurge", "FieldValueInvalid",
       'Invalid value: "25": ' + common.PERCENT_MSG)]),
    ("surge-and-unavailable-zero", deployment,
     _set("spec.strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}),
     [("spec.strategy.rollingUpdate.maxUnavailable", "FieldValueInvalid",
       "Invalid value: 0: may not be 0 when `maxSurge` is 0")]),
    ("recreate-with-rolling-update", deployment,
     _set("spec.strategy", {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}),
     [("spec.strategy.rollingUpdate", "FieldValueForbidden",
       "Forbidden: may not be specified when strategy `type` is 'Recreate'")]),
    ("progress-deadline-vs-min-ready", deployment, _set("spec.minReadySeconds", 600),
     [("spec.progressDeadlineSeconds", "FieldValueInvalid", "Invalid value: 600: must be greater than minReadySeconds")]),
    ("requests-over-limits", deployment, _set("spec.template.spec.containers.0.resources",
                                              {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}),
     [("spec.template.spec.containers[0].resources.requests", "FieldValueInvalid",
       'Invalid value: "2": must be less than or equal to cpu limit of 1')]),
    ("bad-quantity", deployment, _set("spec.template.spec.containers.0.resources", {"limits": {"memory": "1GB"}}),
     [("spec.template.spec.containers[0].resources.limits[memory]", "FieldValueInvalid",
       f'Invalid value: "1GB": {QUANTITY_MESSAGE}')]),
    ("negative-probe-period", deployment,
     _set("spec.template.spec.containers.0.livenessProbe", {"tcpSocket": {"port": 80}, "periodSeconds": -5}),
     [("spec.template.spec.containers[0].livenessProbe.periodSeconds", "FieldValueInvalid",
       "Invalid value: -5: must be greater than or equal to 0")]),
    ("probe-without-handler", deployment,
     _set("spec.template.spec.containers.0.readinessProbe", {"periodSeconds": 5}),
     [("spec.template.spec.containers[0].readinessProbe", "FieldValueRequired",
       "Required value: must specify a handler type")]),
    ("liveness-success-threshold", deployment,
     _set("spec.template.spec.containers.0.livenessProbe", {"exec": {"command": ["true"]}, "successThreshold": 2}),
     [("spec.template.spec.containers[0].livenessProbe.successThreshold", "FieldValueInvalid",
       "Invalid value: 2: must be 1")]),
    ("duplicate-container-name", deployment,
     _set("spec.template.spec.containers.1", {"name": "web", "image": "busybox"}),
     [("spec.template.spec.containers[1].name", "FieldValueDuplicate", 'Duplicate value: "web"')]),
    ("volume-mount-unknown-volume", deployment,
     _set("spec.template.spec.containers.0.volumeMounts", [{"name": "data", "mountPath": "/data"}]),
     [("spec.template.spec.containers[0].volumeMounts[0].name", "FieldValueNotFound", 'Not found: "data"')]),
    # pods
    ("pod-restart-policy", pod, _set("spec.restartPolicy", "Sometimes"),
     [("spec.restartPolicy", "FieldValueNotSupported",
       'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"')]),
    ("pod-toleration-seconds-needs-noexecute", pod,
     _set("spec.tolerations", [{"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 5}]),
     [("spec.tolerations[0].effect", "FieldValueInvalid",
       "Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set")]),
    ("pod-generate-name-ok", pod, lambda o: (o["metadata"].pop("name"), o["metadata"].update(generateName="web-"), o)[-1],
     []),
    # services
    ("service-name-dns1035", service, _set("metadata.name", "1web"),
     [("metadata.name", "FieldValueInvalid", f'Invalid value: "1web": {common.DNS1035_LABEL_MSG}')]),
    ("service-ports-required", service, _set("spec.ports", []),
     [("spec.ports", "FieldValueRequired", "Required value")]),
    ("service-port-range", service, _set("spec.ports.0.port", 0),
     [("spec.ports[0].port", "FieldValueInvalid", "Invalid value: 0: must be between 1 and 65535, inclusive"),
      ("spec.ports[0].targetPort", "FieldValueInvalid", "Invalid value: 0: must be between 1 and 65535, inclusive")]),
    ("service-multi-port-names", service, _set("spec.ports", [{"port": 80}, {"port": 443}]),
     [("spec.ports[0].name", "FieldValueRequired", "Required value"),
      ("spec.ports[1].name", "FieldValueRequired", "Required value")]),
    ("service-type", service, _set("spec.type", "Internal"),
     [("spec.type", "FieldValueNotSupported",
       'Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"')]),
    ("service-node-port-range", service,
     lambda o: (o["spec"].update(type="NodePort", ports=[{"port": 80, "nodePort": 8080}]), o)[-1],
     [("spec.ports[0].nodePort", "FieldValueInvalid",
       "Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767")]),
    ("service-node-port-on-cluster-ip", service, _set("spec.ports.0.nodePort", 30080),
     [("spec.ports[0].nodePort", "FieldValueForbidden", "Forbidden: may not be used when `type` is 'ClusterIP'")]),
    ("headless-service-without-ports", service,
     lambda o: (o["spec"].update(clusterIP="None", ports=[]), o)[-1], []),
    # statefulsets
    ("statefulset-name-dns-label", statefulset, _set("metadata.name", "web.v1"),
     [("metadata.name", "FieldValueInvalid", f'Invalid value: "web.v1": {LABEL_MSG}')]),
    ("statefulset-selector-mismatch", statefulset, _set("spec.template.metadata.labels", {"app": "x"}),
     [("spec.template.metadata.labels", "FieldValueInvalid",
       'Invalid value: {"app":"x"}: `selector` does not match template `labels`')]),
    ("statefulset-pod-management", statefulset, _set("spec.podManagementPolicy", "Burst"),
     [("spec.podManagementPolicy", "FieldValueInvalid",
       "Invalid value: \"Burst\": must be 'OrderedReady' or 'Parallel'")]),
]


@pytest.mark.parametrize("name, make, mutate, expected", CREATE_CASES, ids=[c[0] for c in CREATE_CASES])
def test_create_causes(name, make, mutate, expected):
    assert create_causes(mutate(make())) == expected


def test_causes_build_the_apiservers_invalid_error():
    rt, obj = prepare(_set("spec.replicas", -1)(deployment()))
    err = Invalid.of(rt.kind, rt.group, "web", registry.validate_create(rt, obj))
    status = err.to_status()
    assert status["code"] == 422 and status["reason"] == "Invalid"
    assert status["details"]["causes"] == [{"reason": "FieldValueInvalid", "field": "spec.replicas",
                                            "message": "Invalid value: -1: must be greater than or equal to 0"}]


OTHER_KIND_CASES = [
    ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team.a"}},
     [("metadata.name", "FieldValueInvalid", f'Invalid value: "team.a": {LABEL_MSG}')]),
    ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ok", "namespace": "default"}},
     [("metadata.namespace", "FieldValueForbidden", "Forbidden: not allowed on this type")]),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"bad key": "v"}},
     [("data[bad key]", "FieldValueInvalid", f'Invalid value: "bad key": {core.CONFIG_KEY_MSG}')]),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"big": "x" * (1024 * 1024 + 1)}},
     [("", "FieldValueTooLong", "Too long: may not be more than 1048576 bytes")]),
    ({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls"}, "type": "kubernetes.io/tls",
      "data": {"tls.crt": "eA=="}},
     [("data[tls.key]", "FieldValueRequired", "Required value")]),
    ({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
      "spec": {"resources": {"requests": {"storage": "1Gi"}}}},
     [("spec.accessModes", "FieldValueRequired", "Required value: at least 1 access mode is required")]),
    ({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
      "spec": {"accessModes": ["ReadWriteOnce"]}},
     [("spec.resources[storage]", "FieldValueRequired", "Required value")]),
    ({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv1"},
      "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]}},
     [("spec", "FieldValueRequired", "Required value: must specify a volume type")]),
    ({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "fast"}},
     [("provisioner", "FieldValueRequired", "Required value")]),
    ({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "pdb"},
      "spec": {"minAvailable": "150%", "selector": {"matchLabels": {"app": "web"}}}},
     [("spec.minAvailable", "FieldValueInvalid", 'Invalid value: "150%": must not be greater than 100%')]),
    ({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
      "spec": {"taints": [{"key": "dedicated", "effect": "Sometimes"}]}},
     [("spec.taints[0].effect", "FieldValueNotSupported",
       'Unsupported value: "Sometimes": supported values: "NoExecute", "NoSchedule", "PreferNoSchedule"')]),
    ({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
      "spec": {"selector": {"matchLabels": {"app": "agent"}},
               "template": {"metadata": {"labels": {"app": "agent"}},
                            "spec": {"containers": [{"name": "agent", "image": "agent:1"}]}},
               "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0}}}},
     [("spec.updateStrategy.rollingUpdate.maxUnavailable", "FieldValueRequired",
       "Required value: cannot be 0 when maxSurge is 0")]),
    ({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "web-x"},
      "addressType": "IPv5", "endpoints": []},
     [("addressType", "FieldValueNotSupported",
       'Unsupported value: "IPv5": supported values: "FQDN", "IPv4", "IPv6"')]),
]


@pytest.mark.parametrize("obj, expected", OTHER_KIND_CASES,
                         ids=[f"{o['kind']}-{i}" for i, (o, _) in enumerate(OTHER_KIND_CASES)])
def test_other_kinds(obj, expected):
    assert create_causes(obj) == expected


# -- updates --------------------------------------------------------------------------------------

def test_deployment_selector_is_immutable():
    new = deployment()
    new["spec"]["selector"] = {"matchLabels": {"app": "web", "tier": "fe"}}
    new["spec"]["template"]["metadata"]["labels"]["tier"] = "fe"
    assert update_causes(new, deployment()) == [
        ("spec.selector", "FieldValueInvalid",
         'Invalid value: {"matchLabels":{"app":"web","tier":"fe"}}: field is immutable')]


def test_deployment_scale_and_image_change_are_fine():
    new = _set("spec.replicas", 10)(deployment())
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    assert update_causes(new, deployment()) == []


def test_statefulset_forbidden_spec_update():
    assert update_causes(_set("spec.serviceName", "other")(statefulset()), statefulset()) == [
        ("spec", "FieldValueForbidden", "Forbidden: " + apps.STATEFULSET_UPDATE_FORBIDDEN)]
    assert update_causes(_set("spec.replicas", 5)(statefulset()), statefulset()) == []


def test_pod_update_rules():
    assert update_causes(_set("spec.containers.0.image", "nginx:1.28")(pod()), pod()) == []
    added = _set("spec.tolerations", [{"key": "k", "operator": "Exists", "effect": "NoExecute"}])(pod())
    assert update_causes(added, pod()) == []
    changed = _set("spec.containers.0.ports", [{"containerPort": 81}])(pod())
    assert update_causes(changed, pod()) == [
        ("spec", "FieldValueForbidden",
         "Forbidden: pod updates may not change fields other than " + core.POD_UPDATABLE_FIELDS)]
    relabelled = _set("metadata.labels", {"app": "web", "debug": "true"})(pod())
    assert update_causes(relabelled, pod()) == []


def test_namespace_and_name_are_immutable():
    old = pod()
    old["metadata"]["namespace"] = "default"
    new = clone(old)
    new["metadata"]["namespace"] = "prod"
    assert update_causes(new, old) == [("metadata.namespace", "FieldValueInvalid",
                                        'Invalid value: "prod": field is immutable')]


def test_service_cluster_ip_cannot_change():
    old = _set("spec.clusterIP", "10.96.0.20")(service())
    new = _set("spec.clusterIP", "10.96.0.21")(service())
    assert update_causes(new, old) == [("spec.clusterIPs[0]", "FieldValueInvalid",
                                        'Invalid value: ["10.96.0.21"]: may not change once set')]


def test_immutable_configmap():
    old = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"},
           "immutable": True}
    new = clone(old)
    new["data"]["a"] = "2"
    assert update_causes(new, old) == [("data", "FieldValueForbidden",
                                        "Forbidden: field is immutable when `immutable` is set")]
    new = clone(old)
    new["immutable"] = False
    assert update_causes(new, old) == [("immutable", "FieldValueForbidden",
                                        "Forbidden: field is immutable when `immutable` is set")]


def test_pvc_may_only_grow_storage_once_bound():
    old = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    bound = _set("spec.volumeName", "pv-1")(clone(old))
    assert update_causes(bound, old) == []  # the binder filling in volumeName is allowed
    grown = _set("spec.resources.requests.storage", "2Gi")(clone(bound))
    assert update_causes(grown, bound) == []
    shrunk = _set("spec.resources.requests.storage", "500Mi")(clone(bound))
    assert update_causes(shrunk, bound) == [("spec.resources.requests.storage", "FieldValueForbidden",
                                             "Forbidden: field can not be less than previous value")]
    modes = _set("spec.accessModes", ["ReadWriteMany"])(clone(bound))
    assert update_causes(modes, bound) == [("spec", "FieldValueForbidden",
                                            "Forbidden: " + core.PVC_UPDATE_FORBIDDEN)]


def test_storageclass_updates_forbidden():
    old = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "sc"},
           "provisioner": "a"}
    new = dict(old, provisioner="b")
    assert update_causes(new, old) == [("provisioner", "FieldValueForbidden",
                                        "Forbidden: updates to provisioner are forbidden.")]


# -- quantities and speed -------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [("100m", 0.1), ("1", 1.0), ("1Gi", 2.0 ** 30), ("128M", 128e6),
                                         ("1e3", 1000.0), ("0.5", 0.5), (2, 2.0), ("1.5Ki", 1536.0)])
def test_parse_quantity(text, value):
    assert parse_quantity(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["1GB", "abc", "", " 1", "1 Gi", "--1"])
def test_parse_quantity_rejects(text):
    with pytest.raises(ValueError, match="quantities must match"):
        parse_quantity(text)


def test_cpu_and_memory_units():
    assert cpu_millis("250m") == 250 and cpu_millis("1") == 1000 and cpu_millis("0.1") == 100
    assert cpu_millis("1.5m") == 2  # rounds up like MilliValue
    assert memory_bytes("1Gi") == 1073741824 and memory_bytes("128Mi") == 134217728


def test_validating_an_object_is_repeatable():
    # Speed is measured by bench/validation_bench.py, not asserted here (no wall-clock thresholds in tests).
    rt, obj = prepare(manifest_docs()[0])  # DaemonSet with tolerations, resources, volumes
    first = registry.validate_create(rt, obj)
    assert registry.validate_create(rt, obj) == first == []

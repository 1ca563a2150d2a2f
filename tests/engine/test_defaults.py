"""Defaulting produces the values a real v1.32 apiserver shows in ``kubectl get -o yaml``."""
from __future__ import annotations

import base64
import copy

import pytest

from engine.apiserver import defaults, registry, resources
from engine.objects import clone, is_pod_active, labels_of, owner_controller, pod_ready


def defaulted(obj: dict) -> dict:
    rt = resources.by_kind(obj["apiVersion"], obj["kind"])
    out = clone(obj)
    registry.default_object(rt, out)
    return out


def minimal_deployment() -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}}


def test_minimal_deployment_gets_real_defaults():
    d = defaulted(minimal_deployment())
    spec = d["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    pod_spec = spec["template"]["spec"]
    assert pod_spec["restartPolicy"] == "Always"
    assert pod_spec["terminationGracePeriodSeconds"] == 30
    assert pod_spec["dnsPolicy"] == "ClusterFirst"
    assert pod_spec["schedulerName"] == "default-scheduler"
    assert pod_spec["securityContext"] == {}
    # Pod-only defaults never land in templates.
    assert "enableServiceLinks" not in pod_spec and "serviceAccountName" not in pod_spec
    assert pod_spec["containers"][0] == {
        "name": "web", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent", "resources": {},
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}


def test_recreate_strategy_gets_no_rolling_update():
    d = minimal_deployment()
    d["spec"]["strategy"] = {"type": "Recreate"}
    assert defaulted(d)["spec"]["strategy"] == {"type": "Recreate"}


def test_explicit_values_are_kept():
    d = minimal_deployment()
    d["spec"].update(replicas=0, revisionHistoryLimit=0,
                     strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}})
    spec = defaulted(d)["spec"]
    assert spec["replicas"] == 0 and spec["revisionHistoryLimit"] == 0
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": "25%"}


@pytest.mark.parametrize("image, policy", [
    ("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.27", "IfNotPresent"),
    ("registry.k8s.io:5000/pause", "Always"), ("registry.k8s.io:5000/pause:3.9", "IfNotPresent"),
    ("nginx@sha256:abcd", "IfNotPresent"),
])
def test_image_pull_policy_follows_tag(image, policy):
    assert defaults.image_pull_policy(image) == policy


def pod(**spec) -> dict:
    base = {"containers": [{"name": "c", "image": "busybox:1.36"}]}
    base.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}, "spec": base}


def test_pod_defaults_include_admission_and_status():
    p = defaulted(pod())
    spec = p["spec"]
    assert spec["enableServiceLinks"] is True
    assert spec["serviceAccountName"] == "default" and spec["serviceAccount"] == "default"
    assert spec["priority"] == 0 and spec["preemptionPolicy"] == "PreemptLowerPriority"
    assert p["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
    assert "tolerations" not in spec  # DefaultTolerationSeconds is admission, done elsewhere


def test_pod_requests_default_to_limits_and_qos():
    p = pod(containers=[{"name": "c", "image": "x:1", "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}}}])
    out = defaulted(p)
    assert out["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "500m", "memory": "128Mi"}
    assert out["status"]["qosClass"] == "Guaranteed"
    p["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "100m"}, "limits": {"memory": "1Gi"}}
    out = defaulted(p)
    assert out["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "100m", "memory": "1Gi"}
    assert out["status"]["qosClass"] == "Burstable"


def test_probe_port_and_volume_defaults():
    p = pod(containers=[{"name": "c", "image": "x:1", "ports": [{"containerPort": 80}],
                         "readinessProbe": {"httpGet": {"port": 80}},
                         "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}],
            volumes=[{"name": "scratch"}, {"name": "cfg", "configMap": {"name": "cfg"}},
                     {"name": "host", "hostPath": {"path": "/var/log"}}])
    spec = defaulted(p)["spec"]
    c = spec["containers"][0]
    assert c["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert c["readinessProbe"] == {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
                                   "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
    assert c["env"][0]["valueFrom"]["fieldRef"] == {"fieldPath": "metadata.name", "apiVersion": "v1"}
    assert spec["volumes"] == [{"name": "scratch", "emptyDir": {}},
                               {"name": "cfg", "configMap": {"name": "cfg", "defaultMode": 420}},
                               {"name": "host", "hostPath": {"path": "/var/log", "type": ""}}]


def test_replicaset_and_daemonset_defaults():
    rs = defaulted({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "r"},
                    "spec": {"selector": {}, "template": {"spec": {"containers": []}}}})
    assert rs["spec"]["replicas"] == 1
    ds = defaulted({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "d"},
                    "spec": {"template": {"spec": {"containers": []}}}})
    assert ds["spec"]["updateStrategy"] == {"type": "RollingUpdate",
                                            "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert ds["spec"]["revisionHistoryLimit"] == 10


def test_statefulset_defaults():
    sts = defaulted({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
                     "spec": {"serviceName": "nginx", "selector": {"matchLabels": {"app": "nginx"}},
                              "template": {"metadata": {"labels": {"app": "nginx"}},
                                           "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}},
                              "volumeClaimTemplates": [{"metadata": {"name": "www"},
                                                        "spec": {"accessModes": ["ReadWriteOnce"]}}]}})
    spec = sts["spec"]
    assert spec["replicas"] == 1
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    claim = spec["volumeClaimTemplates"][0]
    assert claim["spec"]["volumeMode"] == "Filesystem"
    assert claim["status"] == {"phase": "Pending"}
    assert (claim["apiVersion"], claim["kind"]) == ("v1", "PersistentVolumeClaim")


@pytest.mark.parametrize("svc_type, expected", [
    ("ClusterIP", {"internalTrafficPolicy": "Cluster"}),
    ("NodePort", {"internalTrafficPolicy": "Cluster", "externalTrafficPolicy": "Cluster"}),
    ("LoadBalancer", {"internalTrafficPolicy": "Cluster", "externalTrafficPolicy": "Cluster",
                      "allocateLoadBalancerNodePorts": True}),
])
def test_service_defaults_by_type(svc_type, expected):
    svc = defaulted({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
                     "spec": {"type": svc_type, "selector": {"app": "web"}, "ports": [{"port": 80}]}})
    spec = svc["spec"]
    assert spec["sessionAffinity"] == "None"
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert spec["ipFamilyPolicy"] == "SingleStack" and spec["ipFamilies"] == ["IPv4"]
    for key in ("internalTrafficPolicy", "externalTrafficPolicy", "allocateLoadBalancerNodePorts"):
        assert spec.get(key) == expected.get(key)
    assert svc["status"] == {"loadBalancer": {}}


def test_service_type_defaults_to_cluster_ip_and_keeps_named_target_port():
    svc = defaulted({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
                     "spec": {"ports": [{"port": 80, "targetPort": "http"}]}})
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["ports"][0]["targetPort"] == "http"


def test_service_update_keeps_allocated_cluster_ip_and_node_ports():
    rt = resources.by_kind("v1", "Service")
    old = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"type": "NodePort", "clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"],
                    "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}]}}
    new = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 443}]}}
    registry.strategy_for(rt).carry_over(new, old)
    assert new["spec"]["clusterIP"] == "10.96.0.20" and new["spec"]["clusterIPs"] == ["10.96.0.20"]
    assert new["spec"]["ports"] == [{"port": 80, "nodePort": 30080}, {"port": 443}]


def test_secret_string_data_is_folded_into_base64_data():
    s = defaulted({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"},
                   "data": {"a": "YQ=="}, "stringData": {"password": "s3cr3t"}})
    assert s["type"] == "Opaque"
    assert "stringData" not in s
    assert s["data"] == {"a": "YQ==", "password": base64.b64encode(b"s3cr3t").decode()}


def test_namespace_defaults():
    ns = defaulted({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["status"] == {"phase": "Active"}


def test_storage_defaults():
    pv = defaulted({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv1"},
                    "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                             "hostPath": {"path": "/data"}}})
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert pv["spec"]["volumeMode"] == "Filesystem"
    assert pv["status"] == {"phase": "Pending"}
    pvc = defaulted({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                     "metadata": {"name": "data", "namespace": "default"}, "spec": {"accessModes": ["ReadWriteOnce"]}})
    assert pvc["spec"]["volumeMode"] == "Filesystem" and pvc["status"] == {"phase": "Pending"}
    sc = defaulted({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "standard"},
                    "provisioner": "rancher.io/local-path"})
    assert sc["reclaimPolicy"] == "Delete" and sc["volumeBindingMode"] == "Immediate"


def test_endpoint_ports_and_node_allocatable():
    ep = defaulted({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web", "namespace": "default"},
                    "subsets": [{"addresses": [{"ip": "10.244.0.5"}], "ports": [{"port": 80}]}]})
    assert ep["subsets"][0]["ports"] == [{"port": 80, "protocol": "TCP"}]
    eps = defaulted({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                     "metadata": {"name": "web-abc", "namespace": "default"}, "addressType": "IPv4",
                     "endpoints": [], "ports": [{"port": 80}]})
    assert eps["ports"] == [{"port": 80, "name": "", "protocol": "TCP"}]
    node = defaulted({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
                      "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}}})
    assert node["status"]["allocatable"] == {"cpu": "4", "memory": "8Gi", "pods": "110"}


def test_defaulting_is_idempotent():
    once = defaulted(minimal_deployment())
    assert defaulted(once) == once
    p = defaulted(pod())
    assert defaulted(p) == p


# -- engine.objects -------------------------------------------------------------------------------

def test_clone_is_deep():
    obj = defaulted(pod(tolerations=[{"key": "a", "operator": "Exists", "effect": "NoExecute",
                                      "tolerationSeconds": 300}]))
    obj["metadata"]["ownerReferences"] = [{"uid": "u1", "controller": True, "kind": "ReplicaSet"}]
    copy_ = clone(obj)
    assert copy_ == obj
    copy_["spec"]["containers"][0]["image"] = "changed"
    copy_["metadata"]["ownerReferences"][0]["uid"] = "u2"
    assert obj["spec"]["containers"][0]["image"] == "busybox:1.36"
    assert obj["metadata"]["ownerReferences"][0]["uid"] == "u1"
    assert clone(obj) == copy.deepcopy(obj)


def test_accessors():
    p = defaulted(pod())
    assert labels_of(p) == {} and owner_controller(p) is None
    p["metadata"]["ownerReferences"] = [{"uid": "x", "controller": False}, {"uid": "y", "controller": True}]
    assert owner_controller(p)["uid"] == "y"
    assert is_pod_active(p) and not pod_ready(p)
    p["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    assert pod_ready(p)
    p["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert not is_pod_active(p)
    p["status"]["phase"] = "Succeeded"
    del p["metadata"]["deletionTimestamp"]
    assert not is_pod_active(p)

"""Defaulting: the values the real v1.32 apiserver fills in before validation and storage.

Mirrors ``SetDefaults_*`` in ``pkg/apis/core/v1/defaults.go``, ``pkg/apis/apps/v1/defaults.go``,
``pkg/apis/storage/v1/defaults.go`` and ``pkg/apis/discovery/v1/defaults.go``, plus the bits the
registry strategies and default admission plugins add that every user sees in ``kubectl get -o yaml``
(pod ``status.phase``/``qosClass``, ``serviceAccountName``, ``priority``; Namespace finalizers and the
``kubernetes.io/metadata.name`` label; Service ``ipFamilies``). Admission that depends on cluster state
(DefaultTolerationSeconds, service-account token volumes, clusterIP allocation) is not here.

Which function a kind gets is named by its strategy (``registry``), which the API server runs on create
and update. Every function mutates the object it is given: pass a fresh copy, never an object from the store.
Defaulting is idempotent, so it is safe on updates too.
"""
from __future__ import annotations

import base64
from typing import Any

from ..objects import spec_of
from ..quantity import parse_quantity

DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30
DEFAULT_SCHEDULER_NAME = "default-scheduler"
SECRET_VOLUME_DEFAULT_MODE = 0o644  # 420
SERVICE_ACCOUNT_TOKEN_EXPIRATION_SECONDS = 3600
LABEL_METADATA_NAME = "kubernetes.io/metadata.name"


# ---------------------------------------------------------------------------------------------------
# Pods and pod templates

def image_pull_policy(image: str) -> str:
    """Return the default ``imagePullPolicy``: ``Always`` for ``:latest`` or no tag, else ``IfNotPresent``."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def _default_probe(probe: dict[str, Any] | None) -> None:
    if not isinstance(probe, dict):
        return
    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1),
                       ("failureThreshold", 3)):
        if not probe.get(key):
            probe[key] = value
    _default_handler(probe)


def _default_handler(handler: dict[str, Any] | None) -> None:
    if not isinstance(handler, dict):
        return
    http = handler.get("httpGet")
    if isinstance(http, dict):
        if not http.get("path"):
            http["path"] = "/"
        if not http.get("scheme"):
            http["scheme"] = "HTTP"


def _default_field_ref(source: Any) -> None:
    if isinstance(source, dict) and isinstance(source.get("fieldRef"), dict):
        if not source["fieldRef"].get("apiVersion"):
            source["fieldRef"]["apiVersion"] = "v1"


def default_container(container: dict[str, Any]) -> None:
    """Apply ``SetDefaults_Container`` and the nested port/probe/handler/env defaults."""
    if not container.get("imagePullPolicy"):
        container["imagePullPolicy"] = image_pull_policy(str(container.get("image") or ""))
    if not container.get("terminationMessagePath"):
        container["terminationMessagePath"] = "/dev/termination-log"
    if not container.get("terminationMessagePolicy"):
        container["terminationMessagePolicy"] = "File"
    if container.get("resources") is None:
        container["resources"] = {}  # a non-omitempty struct: always serialised
    for port in container.get("ports") or ():
        if isinstance(port, dict) and not port.get("protocol"):
            port["protocol"] = "TCP"
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(container.get(key))
    lifecycle = container.get("lifecycle")
    if isinstance(lifecycle, dict):
        _default_handler(lifecycle.get("postStart"))
        _default_handler(lifecycle.get("preStop"))
    for env in container.get("env") or ():
        if isinstance(env, dict):
            _default_field_ref(env.get("valueFrom"))


def _default_volume(volume: dict[str, Any]) -> None:
    sources = [k for k in volume if k != "name"]
    if not sources:
        volume["emptyDir"] = {}
    for key in ("secret", "configMap", "downwardAPI", "projected"):
        src = volume.get(key)
        if isinstance(src, dict) and src.get("defaultMode") is None:
            src["defaultMode"] = SECRET_VOLUME_DEFAULT_MODE
    host_path = volume.get("hostPath")
    if isinstance(host_path, dict) and host_path.get("type") is None:
        host_path["type"] = ""
    downward = volume.get("downwardAPI")
    if isinstance(downward, dict):
        for item in downward.get("items") or ():
            _default_field_ref(item)
    projected = volume.get("projected")
    if isinstance(projected, dict):
        for source in projected.get("sources") or ():
            if not isinstance(source, dict):
                continue
            token = source.get("serviceAccountToken")
            if isinstance(token, dict) and token.get("expirationSeconds") is None:
                token["expirationSeconds"] = SERVICE_ACCOUNT_TOKEN_EXPIRATION_SECONDS
            if isinstance(source.get("downwardAPI"), dict):
                for item in source["downwardAPI"].get("items") or ():
                    _default_field_ref(item)


def default_pod_spec(pod_spec: dict[str, Any]) -> None:
    """Apply ``SetDefaults_PodSpec`` and the container/volume defaults (pod templates get exactly this)."""
    if not pod_spec.get("dnsPolicy"):
        pod_spec["dnsPolicy"] = "ClusterFirst"
    if not pod_spec.get("restartPolicy"):
        pod_spec["restartPolicy"] = "Always"
    if pod_spec.get("securityContext") is None:
        pod_spec["securityContext"] = {}
    if pod_spec.get("terminationGracePeriodSeconds") is None:
        pod_spec["terminationGracePeriodSeconds"] = DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS
    if not pod_spec.get("schedulerName"):
        pod_spec["schedulerName"] = DEFAULT_SCHEDULER_NAME
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in pod_spec.get(key) or ():
            if isinstance(container, dict):
                default_container(container)
    for volume in pod_spec.get("volumes") or ():
        if isinstance(volume, dict):
            _default_volume(volume)


def default_pod_template(template: dict[str, Any] | None) -> None:
    """Default a ``PodTemplateSpec`` (workload templates): pod spec defaults only, no Pod-only ones."""
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        default_pod_spec(template["spec"])


def qos_class(pod_spec: dict[str, Any]) -> str:
    """Return the pod's QoS class (``qos.GetPodQOS``): Guaranteed, Burstable or BestEffort."""
    requests: dict[str, float] = {}
    limits: dict[str, float] = {}
    guaranteed = True
    any_set = False
    for container in list(pod_spec.get("containers") or ()) + list(pod_spec.get("initContainers") or ()):
        res = container.get("resources") or {}
        c_req = {k: v for k, v in (res.get("requests") or {}).items() if k in ("cpu", "memory")}
        c_lim = {k: v for k, v in (res.get("limits") or {}).items() if k in ("cpu", "memory")}
        for k, v in c_req.items():
            if _q(v) != 0:
                any_set = True
                requests[k] = requests.get(k, 0.0) + _q(v)
        for k, v in c_lim.items():
            if _q(v) != 0:
                any_set = True
                limits[k] = limits.get(k, 0.0) + _q(v)
        if set(c_lim) != {"cpu", "memory"} or any(_q(v) == 0 for v in c_lim.values()):
            guaranteed = False
    if not any_set:
        return "BestEffort"
    if guaranteed and all(abs(requests.get(k, limits[k]) - limits[k]) < 1e-12 for k in limits):
        return "Guaranteed"
    return "Burstable"


def _q(value: Any) -> float:
    try:
        return parse_quantity(value)
    except ValueError:
        return 0.0


def default_pod(pod: dict[str, Any]) -> None:
    """Apply ``SetDefaults_Pod`` + pod spec defaults + what admission/strategy add on create."""
    pod_spec = pod.setdefault("spec", {})
    for key in ("containers", "initContainers"):
        for container in pod_spec.get(key) or ():
            res = container.get("resources") if isinstance(container, dict) else None
            if isinstance(res, dict) and res.get("limits"):
                if not isinstance(res.get("requests"), dict):
                    res["requests"] = {}
                requests = res["requests"]
                for name, value in res["limits"].items():
                    requests.setdefault(name, value)
    if pod_spec.get("enableServiceLinks") is None:
        pod_spec["enableServiceLinks"] = True
    if pod_spec.get("hostNetwork"):
        for key in ("containers", "initContainers"):
            for container in pod_spec.get(key) or ():
                for port in container.get("ports") or ():
                    if not port.get("hostPort"):
                        port["hostPort"] = port.get("containerPort")
    default_pod_spec(pod_spec)
    # ServiceAccount admission.
    if not pod_spec.get("serviceAccountName"):
        pod_spec["serviceAccountName"] = pod_spec.get("serviceAccount") or "default"
    if not pod_spec.get("serviceAccount"):
        pod_spec["serviceAccount"] = pod_spec["serviceAccountName"]
    # Priority admission (no PriorityClass named, no global default class).
    if pod_spec.get("priority") is None and not pod_spec.get("priorityClassName"):
        pod_spec["priority"] = 0
    if not pod_spec.get("preemptionPolicy"):
        pod_spec["preemptionPolicy"] = "PreemptLowerPriority"
    # Pod strategy PrepareForCreate.
    status = pod.get("status")
    if not isinstance(status, dict):
        status = pod["status"] = {}
    if not status.get("phase"):
        status["phase"] = "Pending"
    if not status.get("qosClass"):
        status["qosClass"] = qos_class(pod_spec)


# ---------------------------------------------------------------------------------------------------
# apps/v1

def default_deployment(obj: dict[str, Any]) -> None:
    """Apply ``SetDefaults_Deployment``: replicas 1, RollingUpdate 25%/25%, history 10, deadline 600."""
    spec = obj.setdefault("spec", {})
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    strategy = spec.get("strategy")
    if not isinstance(strategy, dict):
        strategy = spec["strategy"] = {}
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.get("rollingUpdate")
        if not isinstance(rolling, dict):
            rolling = strategy["rollingUpdate"] = {}
        if rolling.get("maxUnavailable") is None:
            rolling["maxUnavailable"] = "25%"
        if rolling.get("maxSurge") is None:
            rolling["maxSurge"] = "25%"
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    if spec.get("progressDeadlineSeconds") is None:
        spec["progressDeadlineSeconds"] = 600
    default_pod_template(spec.get("template"))


def default_replicaset(obj: dict[str, Any]) -> None:
    """Apply ``SetDefaults_ReplicaSet``: replicas 1."""
    spec = obj.setdefault("spec", {})
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    default_pod_template(spec.get("template"))


def default_pvc_spec(spec: dict[str, Any]) -> None:
    if spec.get("volumeMode") is None:
        spec["volumeMode"] = "Filesystem"


def default_statefulset(obj: dict[str, Any]) -> None:
    """Apply ``SetDefaults_StatefulSet``: OrderedReady, RollingUpdate partition 0, replicas 1, Retain/Retain."""
    spec = obj.setdefault("spec", {})
    if not spec.get("podManagementPolicy"):
        spec["podManagementPolicy"] = "OrderedReady"
    strategy = spec.get("updateStrategy")
    if not isinstance(strategy, dict):
        strategy = spec["updateStrategy"] = {}
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.get("rollingUpdate")
        if not isinstance(rolling, dict):
            rolling = strategy["rollingUpdate"] = {}
        if rolling.get("partition") is None:
            rolling["partition"] = 0
    policy = spec.get("persistentVolumeClaimRetentionPolicy")
    if not isinstance(policy, dict):
        policy = spec["persistentVolumeClaimRetentionPolicy"] = {}
    if not policy.get("whenDeleted"):
        policy["whenDeleted"] = "Retain"
    if not policy.get("whenScaled"):
        policy["whenScaled"] = "Retain"
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    default_pod_template(spec.get("template"))
    for claim in spec.get("volumeClaimTemplates") or ():
        if not isinstance(claim, dict):
            continue
        claim.setdefault("apiVersion", "v1")
        claim.setdefault("kind", "PersistentVolumeClaim")
        default_pvc_spec(claim.setdefault("spec", {}))
        status = claim.get("status")
        if not isinstance(status, dict):
            status = claim["status"] = {}
        if not status.get("phase"):
            status["phase"] = "Pending"


def default_daemonset(obj: dict[str, Any]) -> None:
    """Apply ``SetDefaults_DaemonSet``: RollingUpdate maxUnavailable 1 maxSurge 0, history 10."""
    spec = obj.setdefault("spec", {})
    strategy = spec.get("updateStrategy")
    if not isinstance(strategy, dict):
        strategy = spec["updateStrategy"] = {}
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.get("rollingUpdate")
        if not isinstance(rolling, dict):
            rolling = strategy["rollingUpdate"] = {}
        if rolling.get("maxUnavailable") is None:
            rolling["maxUnavailable"] = 1
        if rolling.get("maxSurge") is None:
            rolling["maxSurge"] = 0
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    default_pod_template(spec.get("template"))


# ---------------------------------------------------------------------------------------------------
# core/v1 others

def default_service(obj: dict[str, Any]) -> None:
    """Apply ``SetDefaults_Service`` plus the strategy's single-stack IPv4 ``ipFamilies``."""
    spec = obj.setdefault("spec", {})
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        config = spec.get("sessionAffinityConfig") or {}
        if not (config.get("clientIP") or {}).get("timeoutSeconds"):
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
    if not spec.get("type"):
        spec["type"] = "ClusterIP"
    svc_type = spec["type"]
    for port in spec.get("ports") or ():
        if not isinstance(port, dict):
            continue
        if not port.get("protocol"):
            port["protocol"] = "TCP"
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    if svc_type in ("NodePort", "LoadBalancer") and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if spec.get("internalTrafficPolicy") is None and svc_type in ("NodePort", "LoadBalancer", "ClusterIP"):
        spec["internalTrafficPolicy"] = "Cluster"
    if svc_type == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True
    if svc_type != "ExternalName":
        if not spec.get("ipFamilyPolicy"):
            spec["ipFamilyPolicy"] = "SingleStack"
        if not spec.get("ipFamilies"):
            spec["ipFamilies"] = ["IPv4"]
    status = obj.get("status")
    if not isinstance(status, dict):
        obj["status"] = {"loadBalancer": {}}
    elif status.get("loadBalancer") is None:
        status["loadBalancer"] = {}


def carry_over_allocations(new: dict[str, Any], old: dict[str, Any]) -> None:
    """Copy server-allocated Service fields the client left out of an update (the service REST storage's
    ``patchAllocatedValues``): clusterIP(s), node ports per (port, protocol), healthCheckNodePort.

    Call it on updates before validation so ``kubectl replace`` without ``clusterIP`` keeps the address.
    """
    spec, old_spec = new.setdefault("spec", {}), spec_of(old)
    if spec.get("type") == "ExternalName" or old_spec.get("type") == "ExternalName":
        return
    if not spec.get("clusterIP") and old_spec.get("clusterIP"):
        spec["clusterIP"] = old_spec["clusterIP"]
        if not spec.get("clusterIPs") and old_spec.get("clusterIPs"):
            spec["clusterIPs"] = list(old_spec["clusterIPs"])
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        old_ports = {(p.get("port"), p.get("protocol") or "TCP"): p.get("nodePort")
                     for p in old_spec.get("ports") or () if isinstance(p, dict)}
        for port in spec.get("ports") or ():
            if isinstance(port, dict) and not port.get("nodePort"):
                node_port = old_ports.get((port.get("port"), port.get("protocol") or "TCP"))
                if node_port:
                    port["nodePort"] = node_port
        if not spec.get("healthCheckNodePort") and old_spec.get("healthCheckNodePort"):
            spec["healthCheckNodePort"] = old_spec["healthCheckNodePort"]


def default_secret(obj: dict[str, Any]) -> None:
    """Default ``type`` to Opaque and fold write-only ``stringData`` into base64 ``data``."""
    if not obj.get("type"):
        obj["type"] = "Opaque"
    string_data = obj.pop("stringData", None)
    if string_data:
        data = obj.get("data")
        if not isinstance(data, dict):
            data = obj["data"] = {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode("utf-8")).decode("ascii")


def default_namespace(obj: dict[str, Any]) -> None:
    """Add the ``kubernetes.io/metadata.name`` label, the ``kubernetes`` finalizer and phase Active."""
    meta = obj.setdefault("metadata", {})
    if meta.get("name"):
        labels = meta.get("labels")
        if not isinstance(labels, dict):
            labels = meta["labels"] = {}
        labels[LABEL_METADATA_NAME] = meta["name"]
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    if spec.get("finalizers") is None:
        spec["finalizers"] = ["kubernetes"]
    status = obj.get("status")
    if not isinstance(status, dict):
        status = obj["status"] = {}
    if not status.get("phase"):
        status["phase"] = "Active"


def default_node(obj: dict[str, Any]) -> None:
    """Apply ``SetDefaults_NodeStatus``: allocatable defaults to capacity."""
    status = obj.get("status")
    if isinstance(status, dict) and status.get("allocatable") is None and status.get("capacity") is not None:
        status["allocatable"] = dict(status["capacity"])


def default_pv(obj: dict[str, Any]) -> None:
    """Apply ``SetDefaults_PersistentVolume``: Retain, Filesystem, phase Pending."""
    spec = obj.setdefault("spec", {})
    if not spec.get("persistentVolumeReclaimPolicy"):
        spec["persistentVolumeReclaimPolicy"] = "Retain"
    if spec.get("volumeMode") is None:
        spec["volumeMode"] = "Filesystem"
    status = obj.get("status")
    if not isinstance(status, dict):
        status = obj["status"] = {}
    if not status.get("phase"):
        status["phase"] = "Pending"


def default_pvc(obj: dict[str, Any]) -> None:
    """Apply ``SetDefaults_PersistentVolumeClaim(Spec)``: Filesystem, phase Pending."""
    default_pvc_spec(obj.setdefault("spec", {}))
    status = obj.get("status")
    if not isinstance(status, dict):
        status = obj["status"] = {}
    if not status.get("phase"):
        status["phase"] = "Pending"


def default_endpoints(obj: dict[str, Any]) -> None:
    """Apply ``SetDefaults_Endpoints``: port protocol TCP."""
    for subset in obj.get("subsets") or ():
        for port in subset.get("ports") or ():
            if not port.get("protocol"):
                port["protocol"] = "TCP"


def default_endpointslice(obj: dict[str, Any]) -> None:
    """Apply discovery/v1 ``SetDefaults_EndpointPort``: name "" and protocol TCP."""
    for port in obj.get("ports") or ():
        if port.get("name") is None:
            port["name"] = ""
        if not port.get("protocol"):
            port["protocol"] = "TCP"


def default_storageclass(obj: dict[str, Any]) -> None:
    """Apply storage/v1 ``SetDefaults_StorageClass``: reclaimPolicy Delete, volumeBindingMode Immediate."""
    if not obj.get("reclaimPolicy"):
        obj["reclaimPolicy"] = "Delete"
    if not obj.get("volumeBindingMode"):
        obj["volumeBindingMode"] = "Immediate"


def default_event(obj: dict[str, Any]) -> None:
    """Serialise the non-omitempty reporting fields of core/v1 Event as Kubernetes does."""
    obj.setdefault("reportingComponent", "")
    obj.setdefault("reportingInstance", "")

"""Route each kind to its checks: ``validate_create``, ``validate_update`` and ``validate_status_update``.

Object metadata is checked for every kind (with the kind's name rule), then the kind's own spec checks from
``core``, ``apps`` and ``groups``; updates add each kind's immutability and mutability rules.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from ...errors import Cause
from ..resources import ResourceType
from .apps import (
    validate_daemonset_spec,
    validate_deployment_spec,
    validate_replicaset_spec,
    validate_statefulset_spec,
    validate_statefulset_update,
)
from .common import (
    IMMUTABLE_MSG,
    forbidden,
    invalid,
    name_is_dns1035_label,
    name_is_dns_label,
    name_is_dns_subdomain,
    required,
    spec_of,
    validate_immutable_field,
    validate_nonnegative,
    validate_object_meta,
    validate_object_meta_update,
)
from .core import (
    validate_configmap,
    validate_immutable_data_update,
    validate_node_spec,
    validate_pod_spec,
    validate_pod_update,
    validate_pv_spec,
    validate_pvc_spec,
    validate_pvc_update,
    validate_secret,
    validate_service_spec,
    validate_service_update,
)
from .groups import validate_endpointslice, validate_lease_spec, validate_pdb_spec, validate_storageclass

_NAME_FNS: dict[str, Callable[[str, bool], list[str]]] = {
    "Namespace": name_is_dns_label,
    "Service": name_is_dns1035_label,
    "StatefulSet": name_is_dns_label,
}


def _kind_causes(kind: str, obj: Mapping[str, Any], out: list[Cause]) -> None:
    spec = spec_of(obj)
    if kind == "Pod":
        validate_pod_spec(out, obj.get("spec"), "spec")
    elif kind == "Deployment":
        validate_deployment_spec(out, spec)
    elif kind == "ReplicaSet":
        validate_replicaset_spec(out, spec)
    elif kind == "StatefulSet":
        validate_statefulset_spec(out, spec)
    elif kind == "DaemonSet":
        validate_daemonset_spec(out, spec)
    elif kind == "Service":
        validate_service_spec(out, spec)
    elif kind == "ConfigMap":
        validate_configmap(out, obj)
    elif kind == "Secret":
        validate_secret(out, obj)
    elif kind == "PersistentVolumeClaim":
        validate_pvc_spec(out, obj.get("spec"))
    elif kind == "PersistentVolume":
        validate_pv_spec(out, obj.get("spec"))
    elif kind == "StorageClass":
        validate_storageclass(out, obj)
    elif kind == "PodDisruptionBudget":
        validate_pdb_spec(out, obj.get("spec"))
    elif kind == "Node":
        validate_node_spec(out, obj.get("spec"))
    elif kind == "Lease":
        validate_lease_spec(out, obj.get("spec"))
    elif kind == "EndpointSlice":
        validate_endpointslice(out, obj)
    elif kind == "ControllerRevision":
        if obj.get("data") is None:
            out.append(required("data", "data is mandatory"))
        validate_nonnegative(out, obj.get("revision"), "revision")


def validate_create(rt: ResourceType, obj: Mapping[str, Any]) -> list[Cause]:
    """Return every reason the apiserver would reject creating ``obj`` (defaulted) with 422 Invalid."""
    out: list[Cause] = []
    validate_object_meta(out, obj.get("metadata"), rt.namespaced, _NAME_FNS.get(rt.kind, name_is_dns_subdomain))
    _kind_causes(rt.kind, obj, out)
    return out


# ---------------------------------------------------------------------------------------------------
# Updates


def validate_update(rt: ResourceType, new: Mapping[str, Any], old: Mapping[str, Any]) -> list[Cause]:
    """Return every reason the apiserver would reject replacing ``old`` by ``new`` (both defaulted)."""
    out: list[Cause] = []
    validate_object_meta_update(out, new.get("metadata"), old.get("metadata"))
    kind = rt.kind
    if kind == "StatefulSet":
        # The apiserver does not revalidate the name on update.
        validate_statefulset_spec(out, spec_of(new))
        validate_statefulset_update(out, new, old)
        return out
    body: list[Cause] = []
    _kind_causes(kind, new, body)
    out.extend(body)
    if kind in ("Deployment", "ReplicaSet", "DaemonSet"):
        validate_immutable_field(out, spec_of(new).get("selector"), spec_of(old).get("selector"), "spec.selector")
    elif kind == "Pod":
        validate_pod_update(out, new, old)
    elif kind == "Service":
        validate_service_update(out, new, old)
    elif kind == "PersistentVolumeClaim":
        validate_pvc_update(out, new, old)
    elif kind == "ConfigMap":
        validate_immutable_data_update(out, new, old)
    elif kind == "Secret":
        if (new.get("type") or "Opaque") != (old.get("type") or "Opaque"):
            out.append(invalid("type", new.get("type") or "", IMMUTABLE_MSG))
        validate_immutable_data_update(out, new, old)
    elif kind == "StorageClass":
        if (new.get("parameters") or {}) != (old.get("parameters") or {}):
            out.append(forbidden("parameters", "updates to parameters are forbidden."))
        if new.get("provisioner") != old.get("provisioner"):
            out.append(forbidden("provisioner", "updates to provisioner are forbidden."))
        if new.get("reclaimPolicy") != old.get("reclaimPolicy"):
            out.append(forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."))
        validate_immutable_field(out, new.get("volumeBindingMode"), old.get("volumeBindingMode"), "volumeBindingMode")
    elif kind == "EndpointSlice":
        validate_immutable_field(out, new.get("addressType"), old.get("addressType"), "addressType")
    elif kind == "ControllerRevision":
        validate_immutable_field(out, new.get("data"), old.get("data"), "data")
    elif kind == "PersistentVolume":
        old_source = {k: v for k, v in spec_of(old).items() if k not in (
            "accessModes", "capacity", "claimRef", "persistentVolumeReclaimPolicy", "storageClassName",
            "mountOptions", "volumeMode", "nodeAffinity", "volumeAttributesClassName")}
        new_source = {k: v for k, v in spec_of(new).items() if k in old_source or k not in (
            "accessModes", "capacity", "claimRef", "persistentVolumeReclaimPolicy", "storageClassName",
            "mountOptions", "volumeMode", "nodeAffinity", "volumeAttributesClassName")}
        if new_source != old_source:
            out.append(forbidden("spec.persistentvolumesource", "spec.persistentvolumesource is immutable after "
                                                                "creation"))
        validate_immutable_field(out, spec_of(new).get("volumeMode"), spec_of(old).get("volumeMode"), "spec.volumeMode")
    return out


def validate_status_update(rt: ResourceType, new: Mapping[str, Any], old: Mapping[str, Any]) -> list[Cause]:
    """Return the causes for a ``/status`` write: metadata may not change identity; counters are ≥ 0."""
    out: list[Cause] = []
    validate_object_meta_update(out, new.get("metadata"), old.get("metadata"))
    status = new.get("status")
    if isinstance(status, Mapping) and rt.kind in ("Deployment", "ReplicaSet", "StatefulSet"):
        for key in ("replicas", "readyReplicas", "availableReplicas", "updatedReplicas", "currentReplicas",
                    "observedGeneration"):
            validate_nonnegative(out, status.get(key), f"status.{key}")
    return out

"""Validation of the small API groups: storage, policy, coordination and discovery.

StorageClass (``pkg/apis/storage/validation``), PodDisruptionBudget (``pkg/apis/policy/validation``),
Lease (``pkg/apis/coordination/validation``) and EndpointSlice (``pkg/apis/discovery/validation``).
"""
from __future__ import annotations

from typing import Any, Mapping

from ...errors import Cause
from .common import (
    as_int,
    forbidden,
    invalid,
    not_supported,
    required,
    validate_immutable_field,
    validate_int_or_percent,
    validate_label_selector,
    validate_nonnegative,
    validate_not_over_100,
    validate_port_number,
)

# ---------------------------------------------------------------------------------------------------
# storage.k8s.io


def validate_storageclass(out: list[Cause], obj: Mapping[str, Any]) -> None:
    if not obj.get("provisioner"):
        out.append(required("provisioner"))
    policy = obj.get("reclaimPolicy")
    if policy is not None and policy not in ("Delete", "Retain"):
        out.append(not_supported("reclaimPolicy", policy, ("Delete", "Retain")))
    mode = obj.get("volumeBindingMode")
    if mode is not None and mode not in ("Immediate", "WaitForFirstConsumer"):
        out.append(not_supported("volumeBindingMode", mode, ("Immediate", "WaitForFirstConsumer")))


def validate_storageclass_update(out: list[Cause], new: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    """Forbid changing a class's parameters, provisioner, reclaimPolicy or volumeBindingMode."""
    if (new.get("parameters") or {}) != (old.get("parameters") or {}):
        out.append(forbidden("parameters", "updates to parameters are forbidden."))
    if new.get("provisioner") != old.get("provisioner"):
        out.append(forbidden("provisioner", "updates to provisioner are forbidden."))
    if new.get("reclaimPolicy") != old.get("reclaimPolicy"):
        out.append(forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."))
    validate_immutable_field(out, new.get("volumeBindingMode"), old.get("volumeBindingMode"), "volumeBindingMode")


# ---------------------------------------------------------------------------------------------------
# policy


def validate_pdb_spec(out: list[Cause], spec: Any) -> None:
    spec = spec if isinstance(spec, Mapping) else {}
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        out.append(invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set"))
    for key in ("minAvailable", "maxUnavailable"):
        if spec.get(key) is not None:
            validate_int_or_percent(out, spec[key], f"spec.{key}")
            validate_not_over_100(out, spec[key], f"spec.{key}")
    validate_label_selector(out, spec.get("selector"), "spec.selector")
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in ("AlwaysAllow", "IfHealthyBudget"):
        out.append(not_supported("spec.unhealthyPodEvictionPolicy", policy, ("AlwaysAllow", "IfHealthyBudget")))


# ---------------------------------------------------------------------------------------------------
# coordination.k8s.io


def validate_lease_spec(out: list[Cause], spec: Any) -> None:
    spec = spec if isinstance(spec, Mapping) else {}
    duration = as_int(spec.get("leaseDurationSeconds"))
    if duration is not None and duration <= 0:
        out.append(invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    validate_nonnegative(out, spec.get("leaseTransitions"), "spec.leaseTransitions")


# ---------------------------------------------------------------------------------------------------
# discovery.k8s.io


def validate_endpointslice(out: list[Cause], obj: Mapping[str, Any]) -> None:
    address_type = obj.get("addressType")
    if not address_type:
        out.append(required("addressType"))
    elif address_type not in ("FQDN", "IPv4", "IPv6"):
        out.append(not_supported("addressType", address_type, ("FQDN", "IPv4", "IPv6")))
    for i, ep in enumerate(obj.get("endpoints") or ()):
        if isinstance(ep, Mapping) and not ep.get("addresses"):
            out.append(required(f"endpoints[{i}].addresses", "must contain at least 1 address"))
    for i, port in enumerate(obj.get("ports") or ()):
        if isinstance(port, Mapping) and port.get("port") is not None:
            validate_port_number(out, port.get("port"), f"ports[{i}].port")


def validate_endpointslice_update(out: list[Cause], new: Mapping[str, Any], old: Mapping[str, Any]) -> None:
    """Forbid changing a slice's ``addressType``."""
    validate_immutable_field(out, new.get("addressType"), old.get("addressType"), "addressType")

"""The core (``v1``) kinds' strategies: ``pkg/registry/core/<kind>/strategy.go``.

Pods, Services, Namespaces, Nodes, volumes and claims, ConfigMaps, Secrets, Endpoints, Events and
ServiceAccounts. Pod's graceful deletion and Namespace's delete (phase ``Terminating``, finished by the
namespace controller) are here because they are these kinds' own rules.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from ...clock import rfc3339
from ...errors import Cause, Forbidden
from ...objects import clone, spec_of, status_of
from .. import defaults
from ..validation.common import name_is_dns1035_label, name_is_dns_label
from ..validation.core import (validate_configmap, validate_immutable_data_update, validate_node_spec,
                               validate_pod_spec, validate_pod_update, validate_pv_spec, validate_pv_update,
                               validate_pvc_spec, validate_pvc_update, validate_secret, validate_secret_update,
                               validate_service_spec, validate_service_update)
from .strategy import Strategy, on_raw_spec, on_spec

if TYPE_CHECKING:
    from ..server import APIServer

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


# ---------------------------------------------------------------------------------------------------
# Pod


def pod_qos_class(pod: Mapping[str, Any]) -> str:
    """Return the QoS class the pod strategy stamps on create (containers only, quantities compared as text)."""
    containers = spec_of(pod).get("containers") or []
    requests_any = False
    guaranteed = bool(containers)
    for c in containers:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        if req or lim:
            requests_any = True
        for r in ("cpu", "memory"):
            if r not in lim or (r in req and str(req[r]) != str(lim[r])):
                guaranteed = False
    if guaranteed and requests_any:
        return "Guaranteed"
    return "Burstable" if requests_any else "BestEffort"


def pod_initial_status(pod: Mapping[str, Any]) -> dict[str, Any]:
    """Return a new pod's status: Pending, with its QoS class."""
    return {"phase": "Pending", "qosClass": pod_qos_class(pod)}


def pod_grace_period(pod: Mapping[str, Any], requested: int | None) -> int | None:
    """Return the grace period a pod delete waits (the pod strategy's ``CheckGracefulDelete``)."""
    spec, status = spec_of(pod), status_of(pod)
    # Pods that never ran on a node, or that already finished, go at once.
    if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
        return 0
    if requested is not None:
        return requested
    return int(spec.get("terminationGracePeriodSeconds", 30))


def _check_pod(out: list[Cause], obj: Mapping[str, Any]) -> None:
    validate_pod_spec(out, obj.get("spec"), "spec")


# ---------------------------------------------------------------------------------------------------
# Namespace


def delete_namespace(api: "APIServer", ns_obj: dict, dry_run: bool) -> dict:
    """Mark a namespace Terminating (system namespaces are forbidden); the namespace controller empties it."""
    name = ns_obj["metadata"]["name"]
    if name in SYSTEM_NAMESPACES:
        raise Forbidden(f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                        name=name, kind="namespaces")
    if dry_run or ns_obj["metadata"].get("deletionTimestamp"):
        return ns_obj
    new = clone(ns_obj)
    new["metadata"]["deletionTimestamp"] = rfc3339(api.clock.now)
    new["metadata"]["deletionGracePeriodSeconds"] = 0
    new.setdefault("status", {})["phase"] = "Terminating"
    return api.store.update("namespaces", new)


def _status(**fields: Any):
    """Return an ``initial_status`` giving every new object of the kind ``fields`` (fresh copies)."""
    def initial_status(obj: Mapping[str, Any]) -> dict[str, Any]:
        return clone(fields)
    return initial_status


STRATEGIES = (
    Strategy("Namespace", default=defaults.default_namespace, reset_status=True,
             initial_status=_status(phase="Active"), name_rule=name_is_dns_label, delete=delete_namespace),
    Strategy("Node", default=defaults.default_node, status_on_update=True,
             check=on_raw_spec(validate_node_spec)),
    Strategy("Pod", default=defaults.default_pod, reset_status=True, initial_status=pod_initial_status,
             check=_check_pod, check_update=validate_pod_update, grace_period=pod_grace_period),
    Strategy("Service", default=defaults.default_service, reset_status=True,
             initial_status=_status(loadBalancer={}), carry_over=defaults.carry_over_allocations,
             name_rule=name_is_dns1035_label, check=on_spec(validate_service_spec),
             check_update=validate_service_update),
    Strategy("Endpoints", default=defaults.default_endpoints, generation=False),
    Strategy("PersistentVolume", default=defaults.default_pv, reset_status=True,
             initial_status=_status(phase="Pending"), generation=False, check=on_raw_spec(validate_pv_spec),
             check_update=validate_pv_update),
    Strategy("PersistentVolumeClaim", default=defaults.default_pvc, reset_status=True,
             initial_status=_status(phase="Pending"), generation=False, check=on_raw_spec(validate_pvc_spec),
             check_update=validate_pvc_update),
    Strategy("ConfigMap", generation=False, check=validate_configmap, check_update=validate_immutable_data_update),
    Strategy("Secret", default=defaults.default_secret, generation=False, check=validate_secret,
             check_update=validate_secret_update),
    Strategy("Event", default=defaults.default_event, generation=False),
    Strategy("ServiceAccount"),
)

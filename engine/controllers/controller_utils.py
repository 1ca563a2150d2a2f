"""Helpers the workload controllers share, after ``pkg/controller/controller_utils.go``.

Pods from a template (``GetPodFromTemplate``), the hashes behind ``pod-template-hash`` and
ControllerRevision names (Go's ``hash/fnv`` and ``ComputeHash``), adoption and release of
dependents (``ControllerRefManager``), readiness and availability of pods (``podutil``) and the
small status conventions (``minReadySeconds``, omitempty counters) every status calculation uses.
Nothing here reads the store or the clock except through an ``api`` passed in.
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

from ..clock import parse_rfc3339
from ..errors import StatusError
from ..objects import clone, controller_ref, get_condition, meta_of, pod_ready, safe_encode, spec_of, status_of
from ..selectors import LabelSelector

_FNV32_OFFSET = 0x811C9DC5
_FNV32_PRIME = 0x01000193


# ---------------------------------------------------------------------------------------------- hashes
def fnv32(data: bytes) -> int:
    """Return the FNV-1 32-bit hash of ``data`` (Go's ``fnv.New32``, which ``HashControllerRevision`` uses)."""
    h = _FNV32_OFFSET
    for b in data:
        h = (h * _FNV32_PRIME) & 0xFFFFFFFF
        h ^= b
    return h


def fnv32a(data: bytes) -> int:
    """Return the FNV-1a 32-bit hash of ``data`` (Go's ``fnv.New32a``, which ``ComputeHash`` uses)."""
    h = _FNV32_OFFSET
    for b in data:
        h ^= b
        h = (h * _FNV32_PRIME) & 0xFFFFFFFF
    return h


def hash_bytes(obj: Any) -> bytes:
    """Serialise ``obj`` canonically for hashing (the role of ``hashutil.DeepHashObject``)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def hash_name(value: int) -> str:
    """Render a 32-bit hash as a name suffix (``rand.SafeEncodeString(fmt.Sprint(hash))``)."""
    return safe_encode(str(value))


def compute_hash(template: Mapping[str, Any], collision_count: int = 0) -> str:
    """Return the ``pod-template-hash`` of a pod template (``controller.ComputeHash``)."""
    raw = hash_bytes(template)
    if collision_count:
        raw += str(collision_count).encode()
    return hash_name(fnv32a(raw))


# ---------------------------------------------------------------------------------------------- pods
def pod_from_template(owner: Mapping[str, Any], template: Mapping[str, Any], *, name: str | None = None,
                      generate_name: str | None = None) -> dict:
    """Build a pod for ``owner`` from its pod template, controlled by it (``GetPodFromTemplate``)."""
    tmeta = meta_of(template)
    ometa = meta_of(owner)
    meta: dict = {"namespace": ometa.get("namespace", "default"),
                  "labels": dict(tmeta.get("labels") or {}),
                  "ownerReferences": [controller_ref(owner)]}
    if tmeta.get("annotations"):
        meta["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        meta["finalizers"] = list(tmeta["finalizers"])
    if name:
        meta["name"] = name
    else:
        meta["generateName"] = generate_name or f"{ometa['name']}-"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": clone(spec_of(template))}


def is_running_and_ready(pod: Mapping[str, Any]) -> bool:
    """Tell whether the pod is Running with its Ready condition True (``isRunningAndReady``)."""
    return status_of(pod).get("phase") == "Running" and pod_ready(pod)


def ready_since(pod: Mapping[str, Any]) -> float | None:
    """Return when the pod turned Ready (0.0 when the condition has no time), or None if it is not Ready."""
    cond = get_condition(pod, "Ready")
    if cond is None or cond.get("status") != "True":
        return None
    stamp = cond.get("lastTransitionTime")
    return parse_rfc3339(stamp) if stamp else 0.0


def pod_available(pod: Mapping[str, Any], min_ready_seconds: int, now: float) -> bool:
    """Tell whether the pod has been Ready for ``min_ready_seconds`` (``podutil.IsPodAvailable``)."""
    since = ready_since(pod)
    return since is not None and (min_ready_seconds == 0 or since + min_ready_seconds <= now)


def available_after(ready: Iterable[Mapping[str, Any]], min_ready_seconds: int, now: float) -> float | None:
    """Return the seconds until the first of these Ready pods turns available, or None if none waits.

    What a controller requeues after so availability is noticed without a pod event (at least 1 ms).
    """
    waits = [since + min_ready_seconds - now for since in map(ready_since, ready)
             if since is not None and not (min_ready_seconds == 0 or since + min_ready_seconds <= now)]
    return max(min(waits), 0.001) if waits else None


def min_ready_seconds(obj: Mapping[str, Any]) -> int:
    """Return ``spec.minReadySeconds`` (0 when unset)."""
    return int(spec_of(obj).get("minReadySeconds", 0) or 0)


def omit_zero(status: dict, keys: Iterable[str]) -> dict:
    """Drop the zero counters of ``keys`` from ``status`` (``omitempty``, as on the wire); return it."""
    for k in keys:
        if status.get(k) == 0:
            status.pop(k)
    return status


# ---------------------------------------------------------------------------------------------- ownership
def selector_of(owner: Mapping[str, Any]) -> LabelSelector:
    """Return the owner's ``spec.selector``; a missing selector selects nothing (``LabelSelectorAsSelector``)."""
    sel = spec_of(owner).get("selector")
    return LabelSelector.from_dict(sel) if sel is not None else LabelSelector(nothing=True)


def set_owner_refs(api: Any, obj: Mapping[str, Any], refs: list[dict]) -> dict | None:
    """Write ``obj`` with these ownerReferences (none: the field goes); None when the write fails."""
    new = clone(obj)
    if refs:
        new["metadata"]["ownerReferences"] = refs
    else:
        new["metadata"].pop("ownerReferences", None)
    try:
        return api.update_internal(new)
    except StatusError:
        return None  # changed or gone meanwhile: the next sync looks again


def adopt_object(api: Any, owner: Mapping[str, Any], obj: Mapping[str, Any]) -> dict | None:
    """Make ``owner`` the controller of the orphan ``obj`` (``AdoptPod``); None when the write fails."""
    return set_owner_refs(api, obj, list(meta_of(obj).get("ownerReferences") or ()) + [controller_ref(owner)])


def release_object(api: Any, obj: Mapping[str, Any], owner_uid: str) -> dict | None:
    """Drop the reference to ``owner_uid`` from ``obj`` (``ReleasePod``); None when the write fails."""
    refs = [r for r in meta_of(obj).get("ownerReferences") or () if r.get("uid") != owner_uid]
    return set_owner_refs(api, obj, refs)

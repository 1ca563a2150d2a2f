"""The subresources with their own rules: ``scale`` (autoscaling/v1 Scale), ``pods/binding`` and ``pods/eviction``.

Each function checks a request and returns what to write; the API server does the writing, so these go
through the same update path (and field ownership) as every other write.
"""
from __future__ import annotations

from typing import Any

from ..errors import BadRequest, Cause, Conflict, Invalid, NotFound, TooManyRequests
from ..etcd.store import Store
from ..objects import clone, meta_of, set_condition, spec_of, status_of
from ..selectors import LabelSelector
from . import patch as patching
from .disruption import blocking_budget
from .resources import ResourceType


def require_scale(rt: ResourceType) -> None:
    """Answer 404 for a kind without a ``scale`` subresource."""
    if "scale" not in rt.subresources:
        raise NotFound("the server could not find the requested resource", kind=rt.plural)


def scale_of(rt: ResourceType, obj: dict) -> dict:
    """Return the autoscaling/v1 Scale view of a workload."""
    meta = obj["metadata"]
    spec, status = spec_of(obj), status_of(obj)
    selector = spec.get("selector")
    sel_text = str(LabelSelector.from_dict(selector)) if isinstance(selector, dict) else ""
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": meta["name"], "namespace": meta.get("namespace", ""), "uid": meta.get("uid"),
                     "resourceVersion": meta.get("resourceVersion"),
                     "creationTimestamp": meta.get("creationTimestamp")},
        "spec": {"replicas": int(spec.get("replicas", 1))},
        "status": {"replicas": int(status.get("replicas", 0)), "selector": sel_text},
    }


def scaled(rt: ResourceType, obj: dict, name: str, scale: Any) -> dict:
    """Check a Scale body written over ``obj``; return a copy of ``obj`` with its new ``spec.replicas``."""
    if not isinstance(scale, dict):
        raise BadRequest("Scale body must be an object")
    want_rv = meta_of(scale).get("resourceVersion")
    if want_rv not in (None, "") and str(want_rv) != obj["metadata"]["resourceVersion"]:
        raise Conflict.modified(rt.plural, rt.group, name)
    replicas = spec_of(scale).get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool):
        raise Invalid.of("Scale", "autoscaling", name,
                         [Cause("spec.replicas", f"Invalid value: {replicas!r}: must be an integer")])
    if replicas < 0:
        raise Invalid.of("Scale", "autoscaling", name,
                         [Cause("spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0")])
    new = clone(obj)
    new.setdefault("spec", {})["replicas"] = replicas
    return new


def patched_scale(current: dict, body: Any, patch_type: str) -> dict:
    """Apply a JSON or merge patch to a Scale."""
    if patch_type == "json":
        return patching.json_patch(current, body)
    if not isinstance(body, dict):
        raise BadRequest("patch must be an object")
    return patching.merge_patch(current, body)


def bound(pod: dict, name: str, node_name: str, now: str) -> dict:
    """Return ``pod`` bound to ``node_name`` (``spec.nodeName`` is set once, never on a terminating pod)."""
    current = spec_of(pod).get("nodeName")
    if current:
        raise Conflict(f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} is already assigned '
                       f"to node \"{current}\"", name=name, kind="pods/binding")
    if pod["metadata"].get("deletionTimestamp"):
        raise Conflict(f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} is being deleted, '
                       "cannot be assigned to a host", name=name, kind="pods/binding")
    new = clone(pod)
    new["spec"]["nodeName"] = node_name
    set_condition(new.setdefault("status", {}), "PodScheduled", "True", now=now)
    return new


def evicted(store: Store, pod: dict, name: str, now: str) -> dict:
    """Return ``pod`` marked as a disruption target, or raise 429 when a PodDisruptionBudget forbids it."""
    budget = blocking_budget(store, pod)
    if budget is not None:
        _pdb, message = budget
        raise TooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.",
                              name=name, kind="pods", causes=[Cause("", message, "DisruptionBudget")],
                              retry_after=None)
    new = clone(pod)
    set_condition(new.setdefault("status", {}), "DisruptionTarget", "True", reason="EvictionByEvictionAPI",
                  message="Eviction API: evicting", now=now)
    return new

"""Deletion as the real registry does it: preconditions, propagation finalizers and graceful deletion.

An object with finalizers (or a grace period, which only pods have) gets ``deletionTimestamp`` and stays
until they are gone; the kubelet ends a pod's grace with ``finish_pod_termination``, controllers remove
their finalizers with ``remove_finalizer``. A kind may delete in its own way (the Namespace strategy).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..clock import rfc3339
from ..errors import BadRequest, Cause, Conflict, NotFound
from ..etcd.store import Store
from ..objects import clone
from .registry import strategy_for
from .resources import ResourceType

if TYPE_CHECKING:
    from .server import APIServer

PROPAGATION_POLICIES = (None, "Background", "Foreground", "Orphan")


def delete(api: "APIServer", rt: ResourceType, namespace: str | None, name: str, *, grace_period: int | None,
           propagation: str | None, preconditions: dict | None, dry_run: bool) -> dict:
    """Delete ``name`` (or start its graceful deletion); return the object as it is afterwards."""
    ns = (namespace or "default") if rt.namespaced else ""
    existing = api.store.find(rt.plural, ns, name)
    if existing is None:
        raise NotFound.of(rt.plural, rt.group, name)
    meta = existing["metadata"]
    if preconditions:
        uid, rv = preconditions.get("uid"), preconditions.get("resourceVersion")
        if uid and uid != meta.get("uid"):
            raise Conflict(f'Operation cannot be fulfilled on {rt.qualified} "{name}": Precondition failed: '
                           f"UID in precondition: {uid}, UID in object meta: {meta.get('uid')}",
                           name=name, group=rt.group, kind=rt.plural)
        if rv and str(rv) != meta.get("resourceVersion"):
            raise Conflict.modified(rt.plural, rt.group, name)
    if grace_period is not None and grace_period < 0:
        grace_period = 1  # the real registry turns negative grace into 1 (kubectl's --grace-period=-1 means default)
    if propagation not in PROPAGATION_POLICIES:
        raise BadRequest(f'Unsupported value: "{propagation}": supported values: "Foreground", "Background", "Orphan"',
                         causes=[Cause("propagationPolicy", f'Unsupported value: "{propagation}"',
                                       "FieldValueNotSupported")])
    strategy = strategy_for(rt)
    if strategy.delete is not None:
        return strategy.delete(api, existing, dry_run)
    if dry_run:
        return existing
    finalizers = list(meta.get("finalizers") or [])
    if propagation == "Orphan" and "orphan" not in finalizers:
        finalizers.append("orphan")
    elif propagation == "Foreground" and "foregroundDeletion" not in finalizers:
        finalizers.append("foregroundDeletion")
    grace = strategy.grace_period(existing, grace_period)
    now = api.clock.now
    if meta.get("deletionTimestamp"):
        # Already terminating: a shorter grace period may still speed it up (force delete).
        if grace == 0 and not finalizers:
            return remove(api.store, rt, existing)
        current = meta.get("deletionGracePeriodSeconds")
        if grace is not None and current is not None and grace < current:
            obj = clone(existing)
            obj["metadata"]["deletionGracePeriodSeconds"] = grace
            obj["metadata"]["deletionTimestamp"] = rfc3339(now + grace)
            return api.store.update(rt.plural, obj)
        return existing
    if not finalizers and not grace:
        return remove(api.store, rt, existing)
    obj = clone(existing)
    obj["metadata"]["deletionTimestamp"] = rfc3339(now + (grace or 0))
    obj["metadata"]["deletionGracePeriodSeconds"] = grace or 0
    if finalizers:
        obj["metadata"]["finalizers"] = finalizers
    return api.store.update(rt.plural, obj)


def remove(store: Store, rt: ResourceType, obj: dict) -> dict:
    """Remove ``obj`` from the store now (no finalizers left, no grace to wait)."""
    meta = obj["metadata"]
    return store.delete(rt.plural, meta.get("namespace", ""), meta["name"])


def finish_pod_termination(store: Store, namespace: str, name: str, uid: str) -> None:
    """Remove the pod whose containers the kubelet saw stop (grace 0), unless finalizers still hold it."""
    pod = store.find("pods", namespace, name)
    if pod is None or pod["metadata"].get("uid") != uid:
        return
    if pod["metadata"].get("finalizers"):
        return
    store.delete("pods", namespace, name)


def remove_finalizer(store: Store, resource: str, namespace: str, name: str, finalizer: str) -> None:
    """Drop ``finalizer``; an object being deleted goes once its last finalizer is gone."""
    obj = store.find(resource, namespace, name)
    if obj is None or finalizer not in (obj["metadata"].get("finalizers") or []):
        return
    new = clone(obj)
    new["metadata"]["finalizers"] = [f for f in new["metadata"]["finalizers"] if f != finalizer]
    if not new["metadata"]["finalizers"]:
        del new["metadata"]["finalizers"]
        if new["metadata"].get("deletionTimestamp"):
            store.delete(resource, namespace, name)
            return
    store.update(resource, new)

"""VolumeBinding: PersistentVolumeClaims must be bound (Immediate) or bindable on the node (WaitForFirstConsumer)."""
from __future__ import annotations

from typing import Any

from ...objects import annotations_of, clone, meta_of, spec_of, status_of
from ...quantity import memory_bytes
from ..types import (NODE_ADD, NODE_LABEL, SKIP, UNRESOLVABLE, VOLUME_CHANGE, CycleState, NodeInfo, Plugin, PodInfo,
                     Status)
from .helpers import node_selector_matches

NAME = "VolumeBinding"
REASON_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
REASON_NODE_CONFLICT = "node(s) had volume node affinity conflict"
REASON_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"
REASON_PV_NOT_EXIST = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
NO_PROVISIONER = "kubernetes.io/no-provisioner"
SELECTED_NODE_ANNOTATION = "volume.kubernetes.io/selected-node"


def claim_class(pvc: dict) -> str:
    spec = spec_of(pvc)
    ann = annotations_of(pvc)
    return spec.get("storageClassName") or ann.get("volume.beta.kubernetes.io/storage-class") or ""


class State:
    __slots__ = ("store", "bound_pvs", "delayed")

    def __init__(self, store: Any) -> None:
        self.store = store                              # where Filter looks for available PVs
        self.bound_pvs: list[dict | None] = []          # PV per bound claim (None: missing)
        self.delayed: list[tuple[dict, dict]] = []      # (pvc, storage class) waiting for first consumer


def pre_filter(pi: PodInfo, store: Any) -> tuple[State | None, Status | None]:
    """Sort the pod's claims into bound / delayed; unbound Immediate claims make the pod unschedulable."""
    if not pi.pvc_names:
        return None, None
    state = State(store)
    immediate_unbound = False
    for claim in pi.pvc_names:
        pvc = store.find("persistentvolumeclaims", pi.namespace, claim) if store is not None else None
        if pvc is None:
            return None, Status(UNRESOLVABLE, f'persistentvolumeclaim "{claim}" not found', NAME)
        if meta_of(pvc).get("deletionTimestamp"):
            return None, Status(UNRESOLVABLE, f'persistentvolumeclaim "{claim}" is being deleted', NAME)
        volume = spec_of(pvc).get("volumeName")
        if volume:
            state.bound_pvs.append(store.find("persistentvolumes", "", volume))
            continue
        cls_name = claim_class(pvc)
        cls = store.find("storageclasses", "", cls_name) if cls_name else None
        if cls is not None and cls.get("volumeBindingMode") == "WaitForFirstConsumer":
            state.delayed.append((pvc, cls))
        else:
            immediate_unbound = True
    if immediate_unbound:
        return None, Status(UNRESOLVABLE, REASON_UNBOUND_IMMEDIATE, NAME)
    return state, None


def _pv_node_ok(pv: dict, ni: NodeInfo) -> bool:
    required = ((spec_of(pv).get("nodeAffinity") or {}).get("required") or {})
    terms = required.get("nodeSelectorTerms")
    return not terms or node_selector_matches(terms, ni.labels, ni.name)


def _static_pv_available(pvc: dict, cls_name: str, ni: NodeInfo, store: Any) -> bool:
    want = memory_bytes(((spec_of(pvc).get("resources") or {}).get("requests") or {}).get("storage", 0))
    modes = set(spec_of(pvc).get("accessModes") or ())
    for pv in store.list("persistentvolumes"):
        spec = spec_of(pv)
        if spec.get("claimRef") or (spec.get("storageClassName") or "") != cls_name:
            continue
        if status_of(pv).get("phase", "Available") != "Available":
            continue
        if memory_bytes((spec.get("capacity") or {}).get("storage", 0)) < want:
            continue
        if not modes <= set(spec.get("accessModes") or ()):
            continue
        if _pv_node_ok(pv, ni):
            return True
    return False


def filter(pi: PodInfo, ni: NodeInfo, state: State | None, store: Any = None) -> Status | None:
    """Reject nodes a bound PV cannot reach, or where a local (no-provisioner) claim finds no PV."""
    if state is None:
        return None
    if store is None:
        store = state.store
    for pv in state.bound_pvs:
        if pv is None:
            return Status(UNRESOLVABLE, REASON_PV_NOT_EXIST, NAME)
        if not _pv_node_ok(pv, ni):
            return Status(UNRESOLVABLE, REASON_NODE_CONFLICT, NAME)
    for pvc, cls in state.delayed:
        if cls.get("provisioner") == NO_PROVISIONER and store is not None:
            if not _static_pv_available(pvc, meta_of(cls).get("name", ""), ni, store):
                return Status(UNRESOLVABLE, REASON_BIND_CONFLICT, NAME)
    return None


# --------------------------------------------------------------------------- framework hooks
def _pre_filter(pi: PodInfo, snapshot: Any, cycle: CycleState) -> Status | None:
    state, status = pre_filter(pi, snapshot.store)
    if status is not None:
        return status
    if state is None:
        return SKIP
    cycle.data[NAME] = state
    return None


def pre_bind(pi: PodInfo, node: str, api: Any) -> None:
    """Mark WaitForFirstConsumer claims with the chosen node so they can be provisioned there."""
    store = api.store
    for claim in pi.pvc_names:
        pvc = store.find("persistentvolumeclaims", pi.namespace, claim)
        if pvc is None or spec_of(pvc).get("volumeName"):
            continue
        if annotations_of(pvc).get(SELECTED_NODE_ANNOTATION) == node:
            continue
        cls_name = claim_class(pvc)
        cls = store.find("storageclasses", "", cls_name) if cls_name else None
        if cls is None or cls.get("volumeBindingMode") != "WaitForFirstConsumer":
            continue
        new = clone(pvc)
        new["metadata"].setdefault("annotations", {})[SELECTED_NODE_ANNOTATION] = node
        update = getattr(api, "update_internal", None) or api.update
        update(new)


PLUGIN = Plugin(NAME, pre_filter=_pre_filter, filter=filter, pre_bind=pre_bind,
                events=(NODE_ADD, NODE_LABEL, VOLUME_CHANGE))

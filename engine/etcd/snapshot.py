"""Etcd backup and restore: ``etcdctl snapshot save`` / ``snapshot restore`` for the simulated store.

A snapshot is every object plus the store revision at that moment. Losing etcd (the
ControlPlaneChaos action ``etcd-loss``) wipes the store: the API server answers 503, every
controller and the scheduler stop (they cannot read or write), kubelets keep their containers
running but cannot sync. Restoring writes the snapshot back as a diff — objects created since the
backup disappear, objects deleted since come back — through the store, so every watcher (the
dashboard, the components' informers) sees the change, and then the control plane restarts and
reconciles from the restored state, as a real cluster does after ``etcdctl snapshot restore``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..chaos.components import controller_names, hold
from ..objects import clone
from .store import key_of

if TYPE_CHECKING:
    from ..cluster import Cluster

SNAPSHOT_FORMAT = "kubedrill.io/etcd-snapshot/v1"


def take_snapshot(cluster: "Cluster") -> dict:
    """Save every object and the revision (``etcdctl snapshot save``); works while the API is down."""
    objects = [[resource, clone(obj)] for resource, obj in cluster.store.items()]
    return {"format": SNAPSHOT_FORMAT, "revision": cluster.store.revision, "time": cluster.clock.now,
            "objects": objects, "count": len(objects)}


def backup(cluster: "Cluster") -> dict:
    """Take a snapshot and keep it on the cluster (``cluster.etcd_backups``), newest last."""
    snap = take_snapshot(cluster)
    backups = getattr(cluster, "etcd_backups", None)
    if backups is None:
        backups = cluster.etcd_backups = []
    backups.append(snap)
    return snap


def latest_backup(cluster: "Cluster") -> dict | None:
    backups = getattr(cluster, "etcd_backups", None) or []
    return backups[-1] if backups else None


def etcd_lost(cluster: "Cluster") -> bool:
    return bool(getattr(cluster, "etcd_lost_holds", None))


def _outage_holds(cluster: "Cluster") -> list[str]:
    holds = ["apiserver", "events", "scheduler", "kubelets"]
    holds += [f"controller:{c}" for c in controller_names(cluster)]
    if getattr(cluster, "chaos", None) is not None:
        holds.append("chaos")
    return holds


def wipe_store(cluster: "Cluster") -> int:
    """Lose etcd: stop everything that talks to it, then delete every object. Returns objects lost."""
    if not etcd_lost(cluster):
        names = _outage_holds(cluster)
        hold(cluster, names, True)
        cluster.etcd_lost_holds = names
    store = cluster.store
    doomed = [(resource, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
              for resource, obj in store.items()]
    for resource, ns, name in doomed:
        store.delete(resource, ns, name)
    return len(doomed)


def restore_snapshot(cluster: "Cluster", snap: dict) -> dict:
    """Write ``snap`` back into the store (``etcdctl snapshot restore``) and restart the control plane.

    Returns counts of objects created, updated and deleted to match the snapshot.
    """
    if not isinstance(snap, dict) or "objects" not in snap:
        from ..errors import BadRequest
        raise BadRequest("not an etcd snapshot: missing objects")
    store = cluster.store
    wanted: dict[tuple, tuple[str, dict]] = {}
    for resource, obj in snap["objects"]:
        wanted[key_of(resource, obj)] = (resource, obj)
    current = {key_of(resource, obj): obj for resource, obj in store.items()}
    created = updated = deleted = 0
    for key in sorted(set(current) - set(wanted)):
        store.delete(*key)
        deleted += 1
    for key in sorted(wanted):
        resource, obj = wanted[key]
        have = current.get(key)
        if have is None:
            store.create(resource, clone(obj))
            created += 1
        elif _differs(have, obj):
            store.update(resource, clone(obj))
            updated += 1
    holds = getattr(cluster, "etcd_lost_holds", None)
    if holds:
        cluster.etcd_lost_holds = None
        hold(cluster, holds, False)
    _reconnect_kubelets(cluster)
    for controller in list(cluster.controllers.values()):
        resync = getattr(controller, "resync", None)
        if resync is not None:
            resync()
    if hasattr(cluster, "flush"):
        cluster.flush()
    return {"created": created, "updated": updated, "deleted": deleted, "revision": snap.get("revision")}


def _differs(have: dict, want: dict) -> bool:
    a = dict(have, metadata={k: v for k, v in have["metadata"].items() if k != "resourceVersion"})
    b = dict(want, metadata={k: v for k, v in want["metadata"].items() if k != "resourceVersion"})
    return a != b


def _reconnect_kubelets(cluster: "Cluster") -> None:
    # Restored leases and node statuses are as old as the snapshot: live kubelets renew and report
    # at once, and resync their pods against what the store now says.
    for name in sorted(cluster.kubelets):
        kubelet: Any = cluster.kubelets[name]
        if getattr(kubelet, "connected", False):
            kubelet.start_heartbeat()
            kubelet.post_node_status()
        resync = getattr(kubelet, "resync", None)
        if resync is not None:
            resync()

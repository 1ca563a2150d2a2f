"""Etcd backup and restore: ``etcdctl snapshot save`` / ``snapshot restore`` for the simulated store.

A snapshot is every object plus the store revision at that moment. Losing etcd (the
ControlPlaneChaos action ``etcd-loss``) wipes the store. Restoring writes the snapshot back as a
diff — objects created since the backup disappear, objects deleted since come back — through the
store, so every watcher (the dashboard, the components' informers) sees the change. Only the store
is touched here: stopping the components while etcd is lost (engine.chaos) and restarting and
resyncing them after a restore (``Cluster.restore_etcd``) belong to the layers above.
"""
from __future__ import annotations

from ..errors import BadRequest
from ..objects import clone
from .store import Store, key_of

SNAPSHOT_FORMAT = "kubedrill.io/etcd-snapshot/v1"


def take_snapshot(store: Store, now: float) -> dict:
    """Save every object and the revision (``etcdctl snapshot save``) at simulated time ``now``."""
    objects = [[resource, clone(obj)] for resource, obj in store.items()]
    return {"format": SNAPSHOT_FORMAT, "revision": store.revision, "time": now,
            "objects": objects, "count": len(objects)}


def wipe_store(store: Store) -> int:
    """Lose etcd: delete every object. Returns how many were lost."""
    doomed = [(resource, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
              for resource, obj in store.items()]
    for resource, ns, name in doomed:
        store.delete(resource, ns, name)
    return len(doomed)


def restore_snapshot(store: Store, snap: dict) -> dict:
    """Write ``snap`` back into ``store`` as a diff (``etcdctl snapshot restore``).

    Returns counts of objects created, updated and deleted to match the snapshot, and its revision.
    """
    if not isinstance(snap, dict) or "objects" not in snap:
        raise BadRequest("not an etcd snapshot: missing objects")
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
    return {"created": created, "updated": updated, "deleted": deleted, "revision": snap.get("revision")}


def _differs(have: dict, want: dict) -> bool:
    a = dict(have, metadata={k: v for k, v in have["metadata"].items() if k != "resourceVersion"})
    b = dict(want, metadata={k: v for k, v in want["metadata"].items() if k != "resourceVersion"})
    return a != b

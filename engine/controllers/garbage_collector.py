"""Garbage collector: ownerReferences with Background, Foreground and Orphan propagation.

After ``pkg/controller/garbagecollector``: a dependent all of whose owners are gone is deleted
(background); an owner being deleted with the ``orphan`` finalizer first has its ownerReference
removed from every dependent; one with ``foregroundDeletion`` first deletes its dependents and
disappears only when none with ``blockOwnerDeletion`` remains.

Owners are found as upstream's ``isDangling`` finds them: by the reference's kind and name (in the
dependent's namespace, or cluster-wide for a cluster-scoped kind), then compared by uid, so an
owner deleted and re-created under the same name is not mistaken for the old one.
"""
from __future__ import annotations

from ..apiserver.resources import by_kind, by_kind_name
from ..client.workqueue import Controller
from ..etcd.store import ADDED, DELETED, Event, Key
from ..objects import clone


def owner_key(ref: dict, namespace: str) -> Key | None:
    """Where the owner named by ``ref`` lives, for a dependent in ``namespace``; None for an unknown kind."""
    kind = ref.get("kind", "")
    rt = by_kind(ref.get("apiVersion", ""), kind)
    if rt is None:
        # Another version of a known group/kind names the same object (apps/v1beta2 ReplicaSet).
        rt = by_kind_name(kind)
        if rt is None or ref.get("apiVersion", "").rpartition("/")[0] != rt.group:
            return None
    return (rt.plural, namespace if rt.namespaced else "", ref.get("name", ""))


class GarbageCollector(Controller):
    name = "garbage-collector"

    def __init__(self, api, clock):
        super().__init__(api, clock)
        self.store.subscribe(self.on_event)

    def on_event(self, ev: Event) -> None:
        meta = ev.obj["metadata"]
        uid = meta.get("uid", "")
        refs = meta.get("ownerReferences")
        if ev.type == DELETED:
            if self.store.has_dependents(uid):
                self.queue.add(("owner-gone", uid))
            ns = meta.get("namespace") or ""
            for ref in refs or ():
                key = owner_key(ref, ns)
                if key is not None:
                    self.queue.add(("owner", key))
            return
        if refs and (ev.type == ADDED or (ev.old is not None and ev.old["metadata"].get("ownerReferences") != refs)):
            self.queue.add(("dep", ev.key))
        if meta.get("deletionTimestamp") and any(f in ("orphan", "foregroundDeletion")
                                                 for f in meta.get("finalizers") or ()):
            self.queue.add(("owner", ev.key))

    def sync(self, key) -> None:
        kind, what = key
        if kind == "dep":
            self._sync_dependent(what)
        elif kind == "owner-gone":
            for dep_key in self.store.owned_keys(what):
                self._sync_dependent(dep_key)
        else:
            self._sync_owner(what)

    def _sync_dependent(self, key) -> None:
        obj = self.store.find(*key)
        if obj is None:
            return
        refs = obj["metadata"].get("ownerReferences") or []
        if not refs:
            return
        alive = []
        foreground_owner = False
        for ref in refs:
            owner = self.owner(ref, key[1])
            if owner is not None:
                alive.append(ref)
                om = owner["metadata"]
                if om.get("deletionTimestamp") and "foregroundDeletion" in (om.get("finalizers") or ()):
                    foreground_owner = True
        if not alive:
            if not obj["metadata"].get("deletionTimestamp"):
                self.api.delete_internal(key[0], key[1], key[2], propagation="Background",
                                         uid=obj["metadata"].get("uid"))
            return
        if foreground_owner and len(alive) == len(refs) and not obj["metadata"].get("deletionTimestamp"):
            self.api.delete_internal(key[0], key[1], key[2], propagation="Foreground", uid=obj["metadata"].get("uid"))
            return
        if len(alive) != len(refs):
            new = clone(obj)
            new["metadata"]["ownerReferences"] = alive
            self.api.update_internal(new)

    def owner(self, ref: dict, namespace: str) -> dict | None:
        """The live owner ``ref`` names (same uid), or None if it is gone."""
        key = owner_key(ref, namespace)
        owner = self.store.find(*key) if key is not None else None
        if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
            return None
        return owner

    def _sync_owner(self, key: Key) -> None:
        owner = self.store.find(*key)
        if owner is None:
            return
        meta = owner["metadata"]
        uid = meta.get("uid", "")
        if not meta.get("deletionTimestamp"):
            return
        finalizers = meta.get("finalizers") or []
        resource = self._resource_of(owner)
        ns, name = meta.get("namespace", ""), meta["name"]
        if "orphan" in finalizers:
            for dep in self.store.owned_by(uid):
                new = clone(dep)
                new["metadata"]["ownerReferences"] = [r for r in new["metadata"]["ownerReferences"]
                                                      if r.get("uid") != uid]
                if not new["metadata"]["ownerReferences"]:
                    del new["metadata"]["ownerReferences"]
                self.api.update_internal(new)
            self.api.remove_finalizer(resource, ns, name, "orphan")
            return
        if "foregroundDeletion" in finalizers:
            blocking = 0
            for dep in self.store.owned_by(uid):
                dmeta = dep["metadata"]
                ref = next((r for r in dmeta.get("ownerReferences") or () if r.get("uid") == uid), {})
                if ref.get("blockOwnerDeletion"):
                    blocking += 1
                if not dmeta.get("deletionTimestamp"):
                    rt = self._resource_of(dep)
                    self.api.delete_internal(rt, dmeta.get("namespace", ""), dmeta["name"], propagation="Foreground",
                                             uid=dmeta.get("uid"))
            if blocking == 0:
                self.api.remove_finalizer(resource, ns, name, "foregroundDeletion")

    def _resource_of(self, obj: dict) -> str:
        rt = by_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
        return rt.plural if rt else ""

"""Garbage collector: ownerReferences with Background, Foreground and Orphan propagation.

After ``pkg/controller/garbagecollector``: a dependent all of whose owners are gone is deleted
(background); an owner being deleted with the ``orphan`` finalizer first has its ownerReference
removed from every dependent; one with ``foregroundDeletion`` first deletes its dependents and
disappears only when none with ``blockOwnerDeletion`` remains.
"""
from __future__ import annotations

from ..objects import clone
from ..store import ADDED, DELETED, Event
from .base import Controller


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
            if self.store._by_owner.get(uid):
                self.queue.add(("owner-gone", uid))
            for ref in refs or ():
                self.queue.add(("owner", ref.get("uid", "")))
            return
        if refs and (ev.type == ADDED or (ev.old is not None and ev.old["metadata"].get("ownerReferences") != refs)):
            self.queue.add(("dep", ev.key))
        if meta.get("deletionTimestamp") and any(f in ("orphan", "foregroundDeletion") for f in meta.get("finalizers") or ()):
            self.queue.add(("owner", uid))

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
            owner = self.store.by_uid(ref.get("uid", ""))
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

    def _sync_owner(self, uid: str) -> None:
        owner = self.store.by_uid(uid)
        if owner is None:
            return
        meta = owner["metadata"]
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
        from ..resources import by_kind
        rt = by_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
        return rt.plural if rt else ""

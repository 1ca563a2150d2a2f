"""Namespace controller: a deleted namespace is Terminating until everything in it is gone."""
from __future__ import annotations

from ..apiserver import resources
from ..client.workqueue import Controller
from ..etcd.store import DELETED, Event


class NamespaceController(Controller):
    name = "namespace-controller"

    def __init__(self, api, clock):
        super().__init__(api, clock)
        self.store.subscribe(self.on_event)

    def on_event(self, ev: Event) -> None:
        if ev.resource == "namespaces":
            if ev.type != DELETED and ev.obj["metadata"].get("deletionTimestamp"):
                self.queue.add(ev.obj["metadata"]["name"])
        elif ev.type == DELETED:
            ns = ev.obj["metadata"].get("namespace")
            if ns:
                owner = self.store.find("namespaces", "", ns)
                if owner is not None and owner["metadata"].get("deletionTimestamp"):
                    self.queue.add(ns)

    def sync(self, ns: str) -> None:
        namespace = self.store.find("namespaces", "", ns)
        if namespace is None or not namespace["metadata"].get("deletionTimestamp"):
            return
        namespaced = [rt.plural for rt in resources.RESOURCES if rt.namespaced]
        for plural in namespaced:
            for obj in self.store.list(plural, ns):
                if not obj["metadata"].get("deletionTimestamp"):
                    self.api.delete_internal(plural, ns, obj["metadata"]["name"], propagation="Background")
        if not any(self.store.list(plural, ns) for plural in namespaced):
            self.store.delete("namespaces", "", ns)

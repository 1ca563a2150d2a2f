"""Composition root: wires clock, store, API server, persistence, controllers and kubelets.

Holds no Kubernetes rules of its own; the action methods (what the dashboard's buttons do) are
thin calls into the API server or the fault table.
"""
from __future__ import annotations

from typing import Any

from .apiserver.resources import by_kind_name
from .apiserver.server import APIServer, ensure_namespaces
from .clock import Clock, parse_rfc3339
from .errors import BadRequest, NotFound
from .etcd.store import ADDED, DELETED, MODIFIED, Event, Store
from .objects import spec_of
from .profile import get_profile


class Cluster:
    """One simulated Kubernetes cluster."""

    def __init__(self, seed: int = 0, profile: str = "demo", store_url: str | None = None, nodes: int = 3,
                 empty: bool = False, window: int = 100_000, bootstrap: bool = True, start: float = 0.0,
                 fresh: bool = False):
        """``start`` is the simulated time a new cluster begins at (seconds after engine.clock's epoch):
        the web layer passes "now" so timestamps read as today's date for kubectl; tests keep 0.
        ``fresh`` empties the database first instead of resuming what it holds."""
        self.seed = seed
        self.profile = get_profile(profile)
        self.clock = Clock(seed, start=start)
        self.store = Store(window=window)
        self.persistence = None
        restored = False
        if store_url:
            from .etcd.persistence import SqlPersistence
            self.persistence = SqlPersistence(store_url)
            if fresh:
                self.persistence.clear()
            revision, objects = self.persistence.load()
            if objects:
                self.store.restore(objects, revision)
                self.clock.now = self.persistence.sim_now
                restored = True
            self.persistence.attach(self.store)  # the change log (event timeline and replay)
        self.api = APIServer(self.store, self.clock, self.profile)
        self.controllers: dict[str, Any] = {}
        self.kubelets: dict[str, Any] = {}
        self._wire()
        self.restored = restored
        if not restored:
            ensure_namespaces(self.api)
            if bootstrap:
                from .bootstrap import bootstrap_cluster
                bootstrap_cluster(self, workers=nodes, demo=not empty)
        else:
            self._resume()
        self.flush()

    # ------------------------------------------------------------------ wiring
    def _wire(self) -> None:
        from .wiring import wire
        wire(self)

    def _resume(self) -> None:
        """After a restart, let every component catch up with what the store holds."""
        for component in list(self.controllers.values()):
            resync = getattr(component, "resync", None)
            if resync is not None:
                resync()
        from .bootstrap import resume_kubelets
        resume_kubelets(self)

    # ------------------------------------------------------------------ time
    def step(self) -> bool:
        ran = self.clock.step()
        self.flush()
        return ran

    def run_until(self, t: float) -> int:
        ran = self.clock.run_until(t)
        self.flush()
        return ran

    def run_for(self, dt: float) -> int:
        return self.run_until(self.clock.now + dt)

    @property
    def now(self) -> float:
        return self.clock.now

    @property
    def started(self) -> float:
        """Simulated time the cluster was created (the default namespace's birth)."""
        ns = self.store.find("namespaces", "", "default")
        return parse_rfc3339(ns["metadata"]["creationTimestamp"]) if ns else 0.0

    def catch_up(self, since: int) -> list[Event] | None:
        """Every change after ``since`` as events, also across a restart; None if that cannot be told.

        After a restart the history window starts at the restored revision, so a client that saw
        revision ``since`` before it would have to resync. The persisted change log still says which
        objects changed up to the restart: each becomes one event carrying its current state (or a
        DELETED stub naming it), followed by the window's own events -- the same folded picture a
        live delta gives. None without a database, or if the log has a gap (retention).
        """
        boundary = self.store.compacted          # revisions up to here are only in the change log
        if self.persistence is None or not 0 <= since < boundary or since > self.store.revision:
            return None
        rows = self.persistence.changes_since(since, limit=boundary - since)
        if len(rows) != boundary - since or rows[0][0] != since + 1 or rows[-1][0] != boundary:
            return None
        first: dict[tuple[str, str, str], str] = {}
        for _rv, kind, resource, namespace, name in rows:
            first.setdefault((resource, namespace, name), kind)
        events = []
        for (resource, namespace, name), kind in first.items():
            obj = self.store.find(resource, namespace, name)
            if obj is not None:
                events.append(Event(ADDED if kind == ADDED else MODIFIED, resource, obj,
                                    int(obj["metadata"]["resourceVersion"])))
            elif kind != ADDED:                  # existed before ``since``: the client must drop it
                meta = {"name": name, **({"namespace": namespace} if namespace else {})}
                events.append(Event(DELETED, resource, {"metadata": meta}, boundary))
        return events + list(self.store.events_since(boundary))

    def flush(self) -> None:
        """Group commit: everything written since the last flush, in one transaction."""
        if self.persistence is None:
            self.store.take_dirty()
            return
        dirty = self.store.take_dirty()
        if dirty:
            try:
                self.persistence.commit(self.store.revision, dirty, sim_now=self.clock.now)
            except Exception:
                self.store.requeue_dirty(dirty)  # nothing is lost: the next flush retries these keys
                raise

    def close(self) -> None:
        self.flush()
        if self.persistence is not None:
            self.persistence.close()

    # ------------------------------------------------------------------ manifests
    def apply(self, source: Any, *, namespace: str | None = None) -> list[dict]:
        """Create or update every object in a manifest (YAML/JSON text, a dict, or dicts)."""
        out = self.api.apply_manifest(source, namespace=namespace)
        self.flush()
        return out

    # ------------------------------------------------------------------ actions (dashboard buttons)
    def delete_pod(self, namespace: str, name: str, force: bool = False) -> dict:
        return self.api.delete("pods", namespace, name, grace_period=0 if force else None)

    def crash_container(self, namespace: str, name: str) -> dict:
        return self._kubelet_for(namespace, name).crash_container(namespace, name)

    def set_readiness_failing(self, namespace: str, name: str, failing: bool) -> dict:
        return self._kubelet_for(namespace, name).set_readiness_failing(namespace, name, failing)

    def power_off_node(self, name: str) -> dict:
        return self._kubelet(name).power_off()

    def power_on_node(self, name: str) -> dict:
        return self._kubelet(name).power_on()

    def cordon(self, name: str, unschedulable: bool = True) -> dict:
        body = {"spec": {"unschedulable": True if unschedulable else None}}
        return self.api.patch("nodes", None, name, body, "strategic")

    def drain(self, name: str) -> dict:
        """Cordon, then evict every pod but DaemonSet pods (``kubectl drain --ignore-daemonsets``)."""
        self.cordon(name, True)
        evicted, blocked = [], []
        from .errors import TooManyRequests
        for pod in self.store.pods_on_node(name):
            meta = pod["metadata"]
            owner = next((r for r in meta.get("ownerReferences") or () if r.get("controller")), None)
            if owner and owner.get("kind") == "DaemonSet":
                continue
            if meta.get("annotations", {}).get("kubernetes.io/config.mirror"):
                continue
            try:
                self.api.evict(meta.get("namespace", ""), meta["name"])
                evicted.append(f"{meta.get('namespace', '')}/{meta['name']}")
            except TooManyRequests as err:
                blocked.append({"pod": f"{meta.get('namespace', '')}/{meta['name']}", "reason": err.message})
        return {"node": name, "evicted": evicted, "blocked": blocked}

    def scale(self, kind: str, namespace: str, name: str, replicas: int) -> dict:
        rt = self._workload(kind)
        return self.api.update_scale(rt.plural, namespace, name, {"spec": {"replicas": replicas}})

    def set_image(self, kind: str, namespace: str, name: str, image: str, container: str | None = None) -> dict:
        rt = self._workload(kind)
        obj = self.api.get(rt.plural, namespace, name)
        containers = obj["spec"]["template"]["spec"]["containers"]
        target = container or containers[0]["name"]
        if not any(c["name"] == target for c in containers):
            raise NotFound(f'container "{target}" not found in {rt.kind} "{name}"', name=name, kind=rt.plural)
        patch = {"spec": {"template": {"spec": {"containers": [{"name": target, "image": image}]}}}}
        return self.api.patch(rt.plural, namespace, name, patch, "strategic")

    def rollback(self, kind: str, namespace: str, name: str, revision: int | None = None) -> dict:
        from .controllers.rollback import rollback
        return rollback(self, self._workload(kind).kind, namespace, name, revision)

    def delete_object(self, resource: str, namespace: str | None, name: str) -> dict:
        return self.api.delete(resource, namespace, name, propagation="Background")

    def profile_values(self) -> dict:
        return self.profile.values()

    def pod_logs(self, namespace: str, name: str, container: str | None = None, previous: bool = False,
                 tail_lines: int | None = None) -> str:
        from .kubelet.logs import pod_logs
        return pod_logs(self, namespace, name, container, previous, tail_lines)

    # ------------------------------------------------------------------ helpers
    def _workload(self, kind: str):
        rt = by_kind_name(kind) if isinstance(kind, str) else None
        if rt is None or rt.kind not in ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet"):
            raise BadRequest(f'unsupported workload kind "{kind}": supported values: "Deployment", "StatefulSet", '
                             '"ReplicaSet"')
        return rt

    def _kubelet(self, node: str):
        kubelet = self.kubelets.get(node)
        if kubelet is None:
            raise NotFound.of("nodes", "", node)
        return kubelet

    def _kubelet_for(self, namespace: str, name: str):
        pod = self.api.get("pods", namespace, name)
        node = spec_of(pod).get("nodeName")
        if not node:
            raise BadRequest(f'pod "{name}" is not running on a node yet')
        return self._kubelet(node)

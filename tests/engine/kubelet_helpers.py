"""Shared set-up for the kubelet and node lifecycle tests: a cluster with kubelets w1, w2."""
from __future__ import annotations

from engine.cluster import Cluster


def make_cluster(profile: str = "kubernetes", nodes: tuple[str, ...] = ("w1", "w2")) -> Cluster:
    """A cluster without demo workloads whose kubelets and node lifecycle controller are running."""
    cluster = Cluster(seed=1, profile=profile, nodes=0, empty=True, bootstrap=False)
    manager = cluster.kubelet_manager
    for name in nodes:
        if name not in manager.kubelets:
            manager.add_node(name)
    cluster.run_for(0.001)
    return cluster


def pod(name: str, node: str = "w1", **spec) -> dict:
    containers = spec.pop("containers", None) or [{"name": "app", "image": "nginx:1.27"}]
    annotations = spec.pop("annotations", None)
    meta = {"name": name, "namespace": "default", "labels": {"app": name}}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"nodeName": node, "containers": containers, **spec}}


def get(cluster: Cluster, name: str) -> dict:
    return cluster.api.get("pods", "default", name)


class Recorder:
    """Every Event write (new or aggregated repeat), in order, with the simulated time it happened."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.rows: list[tuple[float, str, str, str, str]] = []
        cluster.store.subscribe(self._on)

    def _on(self, ev) -> None:
        if ev.resource == "events" and ev.type in ("ADDED", "MODIFIED"):
            obj = ev.obj
            self.rows.append((self.cluster.clock.now, obj["involvedObject"].get("name", ""), obj["reason"],
                              obj["message"], obj["source"].get("component", "")))

    def of(self, name: str) -> list[tuple[float, str, str]]:
        return [(t, reason, message) for t, n, reason, message, _ in self.rows if n == name]

    def reasons(self, name: str) -> list[str]:
        return [reason for _, reason, _ in self.of(name)]


def condition(obj: dict, ctype: str) -> str | None:
    for c in (obj.get("status") or {}).get("conditions") or ():
        if c["type"] == ctype:
            return c["status"]
    return None


def kubectl_status(p: dict) -> str:
    """The STATUS column of ``kubectl get pods`` (printPod), enough for these tests."""
    status = p.get("status") or {}
    inits = status.get("initContainerStatuses") or []
    for i, cs in enumerate(inits):
        term = (cs.get("state") or {}).get("terminated")
        if term and term.get("exitCode") == 0:
            continue
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason") not in (None, "PodInitializing"):
            return "Init:" + waiting["reason"]
        return f"Init:{i}/{len(inits)}"
    reason = status.get("phase", "")
    for cs in reversed(status.get("containerStatuses") or []):
        state = cs.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated", {}).get("reason"):
            reason = state["terminated"]["reason"]
    if p["metadata"].get("deletionTimestamp"):
        return "Terminating"
    return reason

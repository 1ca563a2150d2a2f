"""Helpers for scenario tests: advance simulated time until something holds."""
from __future__ import annotations

from typing import Callable

from engine.cluster import Cluster
from engine.objects import is_pod_active, pod_ready


def run_until(cluster: Cluster, predicate: Callable[[], bool], limit: float = 600.0) -> float:
    """Step the clock until ``predicate()`` holds; return the simulated time. Fails after ``limit`` sim seconds."""
    deadline = cluster.clock.now + limit
    while not predicate():
        nxt = cluster.clock.peek()
        if nxt is None or nxt > deadline:
            raise AssertionError(f"condition not met within {limit} simulated seconds (now {cluster.clock.now:.1f})")
        cluster.step()
    return cluster.clock.now


def pods(cluster: Cluster, selector: str, namespace: str = "default") -> list[dict]:
    items, _, _ = cluster.api.list("pods", namespace, label_selector=selector)
    return items


def active(cluster: Cluster, selector: str, namespace: str = "default") -> list[dict]:
    return [p for p in pods(cluster, selector, namespace) if is_pod_active(p)]


def running_ready(cluster: Cluster, selector: str, namespace: str = "default") -> list[dict]:
    return [p for p in active(cluster, selector, namespace)
            if p.get("status", {}).get("phase") == "Running" and pod_ready(p)]


def events(cluster: Cluster, reason: str | None = None, name: str | None = None) -> list[dict]:
    out = []
    for ev in cluster.store.list("events"):
        if reason is not None and ev["reason"] != reason:
            continue
        if name is not None and ev["involvedObject"].get("name") != name:
            continue
        out.append(ev)
    return sorted(out, key=lambda e: int(e["metadata"]["resourceVersion"]))


def deployment(name: str, replicas: int, image: str = "nginx:1.27", labels: dict | None = None,
               strategy: dict | None = None, cpu: str = "100m") -> dict:
    labels = labels or {"app": name}
    spec: dict = {"replicas": replicas, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels},
                               "spec": {"containers": [{"name": "app", "image": image,
                                                        "resources": {"requests": {"cpu": cpu}}}]}}}
    if strategy:
        spec["strategy"] = strategy
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": spec}


def replicaset(name: str, replicas: int, labels: dict | None = None) -> dict:
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}}

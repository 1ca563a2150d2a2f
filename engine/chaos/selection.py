"""Which objects a chaos experiment hits: selectors, then the mode, drawn from the seeded rng.

Candidates are sorted by namespace and name before the draw, so a seed always picks the same
targets. The modes and their arithmetic follow Chaos Mesh's ``pkg/selector/pod`` (``one``, ``all``,
``fixed``, ``fixed-percent``, ``random-max-percent``: floor of count × percent / 100).
"""
from __future__ import annotations

import math
import random

from ..etcd.store import Store
from ..objects import labels_of, spec_of, status_of
from ..selectors import LabelSelector
from .kinds import percent

CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"


def _labels(labels: dict | None) -> LabelSelector:
    # An empty labelSelectors means "no label condition" (unlike a Service's empty selector).
    return LabelSelector.from_labels(labels) if labels else LabelSelector()


def pod_candidates(store: Store, spec: dict) -> list[dict]:
    """Pods the selector matches that are running on a node and not already being deleted."""
    selector = spec.get("selector") or {}
    labels = _labels(selector.get("labelSelectors"))
    found: dict[tuple[str, str], dict] = {}
    for ns, names in sorted((selector.get("pods") or {}).items()):
        for name in names:
            pod = store.find("pods", ns, name)
            if pod is not None and labels.matches(labels_of(pod)):
                found[(ns, name)] = pod
    if not selector.get("pods"):
        for ns in sorted(set(selector.get("namespaces") or ())):
            for pod in store.list("pods", ns, labels):
                found[(ns, pod["metadata"]["name"])] = pod
    out = []
    for key in sorted(found):
        pod = found[key]
        if pod["metadata"].get("deletionTimestamp") or not spec_of(pod).get("nodeName"):
            continue
        if status_of(pod).get("phase") in ("Succeeded", "Failed"):
            continue
        out.append(pod)
    return out


def node_candidates(store: Store, spec: dict) -> list[dict]:
    """Nodes the selector matches; with no selector, every worker (the control plane is spared)."""
    selector = spec.get("selector") or {}
    labels = _labels(selector.get("labelSelectors"))
    names = selector.get("nodes")
    if selector.get("pods"):
        # Kubedrill extension: "the node running these pods" (e.g. whichever node hosts sql-1).
        hosts = [p["spec"].get("nodeName") for p in pod_candidates(store, {"selector": selector})]
        names = sorted({h for h in hosts if h})
        if not names:
            return []
    out = []
    for node in store.list("nodes", None, labels):
        name = node["metadata"]["name"]
        if names:
            if name not in names:
                continue
        elif not selector.get("labelSelectors") and CONTROL_PLANE_LABEL in labels_of(node):
            continue
        out.append(node)
    return sorted(out, key=lambda n: n["metadata"]["name"])


def choose(candidates: list, mode: str, value: object, rng: random.Random) -> list:
    """Pick targets from ``candidates`` (already sorted) by ``mode``; the result keeps their order."""
    if not candidates:
        return []
    count = len(candidates)
    if mode == "all":
        return list(candidates)
    if mode == "one":
        return [candidates[rng.randrange(count)]]
    number = percent(value) or 0
    if mode == "fixed":
        want = min(number, count)
    elif mode == "fixed-percent":
        want = int(math.floor(count * number / 100))
    elif mode == "random-max-percent":
        # [0, max] inclusive, as Chaos Mesh draws it (rand.Intn(max + 1)).
        want = int(math.floor(count * rng.randrange(number + 1) / 100))
    else:
        raise ValueError(f"unknown mode {mode!r}")
    picked = sorted(rng.sample(range(count), want))
    return [candidates[i] for i in picked]

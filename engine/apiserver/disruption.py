"""PodDisruptionBudgets: may this pod be evicted now? (the eviction subresource's check).

The real disruption controller keeps ``status.disruptionsAllowed`` up to date; we compute the same
numbers on demand from the store, which is cheap (a label-indexed list) and never stale.
"""
from __future__ import annotations

import math

from ..etcd.store import Store
from ..objects import labels_of, pod_ready, spec_of, status_of
from ..selectors import LabelSelector


def _resolve(value, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        frac = int(value[:-1]) * total / 100
        return math.ceil(frac) if round_up else math.floor(frac)
    return int(value)


def budget_numbers(store: Store, pdb: dict) -> dict:
    """``currentHealthy``, ``desiredHealthy``, ``expectedPods``, ``disruptionsAllowed`` for a PDB."""
    spec = spec_of(pdb)
    selector = LabelSelector.from_dict(spec.get("selector") if spec.get("selector") is not None else {})
    ns = pdb["metadata"].get("namespace", "")
    pods = [p for p in store.list("pods", ns, selector)
            if not p["metadata"].get("deletionTimestamp")
            and status_of(p).get("phase") not in ("Succeeded", "Failed")]
    expected = len(pods)
    healthy = sum(1 for p in pods if pod_ready(p))
    if spec.get("minAvailable") is not None:
        desired = _resolve(spec["minAvailable"], expected, round_up=True)
    elif spec.get("maxUnavailable") is not None:
        desired = max(0, expected - _resolve(spec["maxUnavailable"], expected, round_up=True))
    else:
        desired = expected
    return {"currentHealthy": healthy, "desiredHealthy": desired, "expectedPods": expected,
            "disruptionsAllowed": max(0, healthy - desired)}


def blocking_budget(store: Store, pod: dict) -> tuple[dict, str] | None:
    """The first PDB that forbids evicting ``pod``, with the reason; None when eviction is allowed."""
    ns = pod["metadata"].get("namespace", "")
    labels = labels_of(pod)
    for pdb in store.list("poddisruptionbudgets", ns):
        sel = spec_of(pdb).get("selector")
        if sel is None or not LabelSelector.from_dict(sel).matches(labels):
            continue
        if not pod_ready(pod):
            continue  # an unhealthy pod may always be evicted (IfHealthyBudget semantics)
        n = budget_numbers(store, pdb)
        if n["disruptionsAllowed"] < 1:
            name = pdb["metadata"]["name"]
            return pdb, (f"The disruption budget {name} needs {n['desiredHealthy']} healthy pods and has "
                         f"{n['currentHealthy']} currently")
    return None

"""Taints and tolerations, as upstream's component-helpers/scheduling/corev1 and v1helper.

Shared by the scheduler (TaintToleration, PodTopologySpread), the DaemonSet controller (which pods a
node should run) and the node lifecycle controller (NoExecute eviction).
"""
from __future__ import annotations

from typing import Any, Mapping


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """Whether one toleration matches one taint (``Toleration.ToleratesTaint``)."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True
    if op == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def untolerated_taint(tolerations: tuple, taints: tuple) -> Mapping[str, Any] | None:
    """The first taint no toleration matches (``FindMatchingUntoleratedTaint``)."""
    for taint in taints:
        if not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None

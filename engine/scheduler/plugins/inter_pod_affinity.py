"""InterPodAffinity: required/preferred pod affinity and anti-affinity over a topologyKey.

Filter order as upstream: the pod's affinity, then its anti-affinity, then existing pods'
anti-affinity towards it. Scoring adds preferred-term weights (and existing pods' required
affinity at hardPodAffinityWeight 1) per topology domain, then min-max normalises.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from ..types import MAX_NODE_SCORE, UNRESOLVABLE, UNSCHEDULABLE, AffinityTerm, NodeInfo, PodInfo, Status

NAME = "InterPodAffinity"
WEIGHT = 2
HARD_POD_AFFINITY_WEIGHT = 1
REASON_AFFINITY = "node(s) didn't match pod affinity rules"
REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
_FAIL_AFFINITY = Status(UNRESOLVABLE, REASON_AFFINITY, NAME)
_FAIL_ANTI = Status(UNSCHEDULABLE, REASON_ANTI_AFFINITY, NAME)
_FAIL_EXISTING = Status(UNSCHEDULABLE, REASON_EXISTING_ANTI_AFFINITY, NAME)

Pair = tuple[str, str]


def _candidates(snapshot: Any, terms: Iterable[AffinityTerm]) -> Iterable[PodInfo]:
    """Existing pods that could match ``terms``: their namespaces only, unless a term uses a namespaceSelector."""
    terms = list(terms)
    if any(t.namespace_selector is not None for t in terms):
        return snapshot.all_pods()
    namespaces = sorted(set().union(*(t.namespaces for t in terms))) if terms else []
    return [p for ns in namespaces for p in snapshot.pods_in_namespace(ns)]


class FilterState:
    __slots__ = ("existing_anti", "affinity", "anti", "self_match")

    def __init__(self) -> None:
        self.existing_anti: dict[Pair, int] = {}
        self.affinity: dict[Pair, int] = {}
        self.anti: dict[Pair, int] = {}
        self.self_match = False


def pre_filter(pi: PodInfo, snapshot: Any) -> FilterState | None:
    """Count, per topology pair, the pods the terms select (None when nothing can reject a node)."""
    anti_pods = snapshot.anti_affinity_pods()
    if not pi.required_affinity and not pi.required_anti_affinity and not anti_pods:
        return None
    ns_labels = snapshot.namespace_labels
    state = FilterState()
    for p in anti_pods:
        node = snapshot.node_infos.get(p.node_name)
        if node is None or node.node is None:
            continue
        for term in p.required_anti_affinity:
            value = node.labels.get(term.topology_key)
            if value is not None and term.matches(pi, ns_labels):
                pair = (term.topology_key, value)
                state.existing_anti[pair] = state.existing_anti.get(pair, 0) + 1
    if pi.required_affinity or pi.required_anti_affinity:
        for p in _candidates(snapshot, pi.required_affinity + pi.required_anti_affinity):
            node = snapshot.node_infos.get(p.node_name)
            if node is None or node.node is None:
                continue
            labels = node.labels
            if pi.required_affinity and all(t.matches(p, ns_labels) for t in pi.required_affinity):
                for t in pi.required_affinity:
                    value = labels.get(t.topology_key)
                    if value is not None:
                        pair = (t.topology_key, value)
                        state.affinity[pair] = state.affinity.get(pair, 0) + 1
            for t in pi.required_anti_affinity:
                value = labels.get(t.topology_key)
                if value is not None and t.matches(p, ns_labels):
                    pair = (t.topology_key, value)
                    state.anti[pair] = state.anti.get(pair, 0) + 1
    state.self_match = bool(pi.required_affinity) and all(t.matches(pi, ns_labels) for t in pi.required_affinity)
    return state


def filter(pi: PodInfo, ni: NodeInfo, state: FilterState | None) -> Status | None:
    """Reject nodes that break the pod's affinity, its anti-affinity, or existing pods' anti-affinity."""
    if state is None:
        return None
    labels = ni.labels
    if pi.required_affinity:
        pods_exist = True
        for t in pi.required_affinity:
            value = labels.get(t.topology_key)
            if value is None:
                return _FAIL_AFFINITY
            if state.affinity.get((t.topology_key, value), 0) <= 0:
                pods_exist = False
        # The first pod of a group that has affinity to itself may go anywhere with the topology labels.
        if not pods_exist and not (not state.affinity and state.self_match):
            return _FAIL_AFFINITY
    if state.anti:
        for t in pi.required_anti_affinity:
            value = labels.get(t.topology_key)
            if value is not None and state.anti.get((t.topology_key, value), 0) > 0:
                return _FAIL_ANTI
    if state.existing_anti:
        for pair in labels.items():
            if state.existing_anti.get(pair, 0) > 0:
                return _FAIL_EXISTING
    return None


# --------------------------------------------------------------------------- score
def pre_score(pi: PodInfo, snapshot: Any) -> dict[str, dict[str, int]] | None:
    """Weights per topology key and value (None: skipped, nothing to prefer)."""
    has_constraints = bool(pi.preferred_affinity or pi.preferred_anti_affinity)
    existing = snapshot.all_pods() if has_constraints else snapshot.affinity_pods()
    ns_labels = snapshot.namespace_labels
    scores: dict[str, dict[str, int]] = {}

    def add(labels: Mapping[str, str], key: str, weight: int) -> None:
        value = labels.get(key)
        if value is not None:
            bucket = scores.setdefault(key, {})
            bucket[value] = bucket.get(value, 0) + weight

    for p in existing:
        node = snapshot.node_infos.get(p.node_name)
        if node is None or node.node is None:
            continue
        labels = node.labels
        for t in pi.preferred_affinity:
            if t.matches(p, ns_labels):
                add(labels, t.topology_key, t.weight)
        for t in pi.preferred_anti_affinity:
            if t.matches(p, ns_labels):
                add(labels, t.topology_key, -t.weight)
        for t in p.required_affinity:
            if t.matches(pi, ns_labels):
                add(labels, t.topology_key, HARD_POD_AFFINITY_WEIGHT)
        for t in p.preferred_affinity:
            if t.matches(pi, ns_labels):
                add(labels, t.topology_key, t.weight)
        for t in p.preferred_anti_affinity:
            if t.matches(pi, ns_labels):
                add(labels, t.topology_key, -t.weight)
    return scores or None


def score(pi: PodInfo, ni: NodeInfo, state: dict[str, dict[str, int]]) -> int:
    total = 0
    for key, values in state.items():
        value = ni.labels.get(key)
        if value is not None:
            total += values.get(value, 0)
    return total


def normalize(scores: list[int]) -> list[int]:
    """Min-max scale to 0..100."""
    if not scores:
        return scores
    lo, hi = min(scores), max(scores)
    diff = hi - lo
    if diff <= 0:
        return [0] * len(scores)
    return [int(MAX_NODE_SCORE * ((s - lo) / diff)) for s in scores]

"""InterPodAffinity: required/preferred pod affinity and anti-affinity over a topologyKey.

Filter order as upstream: the pod's affinity, then its anti-affinity, then existing pods'
anti-affinity towards it. Scoring adds preferred-term weights (and existing pods' required
affinity at hardPodAffinityWeight 1) per topology domain, then min-max normalises.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping

from ..types import (AffinityTerm, keep_pre_filter_state, MAX_NODE_SCORE, NAMESPACE_LABEL, NODE_ADD,
                     NODE_LABEL, NodeInfo, Plugin, POD_ADD, POD_DELETE, POD_LABEL, PodInfo, SKIP, Status,
                     UNRESOLVABLE, UNSCHEDULABLE)

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


def _add_counts(out: dict[str, int], counts: Mapping[str, int]) -> None:
    for name, num in counts.items():
        out[name] = out.get(name, 0) + num


def pods_per_node(snapshot: Any, term: AffinityTerm) -> Mapping[str, int]:
    """Existing pods (terminating ones too) that ``term`` selects, per node name.

    From the cache's incremental counts when the term lists its namespaces; a namespaceSelector
    (namespace labels can change at any time) is evaluated by walking every pod.
    """
    if term.namespace_selector is None:
        if len(term.namespaces) == 1:
            return snapshot.spread_counts(next(iter(term.namespaces)), term.selector, True)
        out: dict[str, int] = {}
        for ns in sorted(term.namespaces):
            _add_counts(out, snapshot.spread_counts(ns, term.selector, True))
        return out
    ns_labels = snapshot.namespace_labels
    out = {}
    for p in _candidates(snapshot, (term,)):
        if term.matches(p, ns_labels):
            out[p.node_name] = out.get(p.node_name, 0) + 1
    return out


class FilterState:
    __slots__ = ("existing_anti", "affinity", "anti", "self_match")

    def __init__(self) -> None:
        self.existing_anti: dict[Pair, int] = {}
        self.affinity: dict[Pair, int] = {}
        self.anti: dict[Pair, int] = {}
        self.self_match = False


def _domains(node_infos: Mapping[str, Any], key: str, counts: Mapping[str, int]) -> Iterator[tuple[str, int]]:
    """``(topology value, pods)`` for each existing node in ``counts`` that carries label ``key``."""
    for name, num in counts.items():
        node = node_infos.get(name)
        if node is None or node.node is None:
            continue
        value = node.labels.get(key)
        if value is not None:
            yield value, num


def pre_filter(pi: PodInfo, snapshot: Any) -> FilterState | None:
    """Count, per topology pair, the pods the terms select (None when nothing can reject a node)."""
    any_anti = snapshot.has_anti_affinity_pods()
    if not pi.required_affinity and not pi.required_anti_affinity and not any_anti:
        return None
    ns_labels = snapshot.namespace_labels
    node_infos = snapshot.node_infos
    state = FilterState()

    def count(out: dict[Pair, int], key: str, counts: Mapping[str, int]) -> None:
        for value, num in _domains(node_infos, key, counts):
            pair = (key, value)
            out[pair] = out.get(pair, 0) + num

    # Existing pods' anti-affinity towards this pod: each distinct term is matched once.
    if any_anti:
        for term, counts in snapshot.affinity_term_counts("required_anti_affinity"):
            if term.matches(pi, ns_labels):
                count(state.existing_anti, term.topology_key, counts)
    if pi.required_affinity:
        if len(pi.required_affinity) == 1:
            t = pi.required_affinity[0]
            count(state.affinity, t.topology_key, pods_per_node(snapshot, t))
        else:
            # A pod counts only if it matches every term at once, so walk the candidates.
            for p in _candidates(snapshot, pi.required_affinity):
                node = node_infos.get(p.node_name)
                if node is None or node.node is None:
                    continue
                if all(t.matches(p, ns_labels) for t in pi.required_affinity):
                    for t in pi.required_affinity:
                        value = node.labels.get(t.topology_key)
                        if value is not None:
                            pair = (t.topology_key, value)
                            state.affinity[pair] = state.affinity.get(pair, 0) + 1
    for t in pi.required_anti_affinity:
        count(state.anti, t.topology_key, pods_per_node(snapshot, t))
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
    if not (pi.preferred_affinity or pi.preferred_anti_affinity) and not snapshot.has_affinity_pods():
        return None                 # no terms on either side: the common case costs nothing
    ns_labels = snapshot.namespace_labels
    node_infos = snapshot.node_infos
    scores: dict[str, dict[str, int]] = {}

    def add(counts: Mapping[str, int], key: str, weight: int) -> None:
        """Add ``weight`` per pod to the domain of each node holding pods (upstream adds it pod by pod)."""
        for value, num in _domains(node_infos, key, counts):
            bucket = scores.setdefault(key, {})
            bucket[value] = bucket.get(value, 0) + weight * num

    for t in pi.preferred_affinity:
        add(pods_per_node(snapshot, t), t.topology_key, t.weight)
    for t in pi.preferred_anti_affinity:
        add(pods_per_node(snapshot, t), t.topology_key, -t.weight)
    # Existing pods' terms towards this pod: each distinct term is matched once.
    for kind, weight in (("required_affinity", lambda t: HARD_POD_AFFINITY_WEIGHT),
                         ("preferred_affinity", lambda t: t.weight),
                         ("preferred_anti_affinity", lambda t: -t.weight)):
        for t, counts in snapshot.affinity_term_counts(kind):
            if t.matches(pi, ns_labels):
                add(counts, t.topology_key, weight(t))
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


# --------------------------------------------------------------------------- framework hooks
_pre_filter = keep_pre_filter_state(NAME, pre_filter)


def _pre_score(pi: PodInfo, snapshot: Any, feasible: list[NodeInfo]) -> dict[str, dict[str, int]] | Status:
    state = pre_score(pi, snapshot)
    return SKIP if state is None else state


def _normalize(scores: list[int], feasible: list[NodeInfo], state: Any) -> list[int]:
    return normalize(scores)


PLUGIN = Plugin(NAME, weight=WEIGHT, pre_filter=_pre_filter, filter=filter, pre_score=_pre_score, score=score,
                normalize=_normalize, events=(NODE_ADD, NODE_LABEL, POD_ADD, POD_DELETE, POD_LABEL, NAMESPACE_LABEL))

"""NodeAffinity: ``spec.nodeSelector`` plus required/preferred node affinity."""
from __future__ import annotations

from typing import Any

from ..types import (MAX_NODE_SCORE, NODE_ADD, NODE_LABEL, SKIP, UNRESOLVABLE, CycleState, NodeInfo, Plugin, PodInfo,
                     Status)
from .helpers import default_normalize_score, node_selector_matches, node_selector_term_matches

NAME = "NodeAffinity"
WEIGHT = 2
REASON = "node(s) didn't match Pod's node affinity/selector"
REASON_CONFLICT = "pod affinity terms conflict"
_FAIL = Status(UNRESOLVABLE, REASON, NAME)


def relevant(pi: PodInfo) -> bool:
    return bool(pi.node_selector) or pi.required_node_affinity is not None


def required_matches(pi: PodInfo, ni: NodeInfo) -> bool:
    """Whether the node satisfies the pod's nodeSelector and required node affinity."""
    labels = ni.labels
    for k, v in pi.node_selector.items():
        if labels.get(k) != v:
            return False
    if pi.required_node_affinity is not None:
        return node_selector_matches(pi.required_node_affinity, labels, ni.name)
    return True


def pre_filter(pi: PodInfo) -> tuple[set[str] | None, Status | None]:
    """Node names the pod is pinned to through ``matchFields metadata.name In`` (DaemonSet pods), or None."""
    terms = pi.required_node_affinity
    if not terms:
        return None, None
    names: set[str] | None = None
    for term in terms:
        term_names: set[str] | None = None
        for req in term.get("matchFields") or ():
            if req.get("key") == "metadata.name" and req.get("operator") == "In":
                vals = set(req.get("values") or ())
                term_names = vals if term_names is None else term_names & vals
        if term_names is None:
            return None, None     # this term allows any node; terms are ORed
        names = term_names if names is None else names | term_names
    if names is not None and not names:
        return None, Status(UNRESOLVABLE, REASON_CONFLICT, NAME)
    return names, None


def filter(pi: PodInfo, ni: NodeInfo, state: object = None) -> Status | None:
    """Reject a node that does not match the nodeSelector / required node affinity."""
    return None if required_matches(pi, ni) else _FAIL


def score(pi: PodInfo, ni: NodeInfo, state: object = None) -> int:
    """Sum the weights of the preferred terms the node matches."""
    total = 0
    for weight, term in pi.preferred_node_affinity:
        if weight and node_selector_term_matches(term, ni.labels, ni.name):
            total += weight
    return total


def normalize(scores: list[int]) -> list[int]:
    return default_normalize_score(MAX_NODE_SCORE, False, scores)


def _pre_filter(pi: PodInfo, snapshot: Any, cycle: CycleState) -> Status | None:
    """Narrow the nodes to the ones the pod is pinned to; skip the Filter for pods without node constraints."""
    names, status = pre_filter(pi)
    if status is not None:
        return status
    if names is not None:
        cycle.node_names = names if cycle.node_names is None else cycle.node_names & names
    return None if relevant(pi) else SKIP


def _pre_score(pi: PodInfo, snapshot: Any, feasible: list[NodeInfo]) -> Status | None:
    return None if pi.preferred_node_affinity else SKIP


def _normalize(scores: list[int], feasible: list[NodeInfo], state: Any) -> list[int]:
    return normalize(scores)


PLUGIN = Plugin(NAME, weight=WEIGHT, pre_filter=_pre_filter, filter=filter, pre_score=_pre_score, score=score,
                normalize=_normalize, events=(NODE_ADD, NODE_LABEL))

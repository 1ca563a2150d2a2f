"""TaintToleration: NoSchedule/NoExecute taints must be tolerated; PreferNoSchedule ones lower the score."""
from __future__ import annotations

from ...component_helpers.scheduling import tolerates, untolerated_taint
from typing import Any

from ..types import MAX_NODE_SCORE, NODE_ADD, NODE_TAINT, SKIP, UNRESOLVABLE, NodeInfo, Plugin, PodInfo, Status
from .helpers import default_normalize_score

NAME = "TaintToleration"
WEIGHT = 3


def filter(pi: PodInfo, ni: NodeInfo, state: object = None) -> Status | None:
    """Reject a node with a NoSchedule/NoExecute taint the pod does not tolerate."""
    if not ni.hard_taints:
        return None
    taint = untolerated_taint(pi.tolerations, ni.hard_taints)
    if taint is None:
        return None
    return Status(UNRESOLVABLE, f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value') or ''}}}",
                  NAME)


def prefer_tolerations(pi: PodInfo) -> tuple:
    """Tolerations that count for scoring: effect PreferNoSchedule or empty."""
    return tuple(t for t in pi.tolerations if (t.get("effect") or "") in ("", "PreferNoSchedule"))


def score(pi: PodInfo, ni: NodeInfo, state: tuple | None = None) -> int:
    """Count the node's intolerable PreferNoSchedule taints (fewer is better after normalising)."""
    if not ni.prefer_taints:
        return 0
    tolerations = prefer_tolerations(pi) if state is None else state
    return sum(1 for taint in ni.prefer_taints if not any(tolerates(t, taint) for t in tolerations))


def normalize(scores: list[int]) -> list[int]:
    """Reverse-normalise: the node with the most intolerable taints gets 0, none gets 100."""
    return default_normalize_score(MAX_NODE_SCORE, True, scores)


def pre_score(pi: PodInfo, snapshot: Any, feasible: list[NodeInfo]) -> tuple | Status:
    """The scoring tolerations; SKIP when no feasible node has a PreferNoSchedule taint (all score 100)."""
    if not any(ni.prefer_taints for ni in feasible):
        return SKIP
    return prefer_tolerations(pi)


def _normalize(scores: list[int], feasible: list[NodeInfo], state: Any) -> list[int]:
    return normalize(scores)


PLUGIN = Plugin(NAME, weight=WEIGHT, filter=filter, restricted_nodes_only=True, pre_score=pre_score, score=score,
                normalize=_normalize, skipped_score=MAX_NODE_SCORE, events=(NODE_ADD, NODE_TAINT))

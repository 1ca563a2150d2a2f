"""TaintToleration: NoSchedule/NoExecute taints must be tolerated; PreferNoSchedule ones lower the score."""
from __future__ import annotations

from ...component_helpers.scheduling import tolerates, untolerated_taint
from ..types import MAX_NODE_SCORE, UNRESOLVABLE, NodeInfo, PodInfo, Status
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

"""NodeResourcesBalancedAllocation: favour nodes whose cpu and memory use stay close to each other."""
from __future__ import annotations

from typing import Any

from ..types import SKIP, NodeInfo, Plugin, PodInfo, Status
from .resource_allocation import resource_scores

NAME = "NodeResourcesBalancedAllocation"
WEIGHT = 1


def skip(pi: PodInfo) -> bool:
    """Best-effort pods (no requests at all) are not scored, so they do not pile onto one node."""
    return pi.best_effort


def pre_score(pi: PodInfo, snapshot: Any, feasible: list[NodeInfo]) -> Status | None:
    return SKIP if skip(pi) else None


def score(pi: PodInfo, ni: NodeInfo, state: object = None) -> int:
    """``(1 - std(cpu fraction, memory fraction)) * 100`` using real requests (not the defaults)."""
    return resource_scores(pi, (ni,), 0, 1)[0]


PLUGIN = Plugin(NAME, weight=WEIGHT, pre_score=pre_score, score=score)

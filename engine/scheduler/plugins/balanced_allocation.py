"""NodeResourcesBalancedAllocation: favour nodes whose cpu and memory use stay close to each other."""
from __future__ import annotations

from ..types import MAX_NODE_SCORE, NodeInfo, PodInfo

NAME = "NodeResourcesBalancedAllocation"
WEIGHT = 1


def skip(pi: PodInfo) -> bool:
    """Best-effort pods (no requests at all) are not scored, so they do not pile onto one node."""
    return pi.best_effort


def score(pi: PodInfo, ni: NodeInfo, state: object = None) -> int:
    """``(1 - std(cpu fraction, memory fraction)) * 100`` using real requests (not the defaults)."""
    fractions = []
    if ni.alloc_cpu:
        fractions.append(min(1.0, (ni.req_cpu + pi.cpu) / ni.alloc_cpu))
    if ni.alloc_mem:
        fractions.append(min(1.0, (ni.req_mem + pi.mem) / ni.alloc_mem))
    std = abs(fractions[0] - fractions[1]) / 2 if len(fractions) == 2 else 0.0
    return int((1 - std) * MAX_NODE_SCORE)

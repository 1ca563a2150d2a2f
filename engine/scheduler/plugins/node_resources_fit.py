"""NodeResourcesFit: requests must fit the node's free allocatable; LeastAllocated scoring."""
from __future__ import annotations

from typing import Any

from ..types import (NODE_ADD, NODE_ALLOCATABLE, POD_DELETE, UNSCHEDULABLE, CycleState, NodeInfo, Plugin, PodInfo,
                     Status)
from .resource_allocation import resource_scores

NAME = "NodeResourcesFit"
WEIGHT = 1
TOO_MANY_PODS = "Too many pods"


def insufficient(pi: PodInfo, ni: NodeInfo) -> list[str]:
    """Every reason the pod does not fit (``fitsRequest``): pod count, cpu, memory, then other resources."""
    reasons = []
    if len(ni.pods) + 1 > ni.alloc_pods:
        reasons.append(TOO_MANY_PODS)
    if not pi.cpu and not pi.mem and not pi.scalars:
        return reasons
    if pi.cpu > 0 and pi.cpu > ni.alloc_cpu - ni.req_cpu:
        reasons.append("Insufficient cpu")
    if pi.mem > 0 and pi.mem > ni.alloc_mem - ni.req_mem:
        reasons.append("Insufficient memory")
    if pi.scalars:
        order = sorted(pi.scalars, key=lambda k: (k != "ephemeral-storage", k))
        for name in order:
            if pi.scalars[name] > ni.alloc_scalars.get(name, 0) - ni.req_scalars.get(name, 0):
                reasons.append(f"Insufficient {name}")
    return reasons


def pre_filter(pi: PodInfo, snapshot: Any, cycle: CycleState) -> Status | None:
    """Hand the framework the pod's (cpu, memory) when the Filter is a plain room check (no extended resources)."""
    cycle.room = None if pi.scalars else (pi.cpu, pi.mem)
    return None


def filter(pi: PodInfo, ni: NodeInfo, state: object = None) -> Status | None:
    """Reject a node without room; a node short of several resources reports each of them."""
    if (len(ni.pods) < ni.alloc_pods and pi.cpu <= ni.alloc_cpu - ni.req_cpu
            and pi.mem <= ni.alloc_mem - ni.req_mem and not pi.scalars):
        return None
    reasons = insufficient(pi, ni)
    return Status(UNSCHEDULABLE, tuple(reasons), NAME) if reasons else None


def score(pi: PodInfo, ni: NodeInfo, state: object = None) -> int:
    """LeastAllocated over cpu and memory (weight 1 each), with the 100m/200Mi scoring defaults."""
    return resource_scores(pi, (ni,), 1, 0)[0]


PLUGIN = Plugin(NAME, weight=WEIGHT, pre_filter=pre_filter, filter=filter, score=score,
                events=(NODE_ADD, POD_DELETE, NODE_ALLOCATABLE))

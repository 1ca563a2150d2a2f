"""The cpu/memory scoring both resource plugins share (upstream ``noderesources/resource_allocation.go``).

LeastAllocated (NodeResourcesFit) and BalancedAllocation read the same node totals, and their
scores are computed for every feasible node of every pod, so both are written once here, as one
loop over the nodes that yields their weighted sum: a call per node would cost more than the
arithmetic itself.
"""
from __future__ import annotations

from typing import Sequence

from ..types import MAX_NODE_SCORE, NodeInfo, PodInfo


def resource_scores(pi: PodInfo, nodes: Sequence[NodeInfo], fit_weight: int, balanced_weight: int,
                    base: int = 0) -> list[int]:
    """``base + fit_weight * LeastAllocated + balanced_weight * BalancedAllocation`` per node.

    LeastAllocated averages ``(allocatable - requested) * 100 // allocatable`` over cpu and memory,
    counting the 100m / 200Mi scoring defaults for containers without requests. BalancedAllocation
    is ``(1 - std(cpu fraction, memory fraction)) * 100`` on the real requests, fractions capped at 1.
    A resource the node has no allocatable of is left out of both (``balanced_weight`` 0: not scored).
    """
    out: list[int] = []
    append = out.append
    nz_cpu, nz_mem, cpu, mem = pi.nz_cpu, pi.nz_mem, pi.cpu, pi.mem
    for ni in nodes:
        ac, am = ni.alloc_cpu, ni.alloc_mem
        if not (ac and am):
            append(base + _partial_scores(pi, ni, fit_weight, balanced_weight))
            continue
        rc = ni.nz_cpu + nz_cpu
        rm = ni.nz_mem + nz_mem
        total = base
        if fit_weight:
            total += fit_weight * ((((ac - rc) * 100 // ac if rc <= ac else 0)
                                    + ((am - rm) * 100 // am if rm <= am else 0)) // 2)
        if balanced_weight:
            fc = (ni.req_cpu + cpu) / ac
            fm = (ni.req_mem + mem) / am
            total += balanced_weight * int((1 - abs((fc if fc < 1.0 else 1.0) - (fm if fm < 1.0 else 1.0)) / 2) * 100)
        append(total)
    return out


def _partial_scores(pi: PodInfo, ni: NodeInfo, fit_weight: int, balanced_weight: int) -> int:
    """The same two scores for a node lacking cpu or memory allocatable (rare, so kept off the fast path)."""
    least: list[int] = []
    for requested, used, capacity in ((pi.nz_cpu, ni.nz_cpu, ni.alloc_cpu), (pi.nz_mem, ni.nz_mem, ni.alloc_mem)):
        if capacity:
            total = used + requested
            least.append((capacity - total) * MAX_NODE_SCORE // capacity if total <= capacity else 0)
    score = fit_weight * (sum(least) // len(least)) if least else 0
    # At most one fraction is left, and one value has no spread: BalancedAllocation gives the maximum.
    return score + balanced_weight * MAX_NODE_SCORE

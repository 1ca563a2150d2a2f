"""NodeName: a pod that names its node (``spec.nodeName``) fits only that node."""
from __future__ import annotations

from typing import Any

from ..types import NODE_ADD, SKIP, UNRESOLVABLE, CycleState, NodeInfo, Plugin, PodInfo, Status

NAME = "NodeName"
REASON = "node(s) didn't match the requested node name"
_FAIL = Status(UNRESOLVABLE, REASON, NAME)


def filter(pi: PodInfo, ni: NodeInfo, state: object = None) -> Status | None:
    """Reject every node but the one named in ``spec.nodeName`` (when set)."""
    if not pi.node_name or pi.node_name == ni.name:
        return None
    return _FAIL


def pre_filter(pi: PodInfo, snapshot: Any, cycle: CycleState) -> Status | None:
    """Skip the Filter for the pods that name no node (nearly all of them)."""
    return None if pi.node_name else SKIP


PLUGIN = Plugin(NAME, pre_filter=pre_filter, filter=filter, events=(NODE_ADD,))

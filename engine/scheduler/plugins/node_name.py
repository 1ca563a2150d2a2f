"""NodeName: a pod that names its node (``spec.nodeName``) fits only that node."""
from __future__ import annotations

from ..types import UNRESOLVABLE, NodeInfo, PodInfo, Status

NAME = "NodeName"
REASON = "node(s) didn't match the requested node name"
_FAIL = Status(UNRESOLVABLE, REASON, NAME)


def filter(pi: PodInfo, ni: NodeInfo, state: object = None) -> Status | None:
    """Reject every node but the one named in ``spec.nodeName`` (when set)."""
    if not pi.node_name or pi.node_name == ni.name:
        return None
    return _FAIL

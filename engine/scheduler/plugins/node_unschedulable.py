"""NodeUnschedulable: a cordoned node (``spec.unschedulable``) takes only pods that tolerate it."""
from __future__ import annotations

from ...component_helpers.scheduling import tolerates
from ..types import (NODE_ADD, NODE_TAINT, NODE_UNCORDON, UNRESOLVABLE, UNSCHEDULABLE_TAINT_KEY, NodeInfo, Plugin,
                     PodInfo, Status)

NAME = "NodeUnschedulable"
REASON = "node(s) were unschedulable"
_TAINT = {"key": UNSCHEDULABLE_TAINT_KEY, "effect": "NoSchedule"}
_FAIL = Status(UNRESOLVABLE, REASON, NAME)


def filter(pi: PodInfo, ni: NodeInfo, state: object = None) -> Status | None:
    """Reject a cordoned node unless the pod tolerates ``node.kubernetes.io/unschedulable:NoSchedule``."""
    if not ni.unschedulable:
        return None
    if any(tolerates(t, _TAINT) for t in pi.tolerations):
        return None
    return _FAIL


PLUGIN = Plugin(NAME, filter=filter, restricted_nodes_only=True, events=(NODE_ADD, NODE_UNCORDON, NODE_TAINT))

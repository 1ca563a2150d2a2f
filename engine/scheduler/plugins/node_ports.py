"""NodePorts: a hostPort (per protocol and host IP) can be used by one pod per node."""
from __future__ import annotations

from typing import Any

from ..types import NODE_ADD, POD_DELETE, SKIP, UNSCHEDULABLE, CycleState, NodeInfo, Plugin, PodInfo, Status

NAME = "NodePorts"
REASON = "node(s) didn't have free ports for the requested pod ports"
_FAIL = Status(UNSCHEDULABLE, REASON, NAME)
_ANY = "0.0.0.0"


def conflicts(used: dict, ip: str, protocol: str, port: int) -> bool:
    """``HostPortInfo.CheckConflict``: 0.0.0.0 clashes with every IP, and every IP with 0.0.0.0."""
    if ip == _ANY:
        return any(p == protocol and n == port for (_, p, n) in used)
    return (_ANY, protocol, port) in used or (ip, protocol, port) in used


def filter(pi: PodInfo, ni: NodeInfo, state: object = None) -> Status | None:
    """Reject a node where one of the pod's host ports is already taken."""
    if not pi.host_ports or not ni.used_ports:
        return None
    for ip, protocol, port in pi.host_ports:
        if conflicts(ni.used_ports, ip, protocol, port):
            return _FAIL
    return None


def pre_filter(pi: PodInfo, snapshot: Any, cycle: CycleState) -> Status | None:
    """Skip the Filter for pods without host ports."""
    return None if pi.host_ports else SKIP


PLUGIN = Plugin(NAME, pre_filter=pre_filter, filter=filter, events=(NODE_ADD, POD_DELETE))

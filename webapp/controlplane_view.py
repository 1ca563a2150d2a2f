"""``GET <cluster base>/ui/control-plane``: what each control-plane component is doing (the Control plane tab).

The engine tells it (``Cluster.component_states``); this layer only hides what a running drill keeps
secret: a hidden fault is left out of the faults list, and a component it stopped is shown stopped
without naming it (a real operator sees the scheduler down, not who did it). The request feed the tab
animates is ``/ui/audit`` (webapp/audit_view.py); ending a fault is the ``object.delete`` action.
"""
from __future__ import annotations

from typing import Any

from .hub import current_runtime
from .views import ui_blueprint

controlplane_bp = ui_blueprint("controlplane")


@controlplane_bp.get("/ui/control-plane")
def control_plane() -> dict[str, Any]:
    runtime = current_runtime()
    return runtime.call(lambda: without_hidden(runtime.cluster.component_states(), runtime.hidden_refs()))


def without_hidden(states: dict[str, Any], hidden: frozenset[tuple[str, str]]) -> dict[str, Any]:
    """``states`` with the hidden faults left out (and out of every ``stoppedBy``)."""
    if not hidden:
        return states

    def shown(refs: list[dict]) -> list[dict]:
        return [r for r in refs if (r["kind"], r["name"]) not in hidden]

    for part in ("apiserver", "etcd", "scheduler"):
        states[part]["stoppedBy"] = shown(states[part]["stoppedBy"])
    for controller in states["controllers"]:
        controller["stoppedBy"] = shown(controller["stoppedBy"])
    states["faults"] = shown(states["faults"])
    return states

"""Stopping and starting control-plane components, with holds so overlapping faults compose.

Two faults may stop the same component (a ControlPlaneChaos on the controller manager while another
stops the API server): a component starts again only when the last fault holding it down lets go.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..cluster import Cluster


def _holds(cluster: "Cluster") -> dict[str, int]:
    holds = getattr(cluster, "chaos_holds", None)
    if holds is None:
        holds = cluster.chaos_holds = {}
    return holds


def component(cluster: "Cluster", name: str) -> Any:
    """Return the object with ``stop()``/``start()`` behind a component name."""
    if name == "scheduler":
        return cluster.scheduler
    if name == "chaos":
        return cluster.chaos
    if name == "kubelets":
        return cluster.kubelet_manager.queue
    if name.startswith("controller:"):
        return cluster.controllers[name.split(":", 1)[1]]
    raise KeyError(name)


def hold(cluster: "Cluster", names: list[str], on: bool) -> None:
    """Stop (``on``) or release each named component; it runs again when no hold is left."""
    holds = _holds(cluster)
    for name in names:
        count = holds.get(name, 0)
        if on:
            holds[name] = count + 1
            if count == 0:
                _switch(cluster, name, False)
        elif count > 0:
            if count == 1:
                del holds[name]
                _switch(cluster, name, True)
            else:
                holds[name] = count - 1


def _switch(cluster: "Cluster", name: str, running: bool) -> None:
    if name == "apiserver":
        cluster.api.available = running
        return
    if name == "events":
        cluster.api.events.enabled = running
        return
    target = component(cluster, name)
    if running:
        target.start()
    else:
        target.stop()


def controller_names(cluster: "Cluster") -> list[str]:
    """Names of the controllers in the controller manager (``cluster.controllers``), sorted."""
    return sorted(cluster.controllers)


def control_plane(cluster: "Cluster", component_name: str, controllers: list[str] | None = None) -> list[str]:
    """Which holds a stopped component means.

    The API server down stops every writer too: controllers and the scheduler cannot read or write
    through it, so nothing heals (kubelets keep their containers running, as real ones do).
    """
    if component_name == "controller-manager":
        return [f"controller:{c}" for c in (controllers or controller_names(cluster))]
    if component_name == "scheduler":
        return ["scheduler"]
    if component_name == "apiserver":
        return ["apiserver", "scheduler"] + [f"controller:{c}" for c in controller_names(cluster)]
    raise KeyError(component_name)

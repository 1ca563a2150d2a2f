"""Stopping and starting control-plane components, with holds so overlapping faults compose.

Two faults may stop the same component (a ControlPlaneChaos on the controller manager while another
stops the API server): a component starts again only when the last fault holding it down lets go.
"""
from __future__ import annotations

from .plane import ControlPlane, Stoppable


def component(plane: ControlPlane, name: str) -> Stoppable:
    """Return the object with ``stop()``/``start()`` behind a component name."""
    if name == "scheduler":
        return plane.scheduler
    if name == "chaos" and plane.chaos is not None:
        return plane.chaos
    if name == "kubelets":
        return plane.kubelet_queue
    if name.startswith("controller:"):
        return plane.controllers[name.split(":", 1)[1]]
    raise KeyError(name)


def hold(plane: ControlPlane, names: list[str], on: bool) -> None:
    """Stop (``on``) or release each named component; it runs again when no hold is left."""
    holds = plane.holds
    for name in names:
        count = holds.get(name, 0)
        if on:
            holds[name] = count + 1
            if count == 0:
                _switch(plane, name, False)
        elif count > 0:
            if count == 1:
                del holds[name]
                _switch(plane, name, True)
            else:
                holds[name] = count - 1


def _switch(plane: ControlPlane, name: str, running: bool) -> None:
    if name == "apiserver":
        plane.api.available = running
        return
    if name == "events":
        plane.api.events.enabled = running
        return
    target = component(plane, name)
    if running:
        target.start()
    else:
        target.stop()


def controller_names(plane: ControlPlane) -> list[str]:
    """Names of the controllers in the controller manager, sorted."""
    return sorted(plane.controllers)


def component_holds(plane: ControlPlane, component_name: str, controllers: list[str] | None = None) -> list[str]:
    """Which holds a stopped component means.

    The API server down stops every writer too: controllers and the scheduler cannot read or write
    through it, so nothing heals (kubelets keep their containers running, as real ones do).
    """
    if component_name == "controller-manager":
        return [f"controller:{c}" for c in (controllers or controller_names(plane))]
    if component_name == "scheduler":
        return ["scheduler"]
    if component_name == "apiserver":
        return ["apiserver", "scheduler"] + [f"controller:{c}" for c in controller_names(plane)]
    raise KeyError(component_name)


def begin_etcd_outage(plane: ControlPlane) -> None:
    """Stop everything that talks to etcd: the API, events, scheduler, kubelets, controllers, chaos.

    Losing etcd twice takes the holds once; ``end_etcd_outage`` (after a restore) releases them.
    """
    if plane.etcd_outage:
        return
    names = ["apiserver", "events", "scheduler", "kubelets"]
    names += [f"controller:{c}" for c in controller_names(plane)]
    if plane.chaos is not None:
        names.append("chaos")
    hold(plane, names, True)
    plane.etcd_outage = names


def end_etcd_outage(plane: ControlPlane) -> None:
    """Release what an etcd loss stopped (a no-op when etcd was not lost)."""
    names = plane.etcd_outage
    if names:
        plane.etcd_outage = None
        hold(plane, names, False)

"""What each control-plane component is doing now, and which fault stopped it (the control-plane view).

Read from the components themselves (their ``stopped`` flags and queues), not from the holds alone:
the view must show what runs, whatever the bookkeeping says. "Stopped by" comes from the chaos
controller's live experiments, so a fault ended a moment ago no longer claims a component.
"""
from __future__ import annotations

from typing import Any, Hashable

from .components import controller_names
from .plane import ControlPlane

Ref = dict[str, str]
ETCD_LOST: Ref = {"kind": "Store", "namespace": "", "name": "etcd"}   # "stopped by": etcd was lost


def component_states(plane: ControlPlane) -> dict[str, Any]:
    """apiserver, etcd, scheduler, controllers, kubelets and the active faults, as plain data."""
    experiments = active_experiments(plane)
    by_hold = _stoppers(plane, experiments)
    scheduler = plane.scheduler
    return {
        "apiserver": {"running": bool(plane.api.available), "stoppedBy": by_hold.get("apiserver", [])},
        "etcd": {"running": not plane.etcd_outage, "stoppedBy": by_hold.get("etcd", [])},
        "scheduler": {"running": not scheduler.stopped, "queue": _depth(scheduler),
                      "stoppedBy": by_hold.get("scheduler", [])},
        "controllers": [_controller(plane, name, by_hold.get(f"controller:{name}", []))
                        for name in controller_names(plane)],
        "kubelets": [_kubelet(name, plane.kubelets[name], plane) for name in sorted(plane.kubelets)],
        "faults": [_fault(exp) for exp in experiments] + _schedules(plane),
    }


def active_experiments(plane: ControlPlane) -> list[Any]:
    """The chaos controller's experiments still in force (injected and not yet recovered), by name."""
    chaos = plane.chaos
    if chaos is None:
        return []
    live = [exp for exp in chaos.experiments.values() if not exp.finished]
    return sorted(live, key=lambda exp: (exp.key[1], exp.kind, exp.name))


def _ref(exp: Any) -> Ref:
    return {"kind": exp.kind, "namespace": exp.key[1], "name": exp.name}


def _injected(exp: Any) -> list[dict]:
    return [r for r in exp.status["experiment"].get("containerRecords") or () if r.get("phase") == "Injected"]


def _stoppers(plane: ControlPlane, experiments: list[Any]) -> dict[str, list[Ref]]:
    """Hold name ("scheduler", "controller:<name>", "apiserver", "etcd", "node:<name>") -> faults holding it."""
    out: dict[str, list[Ref]] = {}
    for exp in experiments:
        for record in _injected(exp):
            kind = record.get("kind")
            if kind == "Component":
                holds = record.get("holds") or []
            elif kind == "Node":
                holds = [f"node:{record.get('name', '')}"]
            else:
                continue
            for name in holds:
                out.setdefault(name, []).append(_ref(exp))
    # An etcd loss is over (one-shot) as soon as it struck, but what it stopped stays down until a
    # restore: the lost store itself is the cause then, not a fault object one could delete.
    for name in ["etcd", *(plane.etcd_outage or [])] if plane.etcd_outage else []:
        out.setdefault(name, []).append(ETCD_LOST)
    return out


def _depth(component: Any) -> int:
    queue = getattr(component, "queue", None)
    return len(queue) if queue is not None else 0


def _key_text(key: Hashable) -> str:
    """A work-queue key as a path: ("dep", ("pods", "default", "sql-1")) -> "dep/pods/default/sql-1"."""
    if isinstance(key, tuple):
        return "/".join(_key_text(part) for part in key if part not in (None, ""))
    return str(key)


def _controller(plane: ControlPlane, name: str, stopped_by: list[Ref]) -> dict[str, Any]:
    controller = plane.controllers[name]
    last = getattr(getattr(controller, "queue", None), "last_sync", None)
    return {"name": name, "running": not controller.stopped, "queue": _depth(controller),
            "lastAction": {"verb": "sync", "object": _key_text(last[0]), "t": last[1]} if last else None,
            "stoppedBy": stopped_by}


def _kubelet(node: str, kubelet: Any, plane: ControlPlane) -> dict[str, Any]:
    # The kubelets share one work queue: a stopped queue (etcd loss) stops all of them.
    shared_stopped = bool(getattr(plane.kubelet_queue, "stopped", False))
    state = "stopped" if shared_stopped and kubelet.state == "running" else kubelet.state
    return {"node": node, "running": state == "running", "state": state,
            "power": "on" if kubelet.powered else "off"}


def _schedules(plane: ControlPlane) -> list[dict[str, Any]]:
    """Schedules are faults in force too: ending one stops the repeats (its running child stays its own)."""
    chaos = plane.chaos
    if chaos is None:
        return []
    return [{"kind": "Schedule", "namespace": ns, "name": name, "action": "schedule", "stops": [],
             "since": "", "duration": None} for (_plural, ns, name) in sorted(chaos.schedules)]


def _fault(exp: Any) -> dict[str, Any]:
    records = _injected(exp)
    stops = [r["name"] if r.get("kind") in ("Component", "Store") else r.get("id", r.get("name", ""))
             for r in records]
    return {**_ref(exp), "action": exp.spec.get("action") or exp.spec.get("component", ""),
            "stops": stops, "since": exp.status["experiment"].get("startTime", ""),
            "duration": exp.spec.get("duration")}

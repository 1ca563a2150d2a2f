"""The instructor's bulk actions: one action on many student clusters, each on its own.

``{"action": <name>, "args": {...}, "clusters": [ids] | null}`` (null: every student's cluster).
The whole request is checked before any cluster is touched (a bad drill id or fault is one 4xx,
not a hundred failures); then each cluster is done in turn, taking only that cluster's lock, so a
bulk over a hundred clusters never blocks a student's request for longer than their own step.
Each cluster gets its own result: ``{"cluster", "ok", "error"?: <Status>}``.

Actions: ``drill.start {id}`` (each cluster plays the drill from the drill's own seed, so faults
are comparable), ``fault {type, args}`` (a cluster action of the dashboard's, e.g. ``node.power_off
{name}``; a pod action may name its pod by ``selector`` instead of ``name``, since pod names differ
from cluster to cluster), ``sim.pause``, ``sim.resume``, ``sim.reset``, ``sim.speed {speed}``,
``lock_speed {speed}`` and ``unlock_speed`` (class-wide: every student cluster, and every cluster
made or loaded later, see ``webapp.classroom.routes``).

A fault is the instructor's doing, not the student's: it is not recorded in the student's drill
log (it would count as their first response and spoil the time to detect).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from engine.cluster import ACTIONS as CLUSTER_ACTIONS
from engine.errors import Cause, Conflict, Invalid, NotFound, StatusError
from engine.selectors import LabelSelector

from ..control import ACTIONS as DASHBOARD_ACTIONS, summarize, validate
from ..drills import find_drill
from ..hub import DEFAULT_CLUSTER, Hub, check_cluster_id
from ..runtime import Runtime, check_speed

MAX_CLUSTERS = 1000
FAULTS = tuple(a.verb for a in CLUSTER_ACTIONS if a.verb)
POD_FAULTS = ("pod.delete", "pod.crash", "pod.readiness")
CLASS_WIDE = ("lock_speed", "unlock_speed")
ARGS: dict[str, tuple[str, ...]] = {"drill.start": ("id",), "fault": ("type", "args"), "sim.pause": (),
                                    "sim.resume": (), "sim.reset": (), "sim.speed": ("speed",),
                                    "lock_speed": ("speed",), "unlock_speed": ()}


@dataclass
class Bulk:
    """A checked bulk request: what to do to one cluster, and on which clusters."""

    action: str
    args: dict[str, Any]
    clusters: list[str] | None          # None: every student cluster
    apply: Callable[[Runtime], None] = field(repr=False, default=lambda rt: None)


def parse(body: Any, *, speed_lock: float | None) -> Bulk:
    """Check a bulk request whole; Invalid / BadRequest / NotFound naming the field at fault."""
    if not isinstance(body, dict):
        raise _invalid("body", "must be a JSON object")
    unknown = sorted(str(k) for k in body if k not in ("action", "args", "clusters"))
    if unknown:
        raise _invalid(unknown[0][:64], "unknown field")
    action = body.get("action")
    if action not in ARGS:
        raise _invalid("action", f"unsupported action {_shown(action)}: supported values: "
                       + ", ".join(f'"{a}"' for a in ARGS), "FieldValueNotSupported")
    args = body.get("args") or {}
    if not isinstance(args, dict):
        raise _invalid("args", "must be an object")
    extra = sorted(str(k) for k in args if k not in ARGS[action])
    if extra:
        raise _invalid(f"args.{extra[0][:64]}", "unknown field")
    clusters = _clusters(body.get("clusters"))
    if action in CLASS_WIDE and clusters is not None:
        raise _invalid("clusters", "the speed lock is for the whole class: leave clusters out (or null)")
    bulk = Bulk(action, args, clusters)
    if action == "drill.start":
        drill_id = args.get("id")
        if not isinstance(drill_id, str):
            raise _invalid("args.id", "Required value: the id of a drill", "FieldValueRequired")
        find_drill(drill_id)   # NotFound naming the drills there are
        bulk.apply = lambda rt: rt.start_drill(drill_id)
    elif action == "fault":
        bulk.apply = _fault(args)
    elif action == "sim.pause":
        bulk.apply = lambda rt: rt.pause()
    elif action == "sim.resume":
        bulk.apply = lambda rt: rt.resume()
    elif action == "sim.reset":
        bulk.apply = lambda rt: rt.reset()
    elif action == "sim.speed":
        speed = check_speed(args.get("speed"))
        if speed_lock is not None:
            raise Conflict(f"the speed is locked at {speed_lock:g}x: lock it at another speed (lock_speed) "
                           "or unlock it (unlock_speed) first")
        bulk.apply = lambda rt: rt.set_speed(speed)
    elif action == "lock_speed":
        speed = check_speed(args.get("speed"))
        bulk.args = {"speed": speed}
        bulk.apply = lambda rt: lock_speed(rt, speed)
    elif action == "unlock_speed":
        bulk.apply = lambda rt: lock_speed(rt, None)
    return bulk


def lock_speed(runtime: Runtime, speed: float | None) -> None:
    """Hold ``runtime`` at ``speed`` (its owner's sim.speed is refused), or let it go (None)."""
    with runtime.lock:
        runtime.speed_lock = None
        if speed is not None:
            runtime.set_speed(speed)
            runtime.speed_lock = speed
    runtime.notify()


def run(hub: Hub, bulk: Bulk) -> list[dict[str, Any]]:
    """Do ``bulk`` on each of its clusters in turn; one result per cluster, in order."""
    targets = bulk.clusters if bulk.clusters is not None else [c for c in hub.ids() if c != DEFAULT_CLUSTER]
    loaded = set(hub.loaded())
    results = []
    for cid in targets:
        result: dict[str, Any] = {"cluster": cid, "ok": True}
        try:
            if bulk.action in CLASS_WIDE and cid not in loaded:
                pass   # an unloaded cluster gets the class's lock when it is loaded (the hub's on_load)
            else:
                bulk.apply(hub.get(cid))
        except StatusError as err:
            result.update(ok=False, error=err.to_status())
        results.append(result)
    return results


def _fault(args: dict[str, Any]) -> Callable[[Runtime], None]:
    """The per-cluster call of a fault message ``{type, args}`` (checked now, against a stand-in name)."""
    kind = args.get("type")
    if kind not in FAULTS:
        raise _invalid("args.type", f"unsupported fault {_shown(kind)}: supported values: "
                       + ", ".join(f'"{f}"' for f in FAULTS)
                       + " (drills and the simulation have bulk actions of their own)", "FieldValueNotSupported")
    fault_args = args.get("args") or {}
    if not isinstance(fault_args, dict):
        raise _invalid("args.args", "must be an object")
    fault_args = dict(fault_args)
    selector = fault_args.pop("selector", None)
    if selector is not None:
        if kind not in POD_FAULTS:
            raise _invalid("args.args.selector", f'only pod faults ({", ".join(POD_FAULTS)}) pick a pod by selector')
        if "name" in fault_args:
            raise _invalid("args.args.selector", "give either name or selector, not both")
        if not isinstance(selector, str) or not selector.strip():
            raise _invalid("args.args.selector", 'must be a label selector, e.g. "app=web"')
        labels = LabelSelector.parse(selector)   # BadRequest naming what is wrong with it
        _, checked = validate({"type": kind, "args": dict(fault_args, name="stand-in")})
    else:
        _, checked = validate({"type": kind, "args": fault_args})
    _, handler = DASHBOARD_ACTIONS[kind]

    def apply(runtime: Runtime) -> None:
        call_args = dict(checked)
        if selector is not None:
            call_args["name"] = _first_pod(runtime, call_args["namespace"], labels, selector)
        summarize(handler(runtime, call_args))
    return apply


def _first_pod(runtime: Runtime, namespace: str, labels: LabelSelector, selector: str) -> str:
    """The first pod (by name) of ``namespace`` matching ``labels`` that is not already going away."""
    def pick() -> str | None:
        for pod in runtime.cluster.store.list("pods", namespace, labels=labels):
            meta = pod.get("metadata") or {}
            if not meta.get("deletionTimestamp"):
                return meta.get("name")
        return None
    name = runtime.call(pick)
    if name is None:
        raise NotFound(f'no pod matches "{selector}" in namespace "{namespace}"', kind="pods")
    return name


def _clusters(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_CLUSTERS:
        raise _invalid("clusters", f"must be a list of at most {MAX_CLUSTERS} cluster ids, or null for every student")
    out: list[str] = []
    for i, cid in enumerate(value):
        if not isinstance(cid, str):
            raise _invalid(f"clusters[{i}]", "must be a cluster id (string)")
        try:
            check_cluster_id(cid)
        except NotFound as err:
            raise _invalid(f"clusters[{i}]", err.message) from None
        if cid not in out:
            out.append(cid)
    return out


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return '"' + (text if len(text) <= 64 else text[:64] + "...") + '"'


def _invalid(field_name: str, message: str, reason: str = "FieldValueInvalid") -> Invalid:
    return Invalid(f"{field_name}: {message}", kind="bulk", causes=[Cause(field_name, message, reason)])


"""Validate and dispatch dashboard actions: ``{"type": str, "args": {...}}`` -> an ack dict.

Every socket ``action`` message goes through ``dispatch``. It checks the message against the
table below *before* touching the cluster, so a malformed message changes nothing and is answered
``{"ok": false, "error": <metav1.Status BadRequest naming the field at fault>}``. Engine errors
(``StatusError``) become their own Status; anything else becomes an InternalError Status and is
logged. ``dispatch`` never raises.

This module translates; it decides nothing: each action is one call of a ``Cluster`` action
method (or of the runtime for ``sim.*``) under ``runtime.lock``.
"""
from __future__ import annotations

import logging
import math
from typing import Any, Callable

from flask import has_request_context

from engine.apiserver.audit import ADMIN, Identity
from engine.cluster import ACTIONS as CLUSTER_ACTIONS, WORKLOAD_KINDS, Action, Param
from engine.errors import BadRequest, Cause, InternalError, StatusError

from .drills import catalogue
from .kube_api.auditing import client_identity
from .runtime import MAX_SPEED, MIN_SPEED, Runtime

log = logging.getLogger(__name__)

MAX_TEXT_BYTES = 3 * 1024 * 1024      # an apply body larger than 3 MiB is refused
DASHBOARD_AGENT = "kubedrill-dashboard"
MAX_NAME_LENGTH = 253                 # a DNS subdomain, the longest Kubernetes object name

Handler = Callable[[Runtime, dict[str, Any]], Any]


def _cluster_call(action: Action) -> Handler:
    """A handler doing one of the engine's user actions on the runtime's cluster, under the lock, as its user."""
    def handler(runtime: Runtime, args: dict[str, Any]) -> Any:
        identity = dashboard_identity()

        def act() -> Any:
            with runtime.cluster.api.audit.acting(identity):
                return action.call(runtime.cluster, args)
        return runtime.call(act)
    return handler


def dashboard_identity() -> Identity:
    """The dashboard user as the audit trail names them (the admin when no request says who: a class's bulk action)."""
    if has_request_context():
        return client_identity(DASHBOARD_AGENT)
    return Identity(ADMIN[0], ADMIN[1], DASHBOARD_AGENT)


# type -> (arguments, handler). The table *is* the protocol: README-protocol in live.py lists it.
# The cluster's verbs are the engine's one vocabulary (engine.cluster.ACTIONS); sim.* and drill.*
# drive the runtime.
ACTIONS: dict[str, tuple[tuple[Param, ...], Handler]] = {
    **{a.verb: (a.params, _cluster_call(a)) for a in CLUSTER_ACTIONS if a.verb},
    "sim.pause": ((), lambda rt, a: rt.pause()),
    "sim.resume": ((), lambda rt, a: rt.resume()),
    "sim.speed": ((Param("speed", "number"),), lambda rt, a: rt.set_speed(a["speed"])),
    "sim.step": ((), lambda rt, a: rt.step()),
    "sim.reset": ((), lambda rt, a: (rt.reset(), rt.clock_state())[1]),
    "drill.list": ((), lambda rt, a: catalogue()),
    "drill.start": ((Param("id", "name"),), lambda rt, a: rt.start_drill(a["id"])),
    "drill.status": ((), lambda rt, a: rt.drill_status()),
    "drill.hint": ((), lambda rt, a: rt.drill_hint()),
    "drill.stop": ((Param("finish", "bool", False),), lambda rt, a: rt.stop_drill(finish=a.get("finish", False))),
    "drill.exit": ((), lambda rt, a: rt.exit_drill()),
}

# Actions that drive the simulator or the drill itself; every other one is the student's doing and
# is recorded in a running drill's action log.
_NOT_RECORDED = ("sim.", "drill.")

def _recorded_args(kind: str, args: dict[str, Any]) -> dict[str, Any]:
    """The arguments as the drill report shows them (an applied manifest is summarised, not copied)."""
    if kind == "apply":
        return {"bytes": len(args["yaml"].encode("utf-8", "surrogatepass"))}
    return dict(args)


def _record(runtime: Runtime, kind: str, args: dict[str, Any], *, ok: bool, result: Any = None,
            error: str | None = None) -> None:
    if kind.startswith(_NOT_RECORDED):
        return
    runtime.record_action(kind, _recorded_args(kind, args), via="dashboard", ok=ok, result=result, error=error)


def bad_request(field: str, message: str) -> BadRequest:
    """A BadRequest whose message and single cause name the field at fault."""
    return BadRequest(f"{field}: {message}", causes=[Cause(field, message, "FieldValueInvalid")])


def validate(message: Any) -> tuple[str, dict[str, Any]]:
    """Check an action message against ``ACTIONS``; return ``(type, args)`` or raise BadRequest."""
    if not isinstance(message, dict):
        raise bad_request("action", f"must be an object, got {_type_name(message)}")
    extra = sorted(set(message) - {"type", "args"})
    if extra:   # an empty key still needs a field the client can show: name the message itself
        raise bad_request(str(extra[0])[:64] or "action", "unknown field" if extra[0] else 'unknown field ""')
    kind = message.get("type")
    if not isinstance(kind, str):
        raise bad_request("type", f"must be a string, got {_type_name(kind)}")
    if kind not in ACTIONS:
        shown = kind if len(kind) <= 64 else kind[:64] + "..."
        raise bad_request("type", f'unsupported action "{shown}": supported values: '
                          + ", ".join(f'"{k}"' for k in ACTIONS))
    raw = message.get("args", {})
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise bad_request("args", f"must be an object, got {_type_name(raw)}")
    spec, _ = ACTIONS[kind]
    known = {a.name for a in spec}
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:
        raise bad_request(f"args.{unknown[0][:64]}", "unknown field")
    args: dict[str, Any] = {}
    for arg in spec:
        field = f"args.{arg.name}"
        if arg.name not in raw or (raw[arg.name] is None and not arg.required):
            if arg.required:
                raise BadRequest(f"{field}: Required value",
                                 causes=[Cause(field, "Required value", "FieldValueRequired")])
            continue
        value = raw[arg.name]
        if value is None and arg.allow_null:
            args[arg.name] = None
            continue
        args[arg.name] = _check(arg, field, value)
    return kind, args


def _check(arg: Param, field: str, value: Any) -> Any:
    if arg.kind in ("name", "kind", "text"):
        if not isinstance(value, str):
            raise bad_request(field, f"must be a string, got {_type_name(value)}")
        limit = MAX_TEXT_BYTES if arg.kind == "text" else MAX_NAME_LENGTH
        size = len(value.encode("utf-8", "surrogatepass")) if arg.kind == "text" else len(value)
        if size > limit:
            unit = "bytes" if arg.kind == "text" else "characters"
            raise bad_request(field, f"must be no more than {limit} {unit}")
        # Namespace may be "" for cluster-scoped objects in object.delete; everywhere else it is required.
        if not value.strip() and not arg.allow_empty:
            raise bad_request(field, "must not be empty")
        if arg.kind == "kind" and value not in WORKLOAD_KINDS:
            raise bad_request(field, f'unsupported kind "{value}": supported values: '
                              + ", ".join(f'"{k}"' for k in WORKLOAD_KINDS))
        return value
    if arg.kind == "bool":
        if not isinstance(value, bool):
            raise bad_request(field, f"must be a boolean, got {_type_name(value)}")
        return value
    if arg.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad_request(field, f"must be an integer, got {_type_name(value)}")
        if not -(2 ** 31) <= value < 2 ** 31:
            raise bad_request(field, "must fit in a 32-bit integer")
        return value
    if arg.kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise bad_request(field, f"must be a number, got {_type_name(value)}")
        if not MIN_SPEED <= value <= MAX_SPEED:
            raise bad_request(field, f"must be between {MIN_SPEED:g} and {MAX_SPEED:g}")
        return float(value)
    raise AssertionError(f"unknown argument kind {arg.kind}")  # a bug in ACTIONS, not in the message


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)


def dispatch(runtime: Runtime, message: Any,
             authorize: Callable[[str, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Validate and run one action; return ``{"ok": True, "result": ...}`` or ``{"ok": False, "error": Status}``.

    ``authorize(type, args)`` (webapp.policy, per connection) raises Forbidden for an action the
    sender may not do: checked after validation, before anything changes, and not recorded.
    """
    kind, args = "", {}
    try:
        kind, args = validate(message)
        if authorize is not None:
            try:
                authorize(kind, args)
            except StatusError as err:
                return {"ok": False, "error": err.to_status()}
        _, handler = ACTIONS[kind]
        result = summarize(handler(runtime, args))
        _record(runtime, kind, args, ok=True, result=result)
        return {"ok": True, "result": result}
    except StatusError as err:
        if kind:
            _record(runtime, kind, args, ok=False, error=err.message)
        return {"ok": False, "error": err.to_status()}
    except Exception as exc:  # never let a bug take the socket handler down
        log.exception("action %r failed", message.get("type") if isinstance(message, dict) else message)
        return {"ok": False, "error": InternalError(f"Internal error occurred: {type(exc).__name__}: {exc}")
                .to_status()}


def summarize(result: Any) -> Any:
    """Shrink an action result for the ack: objects become kind/namespace/name/resourceVersion refs."""
    if isinstance(result, dict) and isinstance(result.get("metadata"), dict) and "kind" in result:
        meta = result["metadata"]
        ref = {"apiVersion": result.get("apiVersion"), "kind": result["kind"], "name": meta.get("name")}
        if meta.get("namespace"):
            ref["namespace"] = meta["namespace"]
        if meta.get("resourceVersion"):
            ref["resourceVersion"] = meta["resourceVersion"]
        return ref
    if isinstance(result, (list, tuple)):
        return [summarize(r) for r in result]
    if isinstance(result, dict):
        return {str(k): summarize(v) for k, v in result.items()}
    if result is None or isinstance(result, (str, int, float, bool)):
        return result
    return str(result)

"""Audit every Kubernetes API request once, where ``routes.dispatch`` routes it (engine/apiserver/audit.py).

The engine calls a request makes are not audited again (``common.call`` serves them as the client),
so a ``kubectl apply`` is the one ``patch`` kubectl sent, however many calls the handler made.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Response, current_app, request
from werkzeug.exceptions import HTTPException

from engine.apiserver.audit import ADMIN, SYSTEM_MASTERS, Identity
from engine.errors import StatusError

from ..policy import current_principal

if TYPE_CHECKING:
    from .routes import Target

_METHOD_VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
_WRITES = frozenset({"create", "update", "patch", "delete"})


def client_identity(user_agent: str | None = None) -> Identity:
    """Who the request is: the class member (class mode), else the kubeadm admin user, with its User-Agent."""
    agent = request.headers.get("User-Agent", "") if user_agent is None else user_agent
    if current_app.extensions.get("kubedrill.class") is None:
        return Identity(ADMIN[0], ADMIN[1], agent)
    principal = current_principal()
    if principal.role == "anonymous":
        return Identity(principal.name, ("system:unauthenticated",), agent)
    groups = SYSTEM_MASTERS if principal.role == "instructor" else ("system:authenticated",)
    return Identity(principal.name, groups, agent)


def record(target: "Target | None", verb: str | None, response: Response | None,
           error: StatusError | None = None) -> None:
    """Add the request's audit event to its cluster's log (nothing when the URL names no cluster)."""
    from .common import runtime
    try:
        rt = runtime()
    except StatusError:
        return
    verb = verb or _METHOD_VERBS.get(request.method, request.method.lower())
    code = error.code if error is not None else response.status_code if response is not None else 500
    rv = _written_revision(response) if error is None and verb in _WRITES and code < 300 else ""
    stage = "ResponseStarted" if verb == "watch" and error is None else "ResponseComplete"
    uri = request.path + (f"?{request.query_string.decode('latin-1')}" if request.query_string else "")
    identity = client_identity()
    ref = (None, "", "", "") if target is None else (target.rt, target.namespace or "", target.name or "",
                                                      target.sub or "")
    with rt.lock:
        cluster = rt.cluster
        cluster.api.audit.record(cluster.clock.now, verb, *ref, code, rv, error, actor=identity, uri=uri, stage=stage)


def http_error(err: HTTPException) -> StatusError:
    """A werkzeug error (a refused body) as the Status the blueprint answers it with."""
    status = StatusError(err.description or "")
    status.code = err.code or 500
    status.reason = {404: "NotFound", 405: "MethodNotAllowed", 413: "RequestEntityTooLarge"}.get(status.code,
                                                                                                "BadRequest")
    return status


def _written_revision(response: Response | None) -> str:
    """The resourceVersion of the object a successful write answered with ("" for a Status or a dry run)."""
    if response is None or not response.is_json:
        return ""
    body: Any = response.get_json(silent=True)
    meta = body.get("metadata") if isinstance(body, dict) else None
    rv = meta.get("resourceVersion") if isinstance(meta, dict) and body.get("kind") != "Status" else None
    return rv if isinstance(rv, str) else ""

"""``GET <cluster base>/ui/audit``: the cluster's audit trail as JSON lines (engine/apiserver/audit.py).

``since=<seq>`` (default 0) returns the events after that seq, oldest first, at most ``limit``
(default 500, at most 5,000); a reader pages on with the last seq it got. Events older than the
log's bound are gone: the first line's seq then jumps past ``since + 1``. Reading is a read of the
cluster: the class-mode gate lets through whoever may watch it (webapp/classroom/access.py).
"""
from __future__ import annotations

import re

from flask import Response, request

from engine.errors import BadRequest, Cause

from .hub import current_runtime
from .kube_api.common import dumps_bytes
from .views import ui_blueprint

audit_bp = ui_blueprint("audit", {"audit": {"since", "limit"}})

DEFAULT_LIMIT = 500
MAX_LIMIT = 5_000


def _count(name: str, default: int, maximum: int | None = None) -> int:
    """A whole, non-negative number parameter; 400 naming it otherwise."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,18}", raw):
        raise BadRequest(f'invalid value for query parameter "{name}": "{raw}": must be a non-negative integer',
                         causes=[Cause(name, f'Invalid value: "{raw}": must be a non-negative integer')])
    value = int(raw)
    if maximum is not None and value > maximum:
        raise BadRequest(f'invalid value for query parameter "{name}": {value}: must be at most {maximum}',
                         causes=[Cause(name, f"Invalid value: {value}: must be at most {maximum}")])
    return value


@audit_bp.get("/ui/audit")
def audit() -> Response:
    """One audit event per line, ``application/x-ndjson``."""
    since = _count("since", 0)
    limit = _count("limit", DEFAULT_LIMIT, MAX_LIMIT)
    runtime = current_runtime()
    with runtime.lock:
        events = runtime.cluster.api.audit.since(since, limit)
    body = b"".join(dumps_bytes(event) + b"\n" for event in events)
    response = Response(body, content_type="application/x-ndjson")
    response.headers["Cache-Control"] = "no-store"
    return response

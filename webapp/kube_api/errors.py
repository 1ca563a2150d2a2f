"""Render every failure as a ``metav1.Status`` response, the one error shape Kubernetes clients parse."""
from __future__ import annotations

import json
from typing import Any

from flask import Response
from werkzeug.exceptions import HTTPException

from engine.errors import BadRequest, NotFound, StatusError

from .common import safe_header


def status_response(err: StatusError, headers: dict[str, str] | None = None) -> Response:
    """Turn an engine ``StatusError`` into its HTTP response (code from the Status)."""
    status = err.to_status()
    resp = Response(json.dumps(status, separators=(",", ":")), status=status.get("code", 500),
                    mimetype="application/json")
    if err.retry_after is not None:
        resp.headers["Retry-After"] = str(err.retry_after)
    for k, v in (headers or {}).items():
        resp.headers[k] = safe_header(str(v))
    return resp


def http_error_response(err: HTTPException) -> Response:
    """A Werkzeug HTTP error (404 route, 405 method, ...) as a ``Status`` whose reason is the error's class."""
    code = err.code or 500
    status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": err.description, "reason": type(err).__name__, "code": code}
    return Response(json.dumps(status, separators=(",", ":")), status=code, mimetype="application/json")


def success_status(code: int = 200, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ``Status`` reporting success (eviction, binding, collection deletes of Status-only kinds)."""
    status: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                              "code": code}
    if details:
        status["details"] = details
    return status


def not_found_path() -> NotFound:
    """The apiserver's 404 for a URL that names no resource."""
    return NotFound("the server could not find the requested resource")


def bad_query(name: str, value: str, why: str = "") -> BadRequest:
    """A 400 for an unparsable query parameter, worded like the apiserver's conversion errors."""
    msg = f'invalid value for "{name}": "{value}"' + (f": {why}" if why else "")
    return BadRequest(msg)

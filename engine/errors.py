"""One error hierarchy for the whole engine, shaped like Kubernetes' ``StatusError``.

Every failure a client can cause is one of these; the web layer maps each to an HTTP ``Status``
object (``to_status``) or a socket error ack, so there is exactly one translation.
Messages follow apimachinery ``pkg/api/errors/errors.go``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Cause:
    """One field-level reason for an ``Invalid`` error."""

    field: str
    message: str
    reason: str = "FieldValueInvalid"

    def to_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "message": printable(self.message), "field": printable(self.field)}


class StatusError(Exception):
    """Base of every Kubernetes-style error; ``code`` and ``reason`` as in ``metav1.Status``."""

    code = 500
    reason = "InternalError"

    def __init__(self, message: str, *, name: str = "", group: str = "", kind: str = "",
                 causes: list[Cause] | None = None, retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        self.name = name
        self.group = group
        self.kind = kind
        self.causes = list(causes or [])
        self.retry_after = retry_after

    def to_status(self) -> dict[str, Any]:
        """Render as a ``metav1.Status`` dict (the wire shape for every error)."""
        details: dict[str, Any] = {}
        if self.name:
            details["name"] = printable(str(self.name))
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = [c.to_dict() for c in self.causes]
        if self.retry_after is not None:
            details["retryAfterSeconds"] = self.retry_after
        status: dict[str, Any] = {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": printable(str(self.message)), "reason": self.reason, "code": self.code,
        }
        if details:
            status["details"] = details
        return status


def printable(text: str) -> str:
    """``text`` that always encodes as UTF-8 (JSON, sockets): lone surrogates become ``\\udXXX`` escapes."""
    return text if text.isascii() else text.encode("utf-8", "backslashreplace").decode("utf-8")


def qualified(resource: str, group: str) -> str:
    """``deployments.apps`` / ``pods``: the resource name Kubernetes puts in messages."""
    return f"{resource}.{group}" if group else resource


class NotFound(StatusError):
    code, reason = 404, "NotFound"

    @classmethod
    def of(cls, resource: str, group: str, name: str) -> "NotFound":
        return cls(f'{qualified(resource, group)} "{name}" not found', name=name, group=group, kind=resource)


class AlreadyExists(StatusError):
    code, reason = 409, "AlreadyExists"

    @classmethod
    def of(cls, resource: str, group: str, name: str) -> "AlreadyExists":
        return cls(f'{qualified(resource, group)} "{name}" already exists', name=name, group=group, kind=resource)


class Conflict(StatusError):
    code, reason = 409, "Conflict"

    @classmethod
    def modified(cls, resource: str, group: str, name: str) -> "Conflict":
        return cls(f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": the object has been '
                   "modified; please apply your changes to the latest version and try again",
                   name=name, group=group, kind=resource)


class Invalid(StatusError):
    code, reason = 422, "Invalid"

    @classmethod
    def of(cls, kind: str, group: str, name: str, causes: list[Cause]) -> "Invalid":
        label = f"{kind}.{group}" if group else kind
        parts = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
        summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
        return cls(f'{label} "{name}" is invalid: {summary}', name=name, group=group, kind=kind, causes=causes)


class BadRequest(StatusError):
    code, reason = 400, "BadRequest"


class Unauthorized(StatusError):
    code, reason = 401, "Unauthorized"


class Forbidden(StatusError):
    code, reason = 403, "Forbidden"


class MethodNotAllowed(StatusError):
    code, reason = 405, "MethodNotAllowed"


class NotAcceptable(StatusError):
    code, reason = 406, "NotAcceptable"


class Expired(StatusError):
    """The 410 Gone analogue: a watch or continue token older than the history window."""

    code, reason = 410, "Expired"


class RequestEntityTooLarge(StatusError):
    code, reason = 413, "RequestEntityTooLarge"


class UnsupportedMediaType(StatusError):
    code, reason = 415, "UnsupportedMediaType"


class TooManyRequests(StatusError):
    code, reason = 429, "TooManyRequests"


class InternalError(StatusError):
    code, reason = 500, "InternalError"


class ServiceUnavailable(StatusError):
    code, reason = 503, "ServiceUnavailable"

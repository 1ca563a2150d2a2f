"""Shared request plumbing: the runtime, query parsing, JSON responses.

JSON goes out through ``orjson`` when it is installed (5-10x faster than ``json`` on a 1,000-pod
list, and it writes bytes, which is what the socket wants); ``json`` is the fallback, and also
handles the rare value orjson refuses (an integer beyond 64 bits).
"""
from __future__ import annotations

import json
import math
import re
from typing import Any, Callable

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is in requirements.txt; keep working without it
    orjson = None

from flask import Response, current_app, request

from engine.errors import BadRequest

from ..hub import current_runtime


def runtime():
    """The ``webapp.runtime.Runtime`` (cluster + lock) of the cluster the request addresses (``/c/<id>``)."""
    return current_runtime()


def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``fn(cluster, *args)`` under the runtime lock (the cluster may be replaced by a reset)."""
    rt = runtime()

    def run() -> Any:
        cluster = rt.cluster
        with cluster.api.audit.suppressed():   # the request is audited once, as a whole (auditing.py)
            return fn(cluster, *args, **kwargs)
    return rt.call(run)


def dumps(obj: Any) -> str:
    """Compact JSON text for ``obj``."""
    return dumps_bytes(obj).decode("utf-8")


def dumps_bytes(obj: Any) -> bytes:
    """Compact JSON for ``obj`` as UTF-8 bytes (what responses and watch streams write)."""
    if orjson is not None:
        try:
            return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:
            pass  # e.g. an int beyond 64 bits: json handles it (and raises the usual error otherwise)
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


_UNSAFE_HEADER = re.compile(r"[^\t\x20-\x7e\x80-\xff]")   # what WSGI cannot send (latin-1, no controls)
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def header_text(text: str, *, quote: bool = False) -> str:
    """``text`` as a header value that cannot fail to send: controls become spaces, the rest goes out as UTF-8.

    WSGI headers are latin-1 strings, so the UTF-8 bytes are carried as latin-1 characters: on the wire
    that is exactly what kube-apiserver (Go) writes, and what kubectl decodes. ``quote``: a quoted-string
    with ``\\`` and ``"`` escaped, as apimachinery's ``NewWarningHeader`` writes the warning text.
    """
    text = _CONTROLS.sub(" ", text)
    if quote:
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text.encode("utf-8", "replace").decode("latin-1")


def safe_header(value: str) -> str:
    """``value`` unchanged when it is already a safe header value, else ``header_text(value)``."""
    return header_text(value) if _UNSAFE_HEADER.search(value) else value


def json_response(obj: Any, status: int = 200, content_type: str = "application/json",
                  headers: dict[str, str] | list[tuple[str, str]] | None = None) -> Response:
    resp = Response(dumps_bytes(obj), status=status, content_type=content_type)
    if headers:
        for k, v in (headers.items() if isinstance(headers, dict) else headers):
            resp.headers.add(k, safe_header(str(v)))
    return resp


def q_str(name: str) -> str | None:
    return request.args.get(name)


INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1


def q_int(name: str, *, minimum: int | None = None) -> int | None:
    """An int64 query parameter, or None; 400 BadRequest when it is not one (Go's ``strconv.ParseInt``)."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not re.fullmatch(r"[+-]?[0-9]{1,30}", raw):   # int() would also take " 1", "1_000" and "١"
        raise BadRequest(f'unable to parse query parameter "{name}": strconv.ParseInt: parsing "{raw}": '
                         "invalid syntax")
    value = int(raw)
    if not INT64_MIN <= value <= INT64_MAX:
        raise BadRequest(f'unable to parse query parameter "{name}": strconv.ParseInt: parsing "{raw}": '
                         "value out of range")
    if minimum is not None and value < minimum:
        raise BadRequest(f'invalid value for query parameter "{name}": {value}: must be greater than or equal '
                         f"to {minimum}")
    return value


def q_float(name: str, default: float, *, minimum: float = 0.0, maximum: float = 1e12) -> float:
    """A finite number query parameter within [minimum, maximum] (``default`` when absent); 400 otherwise."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f'invalid value for query parameter "{name}": "{raw}": not a number') from None
    if not math.isfinite(value) or not minimum <= value <= maximum:
        raise BadRequest(f'invalid value for query parameter "{name}": "{raw}": must be a finite number between '
                         f"{minimum:g} and {maximum:g}")
    return value


_TRUE = ("true", "1", "True", "TRUE", "t", "T")
_FALSE = ("false", "0", "False", "FALSE", "f", "F", "")


def q_bool(name: str) -> bool:
    """A boolean query parameter (Go ``strconv.ParseBool`` spellings); 400 on anything else."""
    raw = request.args.get(name)
    if raw is None:
        return False
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise BadRequest(f'unable to parse query parameter "{name}": strconv.ParseBool: parsing "{raw}": '
                     "invalid syntax")


def dry_run() -> bool:
    """``?dryRun=All`` → True; absent → False; anything else is a 400 like the apiserver's."""
    values = request.args.getlist("dryRun")
    if not values:
        return False
    for v in values:
        if v != "All":
            raise BadRequest(f'Invalid dry run value: "{v}": supported values: "All"', kind="DeleteOptions"
                             if request.method == "DELETE" else "")
    return True


def field_validation() -> str:
    """``?fieldValidation``: Strict, Warn (the default) or Ignore; 400 for anything else."""
    raw = request.args.get("fieldValidation")
    if raw in (None, ""):
        return "Warn"
    if raw not in ("Strict", "Warn", "Ignore"):
        raise BadRequest(f'fieldValidation must be one of "Ignore", "Warn", or "Strict", got "{raw}"')
    return raw

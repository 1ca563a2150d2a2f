"""The class template: what a joining student's cluster is made from (``Hub.create``'s ``template``).

``{"drill": <drill id> | null, "manifests": <YAML> | null, "nodes"?: 1-50, "empty"?: bool}``; null
or ``{}`` is the demo cluster. Checked whole before it is stored, so a template that would fail on
the first join is refused now, with the field at fault: the manifests are applied to a scratch
cluster of the template's shape (a few milliseconds), which catches what the real join would trip on.
"""
from __future__ import annotations

from typing import Any

from engine.cluster import Cluster
from engine.errors import Cause, Invalid, NotFound, StatusError

from ..control import MAX_TEXT_BYTES
from ..drills import find_drill

FIELDS = ("drill", "manifests", "nodes", "empty")
MAX_NODES = 50   # per student: a class of 60 such clusters must still fit the server


def check_template(body: Any, base: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The template to store (None = the demo cluster's), or Invalid naming the field at fault.

    ``base``: the server's own cluster settings (seed, profile, empty) the template is laid over.
    """
    base = base or {}
    if body is None:
        return None
    if not isinstance(body, dict):
        raise _invalid("template", "must be an object or null")
    unknown = sorted(str(k) for k in body if k not in FIELDS)
    if unknown:
        raise _invalid(unknown[0][:64], "unknown field: supported fields: " + ", ".join(f'"{f}"' for f in FIELDS))
    template: dict[str, Any] = {}
    drill = body.get("drill")
    if drill is not None:
        if not isinstance(drill, str):
            raise _invalid("drill", "must be a drill id (string) or null")
        try:
            find_drill(drill)
        except NotFound as err:
            raise _invalid("drill", err.message, "FieldValueNotSupported") from None
        template["drill"] = drill
    nodes = body.get("nodes")
    if nodes is not None:
        if isinstance(nodes, bool) or not isinstance(nodes, int) or not 1 <= nodes <= MAX_NODES:
            raise _invalid("nodes", f"must be an integer 1-{MAX_NODES}")
        template["nodes"] = nodes
    empty = body.get("empty")
    if empty is not None:
        if not isinstance(empty, bool):
            raise _invalid("empty", "must be a boolean")
        template["empty"] = empty
    manifests = body.get("manifests")
    if manifests is not None:
        if not isinstance(manifests, str):
            raise _invalid("manifests", "must be YAML text or null")
        if len(manifests.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
            raise _invalid("manifests", f"must be no more than {MAX_TEXT_BYTES} bytes")
        if manifests.strip():
            _try_manifests(manifests, seed=int(base.get("seed", 1)), profile=str(base.get("profile", "demo")),
                           nodes=1, empty=bool(template.get("empty", base.get("empty", False))))
            template["manifests"] = manifests
    return template or None


def _try_manifests(manifests: str, **shape: Any) -> None:
    """Apply ``manifests`` to a throwaway cluster like the students' (memory only); Invalid if it fails."""
    scratch = Cluster(store_url=None, **shape)
    try:
        if not scratch.apply(manifests):
            raise _invalid("manifests", "contains no object")
    except StatusError as err:
        if isinstance(err, Invalid) and err.causes and err.causes[0].field == "manifests":
            raise
        raise _invalid("manifests", err.message) from None
    finally:
        close = getattr(scratch, "close", None)
        if callable(close):
            close()


def _invalid(field: str, message: str, reason: str = "FieldValueInvalid") -> Invalid:
    return Invalid(f"{field}: {message}", kind="template", causes=[Cause(field, message, reason)])

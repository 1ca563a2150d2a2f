"""Walk the v1.32 OpenAPI schema for patch metadata and compare JSON values the way Go decodes them.

Shared by ``patch`` (strategic merge patch) and ``fieldmanager`` (server-side apply), as upstream shares
apimachinery's ``strategicpatch.LookupPatchMeta`` between ``handlers/patch.go`` and the field manager:
resolve a kind to its root schema, step into a field (``prop``) or a list's items (``items_prop``), read a
field's patch strategy and merge key (``patch_meta``); ``same``/``dedupe`` compare decoded scalars.
"""
from __future__ import annotations

import json
from typing import Any

from . import schema

_REF_PREFIX = "#/$defs/"
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def supports_strategic(api_version: str, kind: str) -> bool:
    """Tell whether the apiserver would accept a strategic merge patch for this kind.

    Built-in kinds carry patch metadata in their OpenAPI schema; custom kinds (e.g. the chaos kinds) do not, and
    the real apiserver answers ``415 UnsupportedMediaType`` for them.
    """
    return schema.definition_name(api_version or "", kind) is not None


def root_prop(api_version: str, kind: str) -> dict:
    """Return a property-shaped schema for a whole object; unknown kinds still get ObjectMeta's semantics."""
    name = schema.definition_name(api_version or "", kind)
    if name is not None:
        return {"$ref": _REF_PREFIX + name}
    return {"type": "object", "properties": {"metadata": {"$ref": _REF_PREFIX + _OBJECT_META}}}


def type_of(prop: dict | None) -> dict | None:
    """Resolve a property schema to the schema of its value (following ``$ref``)."""
    seen = 0
    while prop is not None and "$ref" in prop and seen < 8:
        prop = schema.definitions().get(prop["$ref"].removeprefix(_REF_PREFIX))
        seen += 1
    return prop


def prop(typ: dict | None, name: str) -> dict | None:
    """Return the property schema of field ``name`` in an object schema (or a map's value schema)."""
    if typ is None:
        return None
    props = typ.get("properties")
    if props is not None and name in props:
        return props[name]
    extra = typ.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def items_prop(prop: dict | None) -> dict | None:
    """Return the schema of a list property's items (None when it has none)."""
    if prop is None:
        return None
    items = prop.get("items")
    return items if isinstance(items, dict) else None


def patch_meta(prop: dict | None) -> tuple[str, str]:
    """Return (patch strategy without retainKeys, merge key) of a field, as ``extractRetainKeysPatchStrategy``."""
    if prop is None:
        return "", ""
    strategies = [s for s in str(prop.get("x-kubernetes-patch-strategy", "")).split(",") if s]
    strategy = next((s for s in strategies if s != "retainKeys"), "")
    return strategy, str(prop.get("x-kubernetes-patch-merge-key", ""))


def json_kind(value: Any) -> str:
    """Name a decoded JSON value's type as Go's ``json: cannot unmarshal <kind>`` errors do."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if value is None:
        return "null"
    return "number"


def _scalar_key(value: Any) -> Any:
    """Compare JSON scalars as Go does after decoding: numbers by value, bools apart from numbers."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("num", float(value))
    if isinstance(value, (dict, list)):
        return ("json", json.dumps(value, sort_keys=True))
    return (type(value).__name__, value)


def same(a: Any, b: Any) -> bool:
    """Tell whether two decoded JSON values are equal as Go sees them (``1 == 1.0``, ``True != 1``)."""
    return _scalar_key(a) == _scalar_key(b)


def dedupe(values: list) -> list:
    """Return ``values`` without repeats (first occurrence wins), comparing as ``same`` does."""
    seen: set = set()
    out = []
    for value in values:
        key = _scalar_key(value)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out

"""The v1.32 OpenAPI schemas of the built-in kinds: type checks, unknown fields, patch metadata.

The definitions ship with the ``kubernetes-validate`` package (``_definitions.json``, keys under ``$defs``,
``$ref`` as ``#/$defs/<name>``). They are loaded once, lazily. Instead of running ``jsonschema`` on
every write (~300 µs for a small pod), each definition is compiled once into a small node tree that a
single recursive walk checks for wrong types, missing required fields and unknown fields, rendering
field paths the Kubernetes way (``spec.template.spec.containers[0].image``, map keys as ``[key]``).
``schema_document`` returns the kind's schema as one JSON Schema document, which the tests hand to
the real ``jsonschema`` to cross-check the fast walk.

Messages follow the apiserver's schema validation wording, e.g. for ``replicas: "three"``::

    Cause(field="spec.replicas", reason="FieldValueInvalid",
          message='Invalid value: "string": spec.replicas in body must be of type integer: "string"')

Strict field validation (``?fieldValidation=Strict``) is a decoding error in Kubernetes, not a 422:
``unknown_fields`` returns the paths so the API server can raise
``BadRequest('strict decoding error: unknown field "spec.replicass"')``.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable, Mapping

from ..errors import Cause

SCHEMA_VERSION = "v1.32.0-local"
_DEF_PREFIX = "#/$defs/"

_defs: dict[str, dict[str, Any]] | None = None
_by_gvk: dict[tuple[str, str], str] | None = None


def definitions() -> dict[str, dict[str, Any]]:
    """Return the raw ``$defs`` dict (definition name → schema); loaded once, never mutate it."""
    global _defs, _by_gvk
    if _defs is None:
        path = resources.files("kubernetes_validate").joinpath(
            f"kubernetes-json-schema/{SCHEMA_VERSION}/_definitions.json")
        defs = json.loads(path.read_text(encoding="utf-8"))["$defs"]
        by_gvk: dict[tuple[str, str], str] = {}
        for name, schema in defs.items():
            for gvk in schema.get("x-kubernetes-group-version-kind", ()):
                group, version = gvk.get("group", ""), gvk["version"]
                api_version = f"{group}/{version}" if group else version
                # Several definitions can claim a GVK (e.g. meta DeleteOptions); the kind's own wins.
                if name.endswith("." + gvk["kind"]) or (api_version, gvk["kind"]) not in by_gvk:
                    by_gvk[(api_version, gvk["kind"])] = name
        _defs, _by_gvk = defs, by_gvk
    return _defs


def definition_name(api_version: str, kind: str) -> str | None:
    """Return the ``$defs`` name for a kind (``apps/v1``, ``Deployment`` → ``io.k8s.api.apps.v1.Deployment``)."""
    definitions()
    assert _by_gvk is not None
    return _by_gvk.get((api_version, kind))


def definition_for(api_version: str, kind: str) -> dict[str, Any] | None:
    """Return the raw schema of a kind, or None when the schemas do not know it."""
    name = definition_name(api_version, kind)
    return definitions()[name] if name else None


def ref_name(schema: Mapping[str, Any]) -> str | None:
    """Return the definition name a ``{"$ref": "#/$defs/X"}`` schema points to, or None."""
    ref = schema.get("$ref")
    return ref[len(_DEF_PREFIX):] if isinstance(ref, str) and ref.startswith(_DEF_PREFIX) else None


# ---------------------------------------------------------------------------------------------------
# Patch metadata (used by strategic merge patch)

def _resolve(def_name_or_schema: str | Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if def_name_or_schema is None:
        return None
    if isinstance(def_name_or_schema, str):
        return definitions().get(def_name_or_schema)
    name = ref_name(def_name_or_schema)
    return definitions().get(name) if name else def_name_or_schema


def patch_strategy(def_name_or_schema: str | Mapping[str, Any] | None, field: str) -> tuple[str | None, str | None]:
    """Return ``(x-kubernetes-patch-strategy, x-kubernetes-patch-merge-key)`` of ``field`` in a definition.

    ``def_name_or_schema`` is a ``$defs`` name (``"io.k8s.api.core.v1.PodSpec"``), a schema dict, or a
    ``{"$ref": ...}``. ``("merge", "name")`` for ``PodSpec.containers``, ``("merge,retainKeys", "name")`` for
    ``PodSpec.volumes``, ``("retainKeys", None)`` for ``DeploymentSpec.strategy``, ``(None, None)`` for a
    field without patch metadata or an unknown field (callers then replace lists / merge maps).
    """
    schema = _resolve(def_name_or_schema)
    prop = (schema or {}).get("properties", {}).get(field)
    if not prop:
        return None, None
    return prop.get("x-kubernetes-patch-strategy"), prop.get("x-kubernetes-patch-merge-key")


def child_schema(def_name_or_schema: str | Mapping[str, Any] | None, field: str) -> Mapping[str, Any] | None:
    """Return the schema of ``field``'s value: for a list its item schema, for a map its value schema.

    ``$ref`` is resolved, so the result can be fed back to ``patch_strategy``/``child_schema`` to descend:
    ``child_schema("io.k8s.api.core.v1.PodSpec", "containers")`` is the ``Container`` definition.
    Returns None when the field is unknown or free-form.
    """
    schema = _resolve(def_name_or_schema)
    prop = (schema or {}).get("properties", {}).get(field)
    if prop is None:
        return None
    prop = _resolve(prop)
    while prop is not None:
        if "items" in prop:
            prop = _resolve(prop["items"])
        elif isinstance(prop.get("additionalProperties"), Mapping) and "properties" not in prop:
            prop = _resolve(prop["additionalProperties"])
        else:
            break
    return prop


def list_merge_key(api_version: str, kind: str, path: Iterable[str | int]) -> tuple[str | None, str | None]:
    """Return ``(patch strategy, merge key)`` of the field at ``path`` in a kind.

    ``path`` names fields from the object root; list indexes (ints) are skipped, e.g.
    ``list_merge_key("apps/v1", "Deployment", ("spec", "template", "spec", "containers"))`` →
    ``("merge", "name")`` and ``(..., "containers", 0, "ports")`` → ``("merge", "containerPort")``.
    """
    schema: Mapping[str, Any] | None = definition_for(api_version, kind)
    keys = [p for p in path if not isinstance(p, int)]
    if not keys:
        return None, None
    for key in keys[:-1]:
        schema = child_schema(schema, key)
        if schema is None:
            return None, None
    return patch_strategy(schema, keys[-1])


# ---------------------------------------------------------------------------------------------------
# Compiled checking

_TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
               float: "number", type(None): "null"}


class _Node:
    """One compiled schema: allowed types, known properties, map values, list items, required names."""

    __slots__ = ("types", "props", "values", "items", "required", "closed", "type_text")

    def __init__(self) -> None:
        self.types: frozenset[str] | None = None   # None = any type
        self.props: dict[str, _Node] | None = None
        self.values: _Node | None = None          # additionalProperties schema (maps)
        self.items: _Node | None = None
        self.required: tuple[str, ...] = ()
        self.closed = False                       # object with known properties only
        self.type_text = ""


_compiled: dict[str, _Node] = {}


def _types_of(schema: Mapping[str, Any]) -> set[str] | None:
    if "oneOf" in schema:  # IntOrString and Quantity: the union of the alternatives
        out: set[str] = set()
        for alt in schema["oneOf"]:
            out |= _types_of(alt) or set()
        return out
    t = schema.get("type")
    if t is None:
        return None
    return {t} if isinstance(t, str) else set(t)


def _compile(schema: Mapping[str, Any]) -> _Node:
    name = ref_name(schema)
    if name is not None:
        node = _compiled.get(name)
        if node is None:
            node = _compiled[name] = _Node()  # registered first: definitions can be recursive
            _fill(node, definitions()[name])
        return node
    node = _Node()
    _fill(node, schema)
    return node


def _fill(node: _Node, schema: Mapping[str, Any]) -> None:
    types = _types_of(schema)
    if types is not None:
        types.discard("null")  # every optional field may be null
        if "number" in types:
            types.add("integer")
        node.types = frozenset(types)
        node.type_text = ",".join(sorted(t for t in types if not (t == "integer" and "number" in types)))
    if "properties" in schema:
        node.props = {k: _compile(v) for k, v in schema["properties"].items()}
        node.closed = "additionalProperties" not in schema
        node.required = tuple(schema.get("required", ()))
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping):
        node.values = _compile(extra)
    if "items" in schema:
        node.items = _compile(schema["items"])


@lru_cache(maxsize=None)
def _root(api_version: str, kind: str) -> _Node | None:
    name = definition_name(api_version, kind)
    return _compile({"$ref": _DEF_PREFIX + name}) if name else None


def _render(path: tuple | None) -> str:
    parts: list[str] = []
    while path is not None:
        path, key, style = path
        if style == 0:
            parts.append(key)
        else:
            parts.append(f"[{key}]")
    out = ""
    for part in reversed(parts):
        out = out + part if (not out or part.startswith("[")) else out + "." + part
    return out


def _walk(value: Any, node: _Node, path: tuple | None, causes: list[Cause] | None,
          unknown: list[str] | None, required: bool) -> None:
    t = _TYPE_NAMES.get(type(value))
    if t is None:  # not JSON (e.g. a YAML date, a str/dict subclass): leave it to the decoder
        t = "string" if isinstance(value, str) else "object" if isinstance(value, dict) else None
        if t is None:
            return
    types = node.types
    if types is not None and t != "null" and t not in types:
        if not (t == "number" and "integer" in types and float(value).is_integer()):
            if causes is not None:
                field = _render(path)
                causes.append(Cause(field, f'Invalid value: "{t}": {field} in body must be of type '
                                           f'{node.type_text}: "{t}"', "FieldValueInvalid"))
            return
    if t == "object":
        props = node.props
        if props is not None:
            for key, child in value.items():
                sub = props.get(key)
                if sub is not None:
                    if child is not None:
                        _walk(child, sub, (path, key, 0), causes, unknown, required)
                elif node.values is not None:
                    _walk(child, node.values, (path, key, 1), causes, unknown, required)
                elif node.closed and unknown is not None:
                    unknown.append(_render((path, key, 0)))
            if required and causes is not None:
                for key in node.required:
                    if value.get(key) is None:
                        causes.append(Cause(_render((path, key, 0)), "Required value", "FieldValueRequired"))
        elif node.values is not None:
            for key, child in value.items():
                if child is not None:
                    _walk(child, node.values, (path, key, 1), causes, unknown, required)
    elif t == "array" and node.items is not None:
        items = node.items
        for i, child in enumerate(value):
            if child is not None:
                _walk(child, items, (path, i, 1), causes, unknown, required)


def schema_causes(api_version: str, kind: str, obj: Mapping[str, Any], strict: bool = False, *,
                  required: bool = False) -> list[Cause]:
    """Return type errors (and, with ``required``, missing required fields) in ``obj`` against its schema.

    With ``strict`` unknown fields are reported too, as ``FieldValueInvalid`` causes whose message is
    ``unknown field "spec.foo"`` (the API server normally uses ``unknown_fields`` instead and raises
    BadRequest). ``status`` is never checked for required fields. Unknown kinds yield no causes.
    """
    root = _root(api_version, kind)
    if root is None:
        return []
    causes: list[Cause] = []
    unknown: list[str] | None = [] if strict else None
    if required and isinstance(obj, Mapping) and "status" in obj:
        body = {k: v for k, v in obj.items() if k != "status"}
        _walk(body, root, None, causes, unknown, True)
        _walk({"status": obj["status"]}, root, None, causes, unknown, False)
    else:
        _walk(obj, root, None, causes, unknown, required)
    for field in unknown or ():
        causes.append(Cause(field, f'unknown field "{field}"', "FieldValueInvalid"))
    return causes


def unknown_fields(api_version: str, kind: str, obj: Mapping[str, Any]) -> list[str]:
    """Return the paths of fields the schema does not know, in document order.

    Render the strict-decoding error from it: ``"strict decoding error: " + ", ".join(f'unknown field "{p}"' ...)``.
    Free-form fields (``FieldsV1``, ``RawExtension``, maps) never report unknown keys.
    """
    root = _root(api_version, kind)
    if root is None:
        return []
    out: list[str] = []
    _walk(obj, root, None, None, out, False)
    return out


def strict_decoding_message(paths: list[str]) -> str:
    """Return the apiserver's BadRequest message for unknown fields under ``fieldValidation=Strict``."""
    return "strict decoding error: " + ", ".join(f'unknown field "{p}"' for p in paths)


def schema_document(api_version: str, kind: str) -> dict:
    """Return the kind's schema as one Draft 2020-12 document (all definitions, ``$ref`` to the kind)."""
    name = definition_name(api_version, kind)
    if name is None:
        raise KeyError(f"no schema for {api_version} {kind}")
    return {"$defs": definitions(), "$ref": _DEF_PREFIX + name}

"""OpenAPI v3 documents: the index at ``/openapi/v3`` and one document per group-version.

kubectl ``apply``/``create -f`` download them to check that the server supports ``fieldValidation``
(one PATCH path per kind with ``x-kubernetes-group-version-kind``), and ``kubectl explain`` reads the
component schemas. Schemas come from ``engine.schema.definitions()`` (the kubernetes-validate v1.32
JSON schemas) converted to OpenAPI 3.0 shape: ``$ref`` into ``#/components/schemas``, nullable type
arrays collapsed to one type, int-or-string as the apiserver publishes it.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

from engine.apiserver import resources

_REF = "#/$defs/"
_COMPONENT = "#/components/schemas/"


def _definitions() -> dict[str, dict[str, Any]]:
    try:
        from engine.apiserver.schema import definitions
        return definitions()
    except ImportError:  # engine/apiserver/schema.py not written yet: read the schemas ourselves
        from importlib import resources as ilr
        path = ilr.files("kubernetes_validate").joinpath("kubernetes-json-schema/v1.32.0-local/_definitions.json")
        return json.loads(path.read_text(encoding="utf-8"))["$defs"]


_SPECIAL = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": "string", "format": "int-or-string",
                                                         "x-kubernetes-int-or-string": True},
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": "string", "format": "quantity",
                                                      "x-kubernetes-int-or-string": True},
}


def _convert(node: Any) -> Any:
    """Turn a JSON-Schema fragment into its OpenAPI 3.0 equivalent (recursively)."""
    if isinstance(node, list):
        return [_convert(x) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k == "$ref" and isinstance(v, str) and v.startswith(_REF):
            name = v[len(_REF):]
            # OpenAPI 3.0 ignores siblings of $ref; the apiserver wraps them in allOf.
            out["allOf"] = [{"$ref": _COMPONENT + name}]
        elif k == "type" and isinstance(v, list):
            types = [t for t in v if t != "null"]
            if len(types) == 1:
                out["type"] = types[0]
        elif k == "enum" and isinstance(v, list):
            values = [x for x in v if x is not None]
            if values:
                out["enum"] = values
        else:
            out[k] = _convert(v)
    if "allOf" in out and len(out) == 1:
        return {"$ref": out["allOf"][0]["$ref"]}
    return out


@lru_cache(maxsize=1)
def components() -> dict[str, Any]:
    """Every definition, converted (computed once)."""
    defs = _definitions()
    return {name: dict(_SPECIAL[name]) if name in _SPECIAL else _convert(schema) for name, schema in defs.items()}


def _refs(schema: Any, acc: set[str]) -> None:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(_COMPONENT):
            acc.add(ref[len(_COMPONENT):])
        for v in schema.values():
            _refs(v, acc)
    elif isinstance(schema, list):
        for v in schema:
            _refs(v, acc)


def _closure(roots: list[str]) -> dict[str, Any]:
    comps = components()
    seen: set[str] = set()
    todo = [r for r in roots if r in comps]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        found: set[str] = set()
        _refs(comps[name], found)
        todo.extend(n for n in found if n not in seen and n in comps)
    return {n: comps[n] for n in sorted(seen)}


def _def_name(rt: resources.ResourceType) -> str | None:
    try:
        from engine.apiserver.schema import definition_name
        return definition_name(rt.api_version, rt.kind)
    except ImportError:
        for name, schema in _definitions().items():
            for gvk in schema.get("x-kubernetes-group-version-kind", ()):
                if gvk.get("group", "") == rt.group and gvk.get("version") == rt.version and gvk["kind"] == rt.kind:
                    return name
        return None


def _param(name: str, where: str = "query", required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "schema": {"type": "string", "uniqueItems": True}}


_WRITE_PARAMS = [_param("dryRun"), _param("fieldManager"), _param("fieldValidation")]


def _op(rt: resources.ResourceType, action: str, ref: str | None, params: list[dict[str, Any]],
        body: bool = False) -> dict[str, Any]:
    schema = {"$ref": _COMPONENT + ref} if ref else {"type": "object"}
    op: dict[str, Any] = {
        "description": f"{action} {rt.kind}",
        "operationId": f"{action}{rt.kind}",
        "parameters": params,
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}},
                      "401": {"description": "Unauthorized"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
    }
    if body:
        op["requestBody"] = {"content": {"*/*": {"schema": schema}}, "required": True}
    return op


def _patch_op(rt: resources.ResourceType, ref: str | None) -> dict[str, Any]:
    op = _op(rt, "patch", ref, _WRITE_PARAMS + [_param("force")])
    op["requestBody"] = {"content": {t: {"schema": {"type": "object"}} for t in (
        "application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json",
        "application/strategic-merge-patch+json")}, "required": True}
    return op


@lru_cache(maxsize=None)
def document(group_version: str) -> dict[str, Any] | None:
    """The OpenAPI v3 document for ``api/v1`` or ``apis/<group>/<version>`` (None if unknown)."""
    gv = group_version[len("api/"):] if group_version.startswith("api/") else \
        group_version[len("apis/"):] if group_version.startswith("apis/") else None
    if gv is None:
        return None
    rts = resources.groups().get(gv)
    if not rts or (group_version.startswith("api/") and "/" in gv):
        return None
    prefix = "/" + group_version
    paths: dict[str, Any] = {}
    roots: list[str] = ["io.k8s.apimachinery.pkg.apis.meta.v1.Status",
                        "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"]
    for rt in rts:
        ref = _def_name(rt)
        if ref:
            roots.append(ref)
            roots.append(ref + "List")
        ns = "/namespaces/{namespace}" if rt.namespaced else ""
        name_p = [_param("name", "path", True)] + ([_param("namespace", "path", True)] if rt.namespaced else [])
        coll_p = [_param("namespace", "path", True)] if rt.namespaced else []
        list_ref = (ref + "List") if ref and (ref + "List") in components() else None
        paths[f"{prefix}{ns}/{rt.plural}"] = {
            "parameters": coll_p,
            "get": _op(rt, "list", list_ref, [_param("labelSelector"), _param("fieldSelector"), _param("limit"),
                                              _param("continue"), _param("watch"), _param("resourceVersion")]),
            "post": _op(rt, "post", ref, _WRITE_PARAMS, body=True),
            "delete": _op(rt, "deletecollection", None, [_param("labelSelector"), _param("fieldSelector")]),
        }
        paths[f"{prefix}{ns}/{rt.plural}/{{name}}"] = {
            "parameters": name_p,
            "get": _op(rt, "get", ref, []),
            "put": _op(rt, "put", ref, _WRITE_PARAMS, body=True),
            "patch": _patch_op(rt, ref),
            "delete": _op(rt, "delete", None, [_param("dryRun"), _param("gracePeriodSeconds"),
                                               _param("propagationPolicy")]),
        }
        if "status" in rt.subresources:
            paths[f"{prefix}{ns}/{rt.plural}/{{name}}/status"] = {
                "parameters": name_p, "get": _op(rt, "get", ref, []), "put": _op(rt, "put", ref, _WRITE_PARAMS, True),
                "patch": _patch_op(rt, ref)}
        if rt.namespaced:
            paths[f"{prefix}/{rt.plural}"] = {"get": _op(rt, "list", list_ref, [_param("labelSelector")])}
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": _closure(roots)},
    }


@lru_cache(maxsize=None)
def serialized(group_version: str) -> tuple[bytes, str] | None:
    """The JSON bytes of a document and their hash (the ``?hash=`` kubectl caches by)."""
    doc = document(group_version)
    if doc is None:
        return None
    body = json.dumps(doc, separators=(",", ":")).encode()
    return body, hashlib.sha512(body).hexdigest().upper()


def group_versions() -> list[str]:
    """``api/v1`` and ``apis/<g>/<v>`` for every served group-version."""
    return [("apis/" + gv) if "/" in gv else ("api/" + gv) for gv in resources.groups()]


def index() -> dict[str, Any]:
    """``GET /openapi/v3``: every group-version with its hashed URL."""
    paths = {}
    for gv in group_versions():
        ser = serialized(gv)
        if ser is not None:
            paths[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={ser[1]}"}
    return {"paths": paths}

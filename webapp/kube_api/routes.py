"""REST handlers for every kind in ``engine/apiserver/resources.py``: list/get/create/update/patch/delete + subresources.

The HTTP layer only translates (URL → resource, query/body → arguments, result → JSON/Table); every
decision — validation, defaulting, patch semantics, deletion — is the API server's
(``cluster.api``), always called under the runtime lock.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Response, request
from werkzeug.exceptions import HTTPException

from engine.apiserver import resources
from engine.errors import BadRequest, Cause, InternalError, MethodNotAllowed, NotFound, StatusError
from engine.component_helpers.node_lease import materialized_lease

from ..hub import request_cluster
from ..policy import authorize, current_principal
from . import auditing, logs, media, printers, watch
from .common import call, dry_run, field_validation, header_text, json_response, q_bool, q_int, q_str
from .discovery import served_subresources
from .errors import not_found_path, success_status


@dataclass(frozen=True)
class Target:
    """What a URL names: a resource type, an optional namespace, name and subresource."""

    rt: resources.ResourceType
    namespace: str | None
    name: str | None
    sub: str | None


def resolve(group_version: str, segments: list[str]) -> Target:
    """Map the path segments after ``/api/v1`` or ``/apis/<g>/<v>`` to a Target; 404 otherwise."""
    rts = {rt.plural: rt for rt in resources.groups().get(group_version, [])}
    if not rts or not segments or any(s == "" for s in segments):
        raise not_found_path()
    if segments[0] == "namespaces" and len(segments) >= 3 and segments[2] in rts and rts[segments[2]].namespaced:
        if len(segments) > 5:
            raise not_found_path()
        rt = rts[segments[2]]
        name = segments[3] if len(segments) > 3 else None
        sub = segments[4] if len(segments) > 4 else None
        namespace: str | None = segments[1]
    else:
        rt = rts.get(segments[0])
        if rt is None or len(segments) > 3:
            raise not_found_path()
        name = segments[1] if len(segments) > 1 else None
        sub = segments[2] if len(segments) > 2 else None
        if rt.namespaced and name is not None:
            raise not_found_path()
        namespace = None
    if sub is not None and sub not in served_subresources(rt):
        raise not_found_path()
    return Target(rt, namespace, name, sub)


def dispatch(group_version: str, path: str) -> Response:
    """Route one request under a group-version to its handler, and audit it: the one place every resource request passes."""
    target: Target | None = None
    verb: str | None = None
    try:
        target = resolve(group_version, path.split("/"))
        verb = _verb(target, request.method)
        response = _route(target, group_version, request.method)
    except StatusError as err:
        auditing.record(target, verb, None, err)
        raise
    except HTTPException as err:   # e.g. a body over the size limit
        auditing.record(target, verb, None, auditing.http_error(err))
        raise
    except Exception:
        auditing.record(target, verb, None, InternalError("Internal error occurred"))
        raise
    auditing.record(target, verb, response)
    return response


def _route(target: Target, group_version: str, method: str) -> Response:
    _authorize(target, group_version, method)
    if target.name is None:
        if method == "GET":
            if q_bool("watch"):
                return watch.serve(target)
            return list_objects(target)
        if method == "POST":
            if target.rt.namespaced and target.namespace is None:
                raise MethodNotAllowed(f'the server does not allow this method on the requested resource')
            return create_object(target)
        if method == "DELETE":
            return delete_collection(target)
        raise MethodNotAllowed("the server does not allow this method on the requested resource")
    sub = target.sub
    if sub is None or sub == "status":
        handler = {"GET": get_object, "PUT": update_object, "PATCH": patch_object, "DELETE": delete_object}
        if sub == "status" and method == "DELETE":
            raise MethodNotAllowed("the server does not allow this method on the requested resource")
        if method not in handler:
            raise MethodNotAllowed("the server does not allow this method on the requested resource")
        return handler[method](target)
    if sub == "scale":
        if method == "GET":
            return get_scale(target)
        if method == "PUT":
            return put_scale(target)
        if method == "PATCH":
            return patch_scale(target)
    elif sub == "log" and method == "GET":
        return logs.serve(target)
    elif sub == "eviction" and method == "POST":
        return evict(target)
    elif sub == "binding" and method == "POST":
        return bind(target)
    elif sub == "exec" and method in ("GET", "POST"):
        return exec_not_supported(target)
    raise MethodNotAllowed("the server does not allow this method on the requested resource")


def _verb(target: Target, method: str) -> str:
    """The Kubernetes verb of a request (what RBAC and a 403 name), as kube-apiserver's RequestInfo works it out."""
    if method == "GET":
        if target.name is None:
            return "watch" if q_bool("watch") else "list"
        return "get"
    if method == "DELETE" and target.name is None:
        return "deletecollection"
    if method == "POST" and target.sub is None:
        return "create"
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[method]


def _authorize(target: Target, group_version: str, method: str) -> None:
    """Refuse (401/403 Status) what the caller may not do on the request's cluster (webapp.policy)."""
    group = group_version.split("/")[0] if "/" in group_version else ""
    resource = target.rt.plural + (f"/{target.sub}" if target.sub else "")
    authorize(current_principal(), _verb(target, method), request_cluster(), resource=resource, group=group,
              namespace=target.namespace, name=target.name)


# ------------------------------------------------------------------ reads

def _output() -> str:
    return media.choose_output(request.headers.get("Accept"))


def _include_object() -> str:
    raw = q_str("includeObject") or "Metadata"
    if raw not in ("None", "Metadata", "Object"):
        raise BadRequest(f'includeObject must be one of "None", "Metadata", "Object", got "{raw}"')
    return raw


def _partial(obj: dict) -> dict:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata") or {}}


def list_objects(target: Target) -> Response:
    rt = target.rt
    output = _output()
    include = _include_object()
    limit = q_int("limit", minimum=0) or 0
    kwargs = dict(label_selector=q_str("labelSelector"), field_selector=q_str("fieldSelector"), limit=limit,
                  continue_token=q_str("continue") or None)
    q_str("resourceVersion")  # any resourceVersion is served from the latest state (a consistent read)

    def read(cluster):
        items, rv, token = cluster.api.list(rt.plural, target.namespace, **kwargs)
        now = cluster.clock.now
        if rt.plural == "leases":
            items = [materialized_lease(o, now) for o in items]
        return items, rv, token, now

    items, rv, token, now = call(read)
    if output == "table":
        return json_response(printers.table(rt.plural, items, now, resource_version=rv, continue_token=token,
                                            include_object=include), content_type=media.TABLE_CONTENT_TYPE)
    meta: dict[str, Any] = {"resourceVersion": rv}
    if token:
        meta["continue"] = token
    if output in ("partial", "partiallist"):
        return json_response({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                              "items": [_partial(o) for o in items]},
                             content_type="application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io")
    return json_response({"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": meta, "items": items})


def _render_one(target: Target, obj: dict, now: float, status: int = 200,
                headers: list[tuple[str, str]] | None = None) -> Response:
    output = _output() if request.method == "GET" else "json"
    if output == "table":
        return json_response(printers.table(target.rt.plural, [obj], now,
                                            resource_version=obj["metadata"].get("resourceVersion", ""),
                                            include_object=_include_object()),
                             content_type=media.TABLE_CONTENT_TYPE)
    if output in ("partial", "partiallist"):
        return json_response(_partial(obj), content_type="application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io")
    return json_response(obj, status, headers=headers)


def get_object(target: Target) -> Response:
    obj, now = call(lambda c: (c.api.get(target.rt.plural, target.namespace, target.name), c.clock.now))
    if target.rt.plural == "leases":
        obj = materialized_lease(obj, now)
    return _render_one(target, obj, now)


# ------------------------------------------------------------------ writes

def _warnings(rt: resources.ResourceType, obj: dict, validation: str) -> list[tuple[str, str]]:
    """``Warning`` headers for unknown fields under ``fieldValidation=Warn`` (kubectl prints them)."""
    if validation != "Warn":
        return []
    try:
        from engine.apiserver.schema import unknown_fields
        unknown = unknown_fields(rt.api_version, rt.kind, obj)
    except Exception:  # noqa: BLE001 - warnings are best effort; the API server still validates
        return []
    # The apiserver writes ``299 - <Go-quoted text>``; header_text keeps the header latin-1 without controls
    # (a field named 'x\x01y' or 'é中' would otherwise make the server fail *after* the write).
    return [("Warning", "299 - " + header_text(f'unknown field "{p}"', quote=True)) for p in unknown]


def _object_field(body: dict, key: str, kind: str) -> dict:
    """``body[key]`` when it is an object (or absent: {}); 400 naming the field otherwise."""
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{kind}: {key}: Invalid value: {value!r}: must be an object",
                         causes=[Cause(key, "Invalid value: must be an object")])
    return value


def _prepare_body(target: Target, obj: dict, *, for_update: bool) -> dict:
    """Fill apiVersion/kind/namespace from the URL and refuse a body that names something else."""
    rt = target.rt
    obj.setdefault("apiVersion", rt.api_version)
    obj.setdefault("kind", rt.kind)
    if obj.get("kind") != rt.kind or obj.get("apiVersion") != rt.api_version:
        raise BadRequest(f'the API version in the data ({obj.get("apiVersion")}) does not match the expected API '
                         f'version ({rt.api_version})' if obj.get("apiVersion") != rt.api_version else
                         f'the kind in the data ({obj.get("kind")}) does not match the expected kind ({rt.kind})')
    meta = obj.get("metadata")
    if meta is None:
        meta = obj["metadata"] = {}
    if not isinstance(meta, dict):
        raise BadRequest("metadata must be an object")
    if rt.namespaced:
        ns = meta.get("namespace")
        if ns and ns != target.namespace:
            raise BadRequest("the namespace of the provided object does not match the namespace sent on the "
                             "request")
        meta["namespace"] = target.namespace
    if for_update:
        if meta.get("name") and meta["name"] != target.name:
            raise BadRequest(f'the name of the object ({meta["name"]}) does not match the name on the URL '
                             f"({target.name})")
        meta["name"] = target.name
    return obj


def field_manager() -> str | None:
    """``?fieldManager=``, else the User-Agent up to its first "/" (``kubectl``), as the apiserver derives it."""
    explicit = q_str("fieldManager")
    if explicit:
        return explicit
    agent = request.headers.get("User-Agent", "").split("/", 1)[0].strip()
    return agent[:128] or None


def create_object(target: Target) -> Response:
    validation = field_validation()
    dry = dry_run()
    manager = field_manager()
    obj = _prepare_body(target, media.decode_object(request), for_update=False)
    warnings = _warnings(target.rt, obj, validation)
    created = call(lambda c: c.api.create(obj, target.namespace, dry_run=dry, strict=validation == "Strict",
                                          field_manager=manager))
    return json_response(created, 201, headers=warnings)


def update_object(target: Target) -> Response:
    validation = field_validation()
    dry = dry_run()
    obj = _prepare_body(target, media.decode_object(request), for_update=True)
    warnings = _warnings(target.rt, obj, validation)
    manager = field_manager()
    updated = call(lambda c: c.api.update(obj, subresource=target.sub, strict=validation == "Strict", dry_run=dry,
                                          field_manager=manager))
    return json_response(updated, 200, headers=warnings)


def patch_object(target: Target) -> Response:
    validation = field_validation()
    dry = dry_run()
    force = q_bool("force")
    patch_type, body = media.decode_patch(request)
    manager = q_str("fieldManager") if patch_type == "apply" else field_manager()
    if patch_type == "apply" and not manager:
        raise BadRequest("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for "
                         "apply patch")
    if force and patch_type != "apply":
        raise BadRequest("PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for "
                         "non-apply patch")
    rt = target.rt

    def do(cluster):
        existed = cluster.store.find(rt.plural, (target.namespace or "") if rt.namespaced else "",
                                     target.name) is not None
        result = cluster.api.patch(rt.plural, target.namespace, target.name, body, patch_type,
                                   subresource=target.sub, field_manager=manager, force=force, dry_run=dry,
                                   strict=validation == "Strict")
        return result, existed

    result, existed = call(do)
    return json_response(result, 200 if existed else 201)


def _delete_options() -> dict[str, Any]:
    """DeleteOptions from the body and/or query: grace period, propagation, preconditions, dryRun."""
    body = media.decode_optional_json(request) or {}
    grace = q_int("gracePeriodSeconds")
    if grace is None and body.get("gracePeriodSeconds") is not None:
        grace = body["gracePeriodSeconds"]
        if not isinstance(grace, int) or isinstance(grace, bool):
            raise BadRequest(f'gracePeriodSeconds must be an integer, got {grace!r}')
    propagation = q_str("propagationPolicy") or body.get("propagationPolicy")
    if propagation is not None and not isinstance(propagation, str):
        raise BadRequest(f"DeleteOptions: propagationPolicy: Invalid value: {propagation!r}: must be a string",
                         causes=[Cause("propagationPolicy", "Invalid value: must be a string")])
    orphan = request.args.get("orphanDependents")
    if orphan is not None:
        orphan_flag = q_bool("orphanDependents")
    else:
        orphan_flag = body.get("orphanDependents")
        if orphan_flag is not None and not isinstance(orphan_flag, bool):
            raise BadRequest(f"DeleteOptions: orphanDependents: Invalid value: {orphan_flag!r}: must be a boolean",
                             causes=[Cause("orphanDependents", "Invalid value: must be a boolean")])
    body_dry = body.get("dryRun")
    if body_dry is not None and (not isinstance(body_dry, list) or any(v != "All" for v in body_dry)):
        raise BadRequest(f'DeleteOptions: dryRun: Unsupported value: {body_dry!r}: supported values: "All"',
                         causes=[Cause("dryRun", "Unsupported value", "FieldValueNotSupported")])
    if propagation is None and orphan_flag is not None:
        propagation = "Orphan" if orphan_flag else "Background"
    if propagation not in (None, "Orphan", "Background", "Foreground"):
        raise BadRequest(f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
                         f'"{propagation}": supported values: "Foreground", "Background", "Orphan", "nil"')
    dry = dry_run() or body.get("dryRun") == ["All"]
    return {"grace_period": grace, "propagation": propagation, "preconditions": body.get("preconditions"),
            "dry_run": dry}


def delete_object(target: Target) -> Response:
    opts = _delete_options()
    result = call(lambda c: c.api.delete(target.rt.plural, target.namespace, target.name, **opts))
    return json_response(result, 200)


def delete_collection(target: Target) -> Response:
    rt = target.rt
    opts = _delete_options()
    labels, fields = q_str("labelSelector"), q_str("fieldSelector")

    def do(cluster):
        items, rv, _ = cluster.api.list(rt.plural, target.namespace, label_selector=labels, field_selector=fields)
        out = []
        for obj in items:
            meta = obj["metadata"]
            try:
                out.append(cluster.api.delete(rt.plural, meta.get("namespace"), meta["name"], **opts))
            except NotFound:
                continue
        return out, str(cluster.store.revision)

    items, rv = call(do)
    return json_response({"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": {"resourceVersion": rv},
                          "items": items})


# ------------------------------------------------------------------ subresources

def get_scale(target: Target) -> Response:
    return json_response(call(lambda c: c.api.get_scale(target.rt.plural, target.namespace, target.name)))


def _check_scale_body(target: Target, body: dict) -> dict:
    if body.get("kind") not in (None, "Scale"):
        raise BadRequest(f'the kind in the data ({body.get("kind")}) does not match the expected kind (Scale)')
    name = _object_field(body, "metadata", "Scale").get("name")
    if name and name != target.name:
        raise BadRequest(f"the name of the object ({name}) does not match the name on the URL ({target.name})")
    return body


def put_scale(target: Target) -> Response:
    body = _check_scale_body(target, media.decode_object(request))
    dry = dry_run()
    manager = field_manager()

    def do(cluster):
        if dry:
            return cluster.api.get_scale(target.rt.plural, target.namespace, target.name)
        return cluster.api.update_scale(target.rt.plural, target.namespace, target.name, body, manager)

    return json_response(call(do))


def patch_scale(target: Target) -> Response:
    patch_type, body = media.decode_patch(request)
    if patch_type == "apply":
        raise media.UnsupportedMediaType("apply patches are not supported on the scale subresource; use "
                                         "application/merge-patch+json")
    manager = field_manager()
    return json_response(call(lambda c: c.api.patch_scale(target.rt.plural, target.namespace, target.name, body,
                                                          patch_type, manager)))


def evict(target: Target) -> Response:
    """``POST pods/<name>/eviction``: 201 Success, or 429 when a PodDisruptionBudget forbids it."""
    body: dict[str, Any] = {}
    mime = (request.headers.get("Content-Type") or "").split(";")[0].strip()
    if mime == media.PROTOBUF:
        media.read_body(request)  # the pod is named by the URL; a protobuf Eviction carries nothing else we use
    else:
        body = media.decode_optional_json(request) or {}
    name = _object_field(body, "metadata", "Eviction").get("name")
    if name and name != target.name:
        raise BadRequest("name in URL does not match name in Eviction object")
    grace = _object_field(body, "deleteOptions", "Eviction").get("gracePeriodSeconds")
    call(lambda c: c.api.evict(target.namespace, target.name, grace_period=grace))
    return json_response(success_status(201), 201)


def bind(target: Target) -> Response:
    body = media.decode_object(request)
    node = _object_field(body, "target", "Binding").get("name")
    if not node or not isinstance(node, str):
        raise BadRequest("Binding target must name a node: target.name: Required value")
    call(lambda c: c.api.bind(target.namespace, target.name, node))
    return json_response(success_status(201), 201)


def exec_not_supported(target: Target) -> Response:
    """``pods/exec``: Kubedrill runs no processes, so there is nothing to exec into; say so clearly."""
    call(lambda c: c.api.get("pods", target.namespace, target.name))  # 404 for a missing pod first
    raise BadRequest(f"exec is not simulated by Kubedrill: pod {target.name} has no real processes to run "
                     "commands in. Use `kubectl logs`, `kubectl describe` or the dashboard instead.")

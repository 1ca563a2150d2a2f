"""Serve the Kubernetes-compatible HTTP API (blueprint ``bp``) for real kubectl and client libraries.

URL space owned here: ``/api``, ``/apis``, ``/version``, ``/openapi``, ``/healthz``, ``/livez``,
``/readyz``. Modules: ``discovery`` (version, group and resource lists), ``openapi`` (v3 documents),
``routes`` (CRUD + subresources), ``watch`` (streams), ``logs``, ``printers`` (Table columns),
``media`` (content negotiation and body decoding), ``errors`` (Status objects), ``kubeconfig``.

Protobuf decision: kubectl 1.32 sends protobuf bodies for generator commands (``kubectl create
deployment|configmap|secret|namespace|service ...``). We do not decode protobuf; such requests get
415 UnsupportedMediaType whose message names the alternatives (``kubectl create -f``/``apply -f``,
``kubectl run``, or a generator piped through ``--dry-run=client -o yaml | kubectl apply -f -``).
Protobuf is never needed for responses: every kubectl request also accepts JSON.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, request

from engine.errors import InternalError, StatusError

from ..hub import request_cluster
from ..policy import authorize, current_principal
from . import discovery, media, openapi
from .common import json_response
from .errors import not_found_path, status_response

bp = Blueprint("kube_api", __name__)
log = logging.getLogger(__name__)


_WRITE_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


# What kube-apiserver's system:public-info-viewer role lets anyone read, credentials or not.
_PUBLIC_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/version", "/version/"})


@bp.before_request
def _authenticate() -> None:
    """Class mode: no valid credentials, 401 (health and version excepted, as kube-apiserver's public-info-viewer).

    Everything else is authorized where its verb and resource are known: resource requests in
    ``routes.dispatch``, before the cluster is touched, so the 403 reads as kubectl users know it
    (``pods is forbidden: User "bob" cannot list resource "pods" ...``). Discovery and OpenAPI are
    the same documents for every cluster and any authenticated user may read them (kube-apiserver's
    system:discovery), which is also what lets kubectl get as far as printing that 403.
    """
    if request.path in _PUBLIC_PATHS or request.path.startswith(("/healthz/", "/livez/", "/readyz/")):
        return
    principal = current_principal()
    if principal.role == "anonymous":
        authorize(principal, "get", request_cluster(), path=request.path)   # the 401, saying why


@bp.after_request
def _record_drill_write(response: Response) -> Response:
    """Note a Kubernetes API write (kubectl, client libraries) as the user's last action, and in a running drill."""
    verb = _WRITE_VERBS.get(request.method)
    if verb is None or "All" in request.args.getlist("dryRun") or response.status_code in (401, 403):
        return response   # a refused write is not the cluster owner's doing
    from .common import runtime
    try:
        rt = runtime()
    except StatusError:   # no such cluster: nothing to record
        return response
    parts = request.path.strip("/").split("/")
    # /api/v1/[namespaces/NS/]PLURAL[/NAME[/SUB]] or /apis/G/V/[namespaces/NS/]PLURAL[/NAME[/SUB]]
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
    args: dict = {}
    if len(rest) >= 3 and rest[0] == "namespaces":
        args["namespace"] = rest[1]
        rest = rest[2:]
    if rest:
        args["resource"] = rest[0]
    if len(rest) > 1:
        args["name"] = rest[1]
    if len(rest) > 2:
        args["subresource"] = rest[2]
        if rest[2] == "eviction":
            verb = "evict"
    agent = (request.headers.get("User-Agent") or "").split("/")[0] or "api"
    ok = response.status_code < 400
    error = None
    if not ok and response.is_json:
        error = (response.get_json(silent=True) or {}).get("message")
    rt.record_action(f"{verb}", args, via="kubectl" if agent == "kubectl" else f"api ({agent})"[:64],
                     ok=ok, error=error or (None if ok else f"HTTP {response.status_code}"))
    return response


@bp.errorhandler(StatusError)
def _status_error(err: StatusError) -> Response:
    return status_response(err)


@bp.errorhandler(Exception)
def _internal_error(err: Exception) -> Response:
    from werkzeug.exceptions import HTTPException
    if isinstance(err, HTTPException):
        code = err.code or 500
        reason = {404: "NotFound", 405: "MethodNotAllowed", 413: "RequestEntityTooLarge"}.get(code, "BadRequest")
        return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": err.description, "reason": reason, "code": code}, code)
    log.exception("kube_api: internal error on %s %s", request.method, request.path)
    return status_response(InternalError(f"Internal error occurred: {type(err).__name__}: {err}"))


# ------------------------------------------------------------------ health and version

def _engine_check() -> str | None:
    """Why the engine is not ready (None when it is): the runtime's watchdog view (``Runtime.health``)."""
    from .common import runtime
    try:
        health = runtime().health()
    except Exception as e:  # noqa: BLE001 - a broken health probe is itself a failed check, never a 500
        return f"health probe failed: {type(e).__name__}: {e}"
    if health.get("ok"):
        return None
    if health.get("stalled"):
        return f"engine stalled: no tick for {health.get('last_tick_age')}s"
    return f"engine error: {health.get('error')}"


# name -> check (None = passed, else the reason, which goes to the log only: the apiserver withholds it)
_LIVE_CHECKS = {"ping": lambda: None, "log": lambda: None}
_READY_CHECKS = {**_LIVE_CHECKS, "engine": _engine_check}


def _health(endpoint: str, checks: dict, only: str | None = None) -> Response:
    """Answer like kube-apiserver's healthz handler (``k8s.io/apiserver/pkg/server/healthz``).

    ``ok`` when every check passes; ``?verbose`` lists ``[+]name ok`` lines and ``<endpoint> check passed``;
    a failure always lists the failed checks as ``[-]name failed: reason withheld`` and ends with
    ``<endpoint> check failed``. ``?exclude=name`` skips a check; ``/<endpoint>/<name>`` runs one. The real
    server answers a failure with 500; we answer 503 Service Unavailable, which is what it means (a
    load balancer or probe treats both alike) and keeps 5xx-for-a-bug distinct from not-ready.
    """
    if only is not None:
        if only not in checks:
            raise not_found_path()
        checks = {only: checks[only]}
    excluded = set(request.args.getlist("exclude"))
    verbose = "verbose" in request.args
    lines, failed = [], False
    for name, check in checks.items():
        if name in excluded:
            lines.append(f"[+]{name} excluded: ok")
            continue
        reason = check()
        if reason is None:
            lines.append(f"[+]{name} ok")
        else:
            failed = True
            log.warning("%s check %s failed: %s", endpoint, name, reason)
            lines.append(f"[-]{name} failed: reason withheld")
    if failed:
        shown = lines if verbose else [line for line in lines if line.startswith("[-]")]
        return Response("\n".join(shown) + f"\n{endpoint} check failed\n", status=503,
                        content_type="text/plain; charset=utf-8")
    if verbose:
        return Response("\n".join(lines) + f"\n{endpoint} check passed\n", content_type="text/plain; charset=utf-8")
    return Response("ok", content_type="text/plain; charset=utf-8")


@bp.get("/healthz")
@bp.get("/livez")
@bp.get("/healthz/<check>")
@bp.get("/livez/<check>")
def health(check: str | None = None) -> Response:
    """Liveness: ok for as long as the process serves HTTP (a stalled engine is a readiness failure)."""
    return _health(request.path.strip("/").split("/")[0], _LIVE_CHECKS, check)


@bp.get("/readyz")
@bp.get("/readyz/<check>")
def readyz(check: str | None = None) -> Response:
    """Readiness: 503 naming the failed check while the engine is stalled or stopped by an error."""
    return _health("readyz", _READY_CHECKS, check)


@bp.get("/version")
def version() -> Response:
    return json_response(discovery.VERSION)


# ------------------------------------------------------------------ discovery

@bp.get("/api")
def core_versions() -> Response:
    ct = media.wants_aggregated_discovery(request.headers.get("Accept"))
    if ct:
        return json_response(discovery.aggregated(core=True, api_version=_disc_version(ct)), content_type=ct,
                             headers={"Vary": "Accept"})
    return json_response(discovery.api_versions(request.host), headers={"Vary": "Accept"})


@bp.get("/apis")
def group_list() -> Response:
    ct = media.wants_aggregated_discovery(request.headers.get("Accept"))
    if ct:
        return json_response(discovery.aggregated(core=False, api_version=_disc_version(ct)), content_type=ct,
                             headers={"Vary": "Accept"})
    return json_response(discovery.api_group_list(), headers={"Vary": "Accept"})


def _disc_version(content_type: str) -> str:
    return "apidiscovery.k8s.io/v2beta1" if "v=v2beta1" in content_type else "apidiscovery.k8s.io/v2"


@bp.get("/api/v1")
def core_resources() -> Response:
    return json_response(discovery.resource_list("v1"))


@bp.get("/apis/<group>")
def group_versions(group: str) -> Response:
    for g in discovery.api_group_list()["groups"]:
        if g["name"] == group:
            return json_response({"kind": "APIGroup", "apiVersion": "v1", **g})
    raise not_found_path()


@bp.get("/apis/<group>/<version>")
def group_resources(group: str, version: str) -> Response:
    doc = discovery.resource_list(f"{group}/{version}")
    if doc is None:
        raise not_found_path()
    return json_response(doc)


# ------------------------------------------------------------------ OpenAPI

@bp.get("/openapi/v3")
def openapi_index() -> Response:
    return json_response(openapi.index())


@bp.get("/openapi/v3/<path:gv>")
def openapi_document(gv: str) -> Response:
    ser = openapi.serialized(gv)
    if ser is None:
        raise not_found_path()
    body, digest = ser
    resp = Response(body, content_type="application/json")
    resp.headers["Etag"] = f'"{digest}"'
    if request.args.get("hash") == digest:
        resp.headers["Cache-Control"] = "public, immutable"
    else:
        resp.headers["Cache-Control"] = "no-cache, private"
    return resp


@bp.route("/openapi/v2", methods=["GET"])
@bp.route("/openapi/<path:rest>", methods=["GET"])
@bp.route("/swagger.json", methods=["GET"])
def openapi_missing(rest: str = "") -> Response:
    raise not_found_path()


# ------------------------------------------------------------------ resources

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@bp.route("/api/v1/<path:path>", methods=_METHODS)
def core_dispatch(path: str) -> Response:
    from .routes import dispatch
    return dispatch("v1", path)


@bp.route("/apis/<group>/<version>/<path:path>", methods=_METHODS)
def group_dispatch(group: str, version: str, path: str) -> Response:
    from .routes import dispatch
    return dispatch(f"{group}/{version}", path)


@bp.route("/api/<path:rest>", methods=_METHODS)
@bp.route("/apis/<path:rest>", methods=_METHODS)
def unknown(rest: str) -> Response:
    raise not_found_path()

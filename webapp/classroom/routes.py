"""The class mode's HTTP endpoints (blueprint ``class_bp``, registered only with ``CLASSROOM`` on).

Pages: ``GET /class`` (the instructor's grid; ``?token=`` exchanges the printed login token for
the session cookie, then 303 to ``/class`` so the token leaves the address bar), ``GET /class/view``
(the same for a read-only viewer link), ``GET /join``. JSON (errors are ``Status`` objects):
``POST /class/join``, ``GET /class/kubeconfig``, ``GET /class/api/{me,students,tiles,reports,
reports/<id>,template}``, ``POST /class/api/{bulk,viewer,code,template}``. Every endpoint asks
``webapp.policy``; the class's own ones (``authorize_class``) are the instructor's, with the grid's
reads open to the viewer link too. These routes exist at the root only (``/c/<id>/class`` is a 404).

A POST body must be JSON (``Content-Type: application/json``): with the SameSite=Strict cookie, no
other site's page can send one with the browser's session.
"""
from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request
from werkzeug.exceptions import HTTPException

from engine.errors import (BadRequest, InternalError, NotFound, RequestEntityTooLarge, StatusError, TooManyRequests,
                           Unauthorized, UnsupportedMediaType)

from ..drills import catalogue
from ..hub import DEFAULT_CLUSTER, Hub
from ..kube_api import kubeconfig
from ..kube_api.common import json_response
from ..kube_api.errors import http_error_response, status_response
from ..policy import authorize, authorize_class, current_principal, offered_credentials
from . import bulk, grading, names
from .access import error_page, set_session_cookie
from .ratelimit import JoinLimiter
from .store import ClassStore
from .template import check_template

class_bp = Blueprint("classroom", __name__)

LOGIN_REFUSED = ("this login link is not valid (any more): use the Instructor URL the server printed at its "
                 "last start")
VIEWER_REFUSED = "this viewer link is not valid: ask your instructor for a new one"
NOT_SIGNED_IN = ("sign in first: the instructor opens the Instructor URL the server printed at its start; "
                 "students join at /join")
_PREFIXED = re.compile(r"/c/[^/]*$")
MAX_BODY_BYTES = 4 * 1024 * 1024   # a class template's manifests may be 3 MiB (webapp.control.MAX_TEXT_BYTES)


def store() -> ClassStore:
    return current_app.extensions["kubedrill.class"]


def _hub() -> Hub:
    return current_app.extensions["kubedrill.hub"]


def limiter() -> JoinLimiter:
    return current_app.extensions["kubedrill.join_limiter"]


# ---------------------------------------------------------------------- plumbing
@class_bp.before_request
def _root_only() -> None:
    if _PREFIXED.search(request.script_root):
        raise NotFound("the class lives at the server's root: /class, /join")


@class_bp.after_request
def _no_referrer(response: Response) -> Response:
    # A page reached with a token must not hand its URL to anything it loads or links to.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@class_bp.errorhandler(StatusError)
def _status_error(err: StatusError) -> Response:
    return status_response(err)


def _body() -> Any:
    """The request's JSON body (None when empty); 415 for another media type, 400 for bad JSON, 413 too big."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise RequestEntityTooLarge(f"the body may be at most {MAX_BODY_BYTES} bytes")
    if not request.get_data(cache=True):
        return None
    if not request.is_json:
        raise UnsupportedMediaType(f'the body must be JSON (Content-Type: application/json), got '
                                   f'"{request.content_type or "none"}"')
    try:
        return json.loads(request.get_data(as_text=True))
    except ValueError as err:
        raise BadRequest(f"the body is not valid JSON: {err}") from None


def _url(path: str) -> str:
    """An absolute URL on this server as the client reached it (``http://HOST:PORT/<path>``)."""
    return request.host_url + path.lstrip("/")


def _date(seconds: float | None) -> str | None:
    return None if seconds is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _presented(role: str) -> str | None:
    """The credential of the request's valid ``role`` session (the one the policy accepted), if any."""
    for credential in offered_credentials(request.environ):
        session, _ = store().lookup(credential)
        if session is not None and session.role == role:
            return credential
    return None


# ---------------------------------------------------------------------- pages
@class_bp.get("/class")
def grid() -> Response:
    """The instructor's grid (viewers see it read-only); ``?token=``: the printed login link."""
    if "token" in request.args:
        credential = store().exchange_login(request.args["token"])
        if credential is None:
            return error_page(Unauthorized(LOGIN_REFUSED))
        return set_session_cookie(redirect("/class", code=303), credential)
    p = current_principal()
    try:
        authorize_class(p, "list", "clusters", viewer=True)
    except Unauthorized as err:
        return error_page(err if p.refused else Unauthorized(NOT_SIGNED_IN))
    except StatusError as err:
        return error_page(err)
    info = store().info
    html = render_template("class.html", class_id=info.id, join_code=info.join_code,
                           code_expires=_date(info.code_expires), role=p.role, drills=catalogue(),
                           viewer=p.role == "viewer", join_url=_url(f"/join?code={info.join_code}"))
    return Response(html, mimetype="text/html")


@class_bp.get("/class/view")
def viewer_link() -> Response:
    """A read-only link: its token becomes the viewer's cookie, then 303 to the grid."""
    token = request.args.get("token", "")
    session, _ = store().lookup(token)
    if session is None or session.role != "viewer":
        return error_page(Unauthorized(VIEWER_REFUSED))
    return set_session_cookie(redirect("/class", code=303), token)


@class_bp.get("/join")
def join_page() -> Response:
    return Response(render_template("join.html", code_prefill=request.args.get("code", "")), mimetype="text/html")


# ---------------------------------------------------------------------- joining
def _joining() -> tuple[set[str], threading.Lock]:
    """The names (keys) being joined right now and their lock: a name is taken from the check on."""
    return current_app.extensions.setdefault("kubedrill.joining", (set(), threading.Lock()))


@class_bp.post("/class/join")
def join() -> Response:
    """``{"code", "name"}`` -> 201 ``{"cluster", "name", "dashboard", "kubeconfig"}`` and the session cookie.

    With the cookie (or bearer token) of the student of that name it is a re-join: 200, the same
    cluster, nothing made. Otherwise: rate limit (429), code (403), name (422 / 409), room (403).
    """
    body = _body()
    if not isinstance(body, dict):
        raise BadRequest('the body must be a JSON object: {"code": "...", "name": "..."}')
    classroom, hub = store(), _hub()
    p = current_principal()
    name = body.get("name")
    if p.role == "student" and isinstance(name, str) and names.key(name) == names.key(p.name):
        credential = _presented("student")
        if credential is not None and p.cluster is not None:
            return _joined(p.name, p.cluster, credential, 200)
    wait = limiter().take(request.remote_addr or "")
    if wait:
        raise TooManyRequests(f"too many joins from this address: try again in {wait} s", retry_after=wait)
    classroom.check_code(body.get("code"))
    reserved, lock = _joining()
    with lock:
        shown = names.check_display_name(name, [s.name for s in classroom.students()] + list(reserved))
        key = names.key(shown)
        reserved.add(key)
    try:
        cid = names.cluster_id_for(shown, hub.ids())
        hub.create(cid, owner=shown, template=classroom.template)   # ClassFull: the 403 it is
        credential = classroom.add_session("student", shown, cid)
    finally:
        with lock:
            reserved.discard(key)
    return _joined(shown, cid, credential, 201)


def _joined(name: str, cid: str, credential: str, code: int) -> Response:
    body = {"cluster": cid, "name": name, "dashboard": _url(f"/c/{cid}/"),
            "kubeconfig": _kubeconfig_text(cid, credential)}
    return set_session_cookie(json_response(body, code), credential)


def _kubeconfig_text(cid: str, credential: str) -> str:
    return kubeconfig.render(_url(f"/c/{cid}"), token=credential, name=f"kubedrill-{cid}")


@class_bp.get("/class/kubeconfig")
def download_kubeconfig() -> Response:
    """The student's kubeconfig (their cluster, their token) as a download; ``?cluster=`` for the instructor."""
    p = current_principal()
    if p.role == "student":
        cid, credential = p.cluster or "", _presented("student")
    else:
        cid = request.args.get("cluster", DEFAULT_CLUSTER)
        authorize(p, "get", cid, path="/class/kubeconfig")
        credential = _presented(p.role)
        _hub().get(cid)   # NotFound for no such cluster
    if credential is None:   # anonymous (authorize raised already), or the admin of a single-user server
        raise Unauthorized(NOT_SIGNED_IN)
    return Response(_kubeconfig_text(cid, credential), mimetype="application/yaml",
                    headers={"Content-Disposition": f'attachment; filename="kubedrill-{cid}.kubeconfig"'})


# ---------------------------------------------------------------------- who am I, the class
@class_bp.get("/class/api/me")
def me() -> Response:
    """``{"role", "name", "cluster", "dashboard", "grid", "kubeconfig"}`` of the request's session."""
    p = current_principal()
    if p.role == "anonymous":
        raise Unauthorized(p.refused or NOT_SIGNED_IN)
    own = p.cluster if p.role == "student" else None
    return json_response({
        "role": p.role, "name": p.name, "cluster": own,
        "dashboard": _url(f"/c/{own}/") if own else _url("/"),
        "grid": _url("/class") if p.role in ("instructor", "viewer", "admin") else None,
        "kubeconfig": _url("/class/kubeconfig") if own else None,
    })


@class_bp.get("/class/api/students")
def students() -> Response:
    """``[{"name", "cluster", "joined", "last_seen", "drill", "health", "loaded"}]`` in the order they joined."""
    authorize_class(current_principal(), "list", "students", viewer=True)
    hub = _hub()
    out = []
    for s in store().students():
        tile = hub.summary(s.cluster) if s.cluster and hub.exists(s.cluster) else {}
        out.append({"name": s.name, "cluster": s.cluster, "joined": _date(s.created), "last_seen": _date(s.last_seen),
                    "drill": tile.get("drill"), "health": tile.get("health"), "loaded": tile.get("loaded", False)})
    return json_response(out)


@class_bp.get("/class/api/tiles")
def tiles() -> Response:
    """Every cluster's tile (``Hub.summary``), the demo cluster first; the socket pushes changes after."""
    authorize_class(current_principal(), "list", "clusters", viewer=True)
    hub = _hub()
    ids = hub.ids()
    ordered = ([DEFAULT_CLUSTER] if DEFAULT_CLUSTER in ids else []) + [c for c in ids if c != DEFAULT_CLUSTER]
    return json_response([hub.summary(cid) for cid in ordered])


@class_bp.post("/class/api/bulk")
def bulk_action() -> Response:
    """``{"action", "args", "clusters"}`` -> ``{"results": [{"cluster", "ok", "error"?}]}`` (see bulk.py)."""
    authorize_class(current_principal(), "control", "clusters")
    classroom = store()
    checked = bulk.parse(_body(), speed_lock=classroom.speed_lock)
    if checked.action == "lock_speed":
        classroom.speed_lock = checked.args["speed"]   # first: a cluster made or loaded meanwhile gets it too
    elif checked.action == "unlock_speed":
        classroom.speed_lock = None
    return json_response({"action": checked.action, "results": bulk.run(_hub(), checked)})


@class_bp.post("/class/api/viewer")
def new_viewer_link() -> Response:
    """``{"url"}``: a read-only link to the grid and every cluster (for the projector)."""
    authorize_class(current_principal(), "create", "viewers")
    credential = store().add_session("viewer", "viewer", None)
    return json_response({"url": _url(f"/class/view?token={credential}")}, 201)


@class_bp.post("/class/api/code")
def new_code() -> Response:
    """``{"expires_minutes"?: number | null}`` -> ``{"join_code", "code_expires", "join_url"}``; the old code stops working."""
    authorize_class(current_principal(), "update", "joincodes")
    body = _body() or {}
    if not isinstance(body, dict) or set(body) - {"expires_minutes"}:
        raise BadRequest('the body must be {"expires_minutes": <minutes> | null} or empty')
    classroom = store()
    code = classroom.new_code(body.get("expires_minutes"))
    return json_response({"join_code": code, "code_expires": _date(classroom.info.code_expires),
                          "join_url": _url(f"/join?code={code}")})


@class_bp.get("/class/api/template")
def get_template() -> Response:
    authorize_class(current_principal(), "get", "templates")
    return json_response({"template": store().template})


@class_bp.post("/class/api/template")
def set_template() -> Response:
    """``{"drill"?, "manifests"?, "nodes"?, "empty"?}`` or null -> ``{"template"}``: what later joiners get."""
    authorize_class(current_principal(), "update", "templates")
    base = {k.lower(): current_app.config.get(k) for k in ("SEED", "PROFILE", "EMPTY")}
    template = check_template(_body(), base)
    store().set_template(template)
    return json_response({"template": store().template})


# ---------------------------------------------------------------------- reports
_REPORT_PARAMS = {"format", "cluster", "drill"}


@class_bp.get("/class/api/reports")
def reports() -> Response:
    """The students' drill reports, newest first: JSON rows (grading.COLUMNS), or ``?format=csv``.

    ``?cluster=``, ``?drill=`` filter; the demo cluster's own runs are left out unless asked for by cluster.
    """
    authorize_class(current_principal(), "list", "reports")
    unknown = sorted(set(request.args) - _REPORT_PARAMS)
    if unknown:
        raise BadRequest(f'unknown query parameter "{unknown[0]}": supported: "cluster", "drill", "format"')
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise BadRequest(f'invalid value for "format": "{fmt}": supported values: "json", "csv"')
    cluster, drill = request.args.get("cluster"), request.args.get("drill")
    rows = [grading.row(r) for r in _hub().reports(cluster)
            if (cluster is not None or r.get("cluster") != DEFAULT_CLUSTER)
            and (drill is None or r.get("drill") == drill)]
    if fmt == "csv":
        return Response(grading.to_csv(rows), mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="kubedrill-class-reports.csv"'})
    return json_response(rows)


@class_bp.get("/class/api/reports/<int:report_id>")
def report(report_id: int) -> Response:
    """One stored report, whole (timeline, every action with its time, probes, definitions)."""
    authorize_class(current_principal(), "get", "reports")
    for r in _hub().reports():
        if r.get("id") == report_id:
            return json_response(r)
    raise NotFound(f'reports.kubedrill.io "{report_id}" not found', name=str(report_id), group="kubedrill.io",
                   kind="reports")


@class_bp.errorhandler(Exception)
def _unexpected(err: Exception) -> Response:
    if isinstance(err, HTTPException):
        return http_error_response(err)
    current_app.logger.exception("class: internal error on %s %s", request.method, request.path)
    return status_response(InternalError(f"Internal error occurred: {type(err).__name__}: {err}"))

"""The dashboard page: ``/`` renders ``templates/index.html`` (the front end does the rest).

The ``/ui/*`` endpoints answer JSON, errors included: a bad query parameter is a 400 ``Status``
naming it, and anything unexpected a JSON 500 ``InternalError``, never an HTML error page.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Mapping

from flask import Blueprint, Response, current_app, render_template, request
from werkzeug.exceptions import HTTPException

from engine.errors import BadRequest, Cause, InternalError, NotFound, StatusError

from .drills import catalogue, report_chart
from .hub import current_runtime, request_cluster
from .policy import CONTROL, allowed, current_principal, why_not
from .kube_api.common import q_float
from .kube_api.errors import http_error_response, status_response

log = logging.getLogger(__name__)


def ui_blueprint(name: str, params: Mapping[str, set[str]] | None = None) -> Blueprint:
    """A blueprint of ``/ui`` endpoints, each answering JSON for every error: a ``Status`` for ours and for
    HTTP errors, a JSON 500 ``InternalError`` for bugs (the dashboard's fetch() reads JSON, never an HTML
    error page). ``params`` names the query parameters each endpoint (by function name) reads; any other
    is refused by name rather than ignored."""
    blueprint = Blueprint(name, __name__)
    blueprint.register_error_handler(StatusError, status_response)
    blueprint.register_error_handler(Exception, _unexpected)
    known = dict(params or {})

    @blueprint.before_request
    def _known_params() -> None:
        if not request.path.startswith("/ui/"):
            return
        allowed = known.get((request.endpoint or "").rpartition(".")[2], set())
        unknown = sorted(set(request.args) - allowed)
        if unknown:
            supported = ", ".join(f'"{p}"' for p in sorted(allowed)) or "none"
            why = f"unknown query parameter for {request.path}: supported: {supported}"
            raise BadRequest(f'unknown query parameter "{unknown[0]}" for {request.path}: supported: {supported}',
                             causes=[Cause(unknown[0], why)])
    return blueprint


def _unexpected(err: Exception) -> Response:
    if isinstance(err, HTTPException):
        return http_error_response(err)
    log.exception("ui: internal error on %s %s", request.method, request.path)
    return status_response(InternalError(f"Internal error occurred: {type(err).__name__}: {err}"))


bp = ui_blueprint("views", {"traffic": {"since"}})


@bp.get("/")
def index() -> str:
    """Render the dashboard shell with the few facts the page needs before it connects.

    Besides the cluster's profile and seed: which cluster (``base`` = ``/c/<id>`` or "") and whose,
    and what the viewer may do there, as ``webapp.policy`` decides it for every other request:
    ``can_act`` (writes: the verb ``create`` stands for them all, the rules depend on the role and
    the cluster only), ``can_control`` (speed, pause, reset, drills) and the why-not sentences the
    page shows on the controls it disables.
    """
    runtime = current_runtime()
    projector = request.args.get("projector", "") in ("1", "true", "yes", "on")
    cluster = request_cluster()
    principal = current_principal()
    return render_template("index.html", profile=runtime.profile_name, seed=runtime.seed, projector=projector,
                           nodes=runtime.nodes, base=request.script_root, cluster=cluster,
                           owner=runtime.owner, mine=principal.cluster == cluster,
                           role=principal.role, user=principal.name,
                           classroom=current_app.extensions.get("kubedrill.class") is not None,
                           can_act=allowed(principal, "create", cluster),
                           can_control=allowed(principal, CONTROL, cluster),
                           why_not_act=why_not(principal, "create", cluster),
                           why_not_control=why_not(principal, CONTROL, cluster))


@bp.get("/ui/profile")
def profile() -> dict:
    """The timing profile in force (name and every timer), so the numbers are never hidden constants."""
    runtime = current_runtime()
    return runtime.call(runtime.profile_state)


@bp.get("/ui/traffic/<namespace>/<name>")
def traffic(namespace: str, name: str) -> dict:
    """A Service's synthetic traffic per simulated second (for the success-rate chart)."""
    runtime = current_runtime()
    since = q_float("since", 0.0)   # simulated seconds: finite, >= 0 (NaN would compare false everywhere)
    key = f"{namespace}/{name}"
    network = runtime.cluster.network
    return runtime.call(lambda: {"service": key, "stats": network.traffic_stats(key),
                                 "series": network.traffic_series(key, since)})


# ------------------------------------------------------------------ drills

@bp.get("/ui/drills")
def drills() -> dict:
    """The drill catalogue (what the picker shows) and the current drill's status."""
    runtime = current_runtime()
    return {"drills": catalogue(), "current": runtime.drill_status()}


def _report_or_404() -> tuple[dict, Any]:
    runtime = current_runtime()
    report = runtime.drill_report()
    if report is None:
        raise NotFound("no drill report yet: finish or stop a drill first")
    return report, report["probes"]      # a kept report outlives its drill: it carries its probes' goals


@bp.get("/ui/drills/report.json")
def drill_report_json() -> Response:
    """The last drill's report as a JSON download (404 while none is over: hidden faults stay hidden)."""
    report, _ = _report_or_404()
    body = json.dumps(report, indent=2, sort_keys=True)
    name = f"kubedrill-{report['drill']}-report.json"
    return Response(body, content_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/ui/drills/report")
def drill_report_page() -> str:
    """The last drill's report as a printable page (autoescaped template, print CSS)."""
    report, probes = _report_or_404()
    return render_template("drill_report.html", report=report, chart=report_chart(report, probes))

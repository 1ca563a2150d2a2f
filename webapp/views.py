"""The dashboard page: ``/`` renders ``templates/index.html`` (the front end does the rest)."""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request

from .drills import catalogue, report_chart

bp = Blueprint("views", __name__)


@bp.get("/")
def index() -> str:
    """Render the dashboard shell with the few facts the page needs before it connects."""
    runtime = current_app.extensions["kubedrill"]
    projector = request.args.get("projector", "") in ("1", "true", "yes", "on")
    return render_template("index.html", profile=runtime.profile_name, seed=runtime.seed, projector=projector,
                           nodes=runtime.nodes)


@bp.get("/ui/profile")
def profile() -> dict:
    """The timing profile in force (name and every timer), so the numbers are never hidden constants."""
    runtime = current_app.extensions["kubedrill"]
    return runtime.call(runtime.profile_state)


@bp.get("/ui/traffic/<namespace>/<name>")
def traffic(namespace: str, name: str) -> dict:
    """A Service's synthetic traffic per simulated second (for the success-rate chart)."""
    runtime = current_app.extensions["kubedrill"]
    since = request.args.get("since", type=float, default=0.0)
    key = f"{namespace}/{name}"
    network = runtime.cluster.network
    return runtime.call(lambda: {"service": key, "stats": network.traffic_stats(key),
                                 "series": network.traffic_series(key, since)})


# ------------------------------------------------------------------ drills

@bp.get("/ui/drills")
def drills() -> dict:
    """The drill catalogue (what the picker shows) and the current drill's status."""
    runtime = current_app.extensions["kubedrill"]
    return {"drills": catalogue(), "current": runtime.drill_status()}


def _report_or_404() -> tuple[dict, Any]:
    runtime = current_app.extensions["kubedrill"]
    report = runtime.drill_report()
    if report is None:
        abort(Response(json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                   "reason": "NotFound", "code": 404,
                                   "message": "no drill report yet: finish or stop a drill first"}),
                       status=404, content_type="application/json"))
    with runtime.lock:
        probes = [dict(p) for p in runtime.drill.drill.probes]
    return report, probes


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

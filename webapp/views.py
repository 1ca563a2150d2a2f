"""The dashboard page: ``/`` renders ``templates/index.html`` (the front end does the rest)."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

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

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

"""``GET /ui/health``: the engine's health for the dashboard's banner (``Runtime.health`` as JSON).

Read without the engine lock on purpose: a stalled engine thread may hold it, and that is exactly
what the page must still be told.
"""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from .hub import current_runtime

health_bp = Blueprint("health", __name__)


@health_bp.get("/ui/health")
def health() -> ResponseReturnValue:
    """Return {"ok", "stalled", "paused", "last_tick_age", "error", "components"} (never cached)."""
    runtime = current_runtime()
    response = jsonify(runtime.health())
    response.headers["Cache-Control"] = "no-store"
    return response

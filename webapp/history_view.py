"""``GET /ui/history?since=<simulated seconds>``: the Charts tab's series and markers (``engine.history``).

Without ``since`` the whole history the server keeps (24 h, see engine/history_series.py); with it,
only the points after it and the markers at or after it, so a page polls cheaply and appends. JSON
errors as the other /ui endpoints (webapp.views): an unknown parameter or a bad ``since`` is a 400
``Status`` naming it.
"""
from __future__ import annotations

from .hub import current_runtime
from .kube_api.common import q_float
from .views import ui_blueprint

history_bp = ui_blueprint("history", {"history": {"since"}})


@history_bp.get("/ui/history")
def history() -> dict:
    """``{"now", "started", "series": [{key, title, kind, live, t, a, b}], "markers": [{n, t, kind, what, who}]}``."""
    since = q_float("since", None)   # finite and >= 0, else a 400 naming it
    runtime = current_runtime()
    # ``started`` tells one cluster from the next (a reset): the page then loads the new one whole.
    return runtime.call(lambda: {**runtime.cluster.history.view(since), "started": runtime.cluster.started})

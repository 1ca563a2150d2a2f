"""Kubedrill web layer: the Flask app factory (flaskr style).

``create_app(config)`` builds one app with its own ``Runtime`` (cluster + engine thread), its own
Socket.IO server (namespace ``/live``, see ``webapp.live``) and the blueprints: the dashboard
(``/``) and the Kubernetes HTTP API (``/api``, ``/apis``, ...).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

from .extensions import socketio

ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    "DB_URL": "sqlite:///kubedrill.db",   # SQLAlchemy URL; None = memory only
    "SEED": 1,
    "PROFILE": "demo",
    "SPEED": 1.0,
    "NODES": 3,
    "EMPTY": False,
    "PAUSED": False,
    # Start the engine and broadcaster threads. Off under TESTING unless asked for: tests drive
    # simulated time by hand (runtime.step/advance) and flush the live stream themselves.
    "START_THREADS": None,
    # Socket.IO refuses a message above this size (closing the connection); action strings are
    # checked against their own, smaller limits (3 MiB for apply) so the user gets a clean error.
    "SOCKETIO_MAX_MESSAGE_BYTES": 8 * 1024 * 1024,
    # Same origin only. NB: in python-engineio ``None`` means "same origin" while ``[]`` switches
    # the origin check OFF; never pass [] here.
    "SOCKETIO_CORS_ALLOWED_ORIGINS": None,
}


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create and configure a Kubedrill app; ``config`` overrides ``DEFAULTS`` (tests pass TESTING)."""
    from .live import NAMESPACE, Broadcaster, LiveNamespace, NoWebSocketCompression, SocketJSON
    from .runtime import Runtime

    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.from_mapping(DEFAULTS)
    if config:
        app.config.update(config)
    if app.config["START_THREADS"] is None:
        app.config["START_THREADS"] = not app.config.get("TESTING", False)
    app.jinja_env.autoescape = True   # never render user text as HTML, whatever the template's suffix

    runtime = Runtime.from_config(app.config)
    app.extensions["kubedrill"] = runtime

    socketio.init_app(app, async_mode="threading",
                      cors_allowed_origins=app.config["SOCKETIO_CORS_ALLOWED_ORIGINS"],
                      max_http_buffer_size=int(app.config["SOCKETIO_MAX_MESSAGE_BYTES"]),
                      logger=False, engineio_logger=False, json=SocketJSON)
    # Keep this app's own server: ``socketio.server`` is replaced by the next init_app (tests).
    server = socketio.server
    broadcaster = Broadcaster(runtime, server)
    server.register_namespace(LiveNamespace(runtime, broadcaster, NAMESPACE))
    app.extensions["kubedrill.live"] = broadcaster
    app.extensions["kubedrill.socketio_server"] = server

    from . import views
    from .health import health_bp
    from .kube_api import bp as kube_api_bp
    app.register_blueprint(views.bp)
    app.register_blueprint(kube_api_bp)
    app.register_blueprint(health_bp)
    # Uncompressed WebSocket for the live stream: per-client compression cost 3x the CPU (live_bench).
    app.wsgi_app = NoWebSocketCompression(app.wsgi_app)  # type: ignore[method-assign]

    if app.config["START_THREADS"]:
        runtime.start()
        broadcaster.start()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return app


def shutdown_app(app: Flask) -> None:
    """Stop the app's broadcaster and engine threads and close its cluster (persisting the last step)."""
    live = app.extensions.get("kubedrill.live")
    if live is not None:
        live.stop()
    runtime = app.extensions.get("kubedrill")
    if runtime is not None:
        runtime.stop()

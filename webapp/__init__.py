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
PING_INTERVAL = 10   # Engine.IO heartbeat, seconds
PING_TIMEOUT = 20

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
    # Per-connection token bucket for Socket.IO messages (webapp.socket_guard): messages/s, burst.
    "SOCKETIO_RATE": 50.0,
    "SOCKETIO_BURST": 100,
}


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create and configure a Kubedrill app; ``config`` overrides ``DEFAULTS`` (tests pass TESTING)."""
    from .live import NAMESPACE, Broadcaster, LiveNamespace, NoWebSocketCompression, SocketJSON
    from .runtime import Runtime
    from .socket_guard import LivePacket, PollingBodyFilter, SocketGuard

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
                      logger=False, engineio_logger=False, json=SocketJSON, serializer=LivePacket,
                      # A PING every 10 s (not 25): python-engineio clients give up after ping_interval
                      # + 5 s without writing, so this lets a client lag 15 s rather than 5 (see live.py).
                      ping_interval=PING_INTERVAL, ping_timeout=PING_TIMEOUT)
    # Keep this app's own server: ``socketio.server`` is replaced by the next init_app (tests).
    server = socketio.server
    # Garbage frames are dropped (one log line now and then), bad events answered, floods throttled.
    app.extensions["kubedrill.socket_guard"] = SocketGuard(
        server, rate=float(app.config["SOCKETIO_RATE"]), burst=int(app.config["SOCKETIO_BURST"])).install()
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
    # Long-polling bodies that do not decode are refused before Engine.IO sees them.
    guard = app.extensions["kubedrill.socket_guard"]
    app.wsgi_app = PollingBodyFilter(app.wsgi_app, guard.report,  # type: ignore[method-assign]
                                     int(app.config["SOCKETIO_MAX_MESSAGE_BYTES"]))

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

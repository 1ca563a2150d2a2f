"""Kubedrill web layer: the Flask app factory (flaskr style).

``create_app(config)`` builds one app with its own ``Hub`` (every simulated cluster by id, with the
one engine thread and the one live thread that move them, see ``webapp.hub``), its own Socket.IO
server (namespace ``/live``, see ``webapp.live``) and the blueprints: the dashboard (``/``) and the
Kubernetes HTTP API (``/api``, ``/apis``, ...), served for the ``demo`` cluster at ``/`` and for any
cluster at ``/c/<id>/``.

Class mode (``CLASSROOM``): the class and its sessions (``webapp.classroom.store.ClassStore``, at
``app.extensions["kubedrill.class"]``) are opened from the same database (a restart resumes them),
the class endpoints (``/class``, ``/join``, ``webapp.classroom.routes``) are served, and the
dashboard pages let in only those the policy lets read the cluster (``webapp.classroom.access``).
Without it there is no class store, and everybody is the admin.
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
    # The hub (webapp.hub): at most this many student clusters; one unwatched and unused this many
    # wall seconds is saved and unloaded (0: never).
    "MAX_CLUSTERS": 60,
    "IDLE_SECONDS": 600.0,
    # Class mode (webapp.classroom): off, the server is one user's.
    "CLASSROOM": False,
    # Joins allowed per client address a minute after a burst, and for the whole server (the
    # code-guessing and class-filling an attacker would try; a class joining at once must pass).
    "JOIN_RATE": 10.0,
    "JOIN_BURST": 5,
    "JOIN_RATE_TOTAL": 60.0,
    "JOIN_BURST_TOTAL": 60,
}


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create and configure a Kubedrill app; ``config`` overrides ``DEFAULTS`` (tests pass TESTING)."""
    from engine.errors import StatusError

    from .hub import DEFAULT_CLUSTER, ClusterPrefix, Hub
    from .kube_api.errors import status_response
    from .live import FRAME_SECONDS, NAMESPACE, Broadcaster, LiveNamespace, NoWebSocketCompression, SocketJSON
    from .policy import principal_from_environ
    from .socket_guard import LivePacket, PollingBodyFilter, SocketGuard

    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.from_mapping(DEFAULTS)
    if config:
        app.config.update(config)
    if app.config["START_THREADS"] is None:
        app.config["START_THREADS"] = not app.config.get("TESTING", False)
    app.jinja_env.autoescape = True   # never render user text as HTML, whatever the template's suffix

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
    hub = Hub(app.config, server, namespace=NAMESPACE, broadcaster_factory=Broadcaster, frame=FRAME_SECONDS)
    app.extensions["kubedrill.hub"] = hub
    # The demo cluster (the only one without class mode) and its live stream, as tests know them.
    app.extensions["kubedrill"] = hub.get(DEFAULT_CLUSTER)
    app.extensions["kubedrill.live"] = hub.broadcaster(DEFAULT_CLUSTER)
    app.extensions["kubedrill.socketio_server"] = server
    server.register_namespace(LiveNamespace(
        hub, lambda environ: principal_from_environ(environ, app.extensions.get("kubedrill.class")), NAMESPACE))

    from . import network_view, views
    from .audit_view import audit_bp
    from .controlplane_view import controlplane_bp
    from .health import health_bp
    from .history_view import history_bp
    from .why_view import why_bp
    from .kube_api import bp as kube_api_bp
    app.register_blueprint(views.bp)
    app.register_blueprint(network_view.bp)
    app.register_blueprint(kube_api_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(history_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(controlplane_bp)
    app.register_blueprint(why_bp)
    app.register_error_handler(StatusError, status_response)   # e.g. a /c/<id>/ naming no cluster
    if app.config["CLASSROOM"]:
        _open_class(app, hub)
    # Uncompressed WebSocket for the live stream: per-client compression cost 3x the CPU (live_bench).
    app.wsgi_app = NoWebSocketCompression(app.wsgi_app)  # type: ignore[method-assign]
    # Long-polling bodies that do not decode are refused before Engine.IO sees them.
    guard = app.extensions["kubedrill.socket_guard"]
    app.wsgi_app = PollingBodyFilter(app.wsgi_app, guard.report,  # type: ignore[method-assign]
                                     int(app.config["SOCKETIO_MAX_MESSAGE_BYTES"]))
    # Outermost: /c/<id>/... is cluster <id>'s dashboard and API (webapp.hub).
    app.wsgi_app = ClusterPrefix(app.wsgi_app)  # type: ignore[method-assign]

    if app.config["START_THREADS"]:
        hub.start()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return app


def _open_class(app: Flask, hub: Any) -> None:
    """Class mode: resume (or start) the class of the database, serve its routes, gate the dashboard."""
    from .classroom.access import gate
    from .classroom.bulk import lock_speed
    from .classroom.ratelimit import JoinLimiter
    from .classroom.routes import class_bp
    from .classroom.store import ClassStore
    from .hub import DEFAULT_CLUSTER

    classroom = ClassStore(app.config["DB_URL"])
    classroom.open_or_create_class()
    app.extensions["kubedrill.class"] = classroom
    c = app.config
    app.extensions["kubedrill.join_limiter"] = JoinLimiter(
        per_address=float(c["JOIN_RATE"]), burst=float(c["JOIN_BURST"]), per_minute=float(c["JOIN_RATE_TOTAL"]),
        global_burst=float(c["JOIN_BURST_TOTAL"]))

    def held_at_class_speed(cid: str, runtime: Any) -> None:
        # A student cluster made or loaded back (after eviction or a restart) keeps the class's lock.
        if cid != DEFAULT_CLUSTER and classroom.speed_lock is not None:
            lock_speed(runtime, classroom.speed_lock)

    hub.on_load.append(held_at_class_speed)   # (only demo is loaded yet, and it is never locked)
    app.register_blueprint(class_bp)
    app.before_request(gate)


def shutdown_app(app: Flask) -> None:
    """Stop the hub's threads and close every loaded cluster (persisting its last step), and the class."""
    hub = app.extensions.get("kubedrill.hub")
    if hub is not None:
        hub.stop()
    classroom = app.extensions.get("kubedrill.class")
    if classroom is not None:
        classroom.close()

"""Serve the app: gunicorn (embedded) for ``app.py``, a threaded in-process server for tests.

Production (``serve``): gunicorn, embedded through ``gunicorn.app.base.BaseApplication``, one
``gthread`` worker with 256 threads. Why this shape:

* one worker, because one process owns one simulated cluster and its engine thread (the growth
  path to several processes is Flask-SocketIO's message queue, not more workers here);
* ``gthread``, because Flask-SocketIO's ``threading`` mode + simple-websocket takes the raw socket
  from ``environ["gunicorn.socket"]`` and gives real WebSocket transport (verified by
  tests/webapp/test_app_cli.py with ``transports=["websocket"]``); each open WebSocket holds one
  thread, so 256 threads fit a classroom of 200 dashboards plus HTTP API traffic;
* the app - and with it the engine and broadcaster threads - is built in ``load()``, which gunicorn
  calls inside the worker after the fork (``preload_app`` stays off): threads do not survive a fork.

Tests (``ThreadedServer``): a real HTTP + WebSocket server on 127.0.0.1 in a background thread of
the test process, so a test can reach into ``app.extensions["kubedrill"]`` and drive simulated time
by hand. gunicorn's arbiter installs signal handlers and forks, so it cannot run in a thread; this is
Werkzeug's threaded WSGI server (``make_server``; simple-websocket takes ``environ["werkzeug.socket"]``),
started without ``run_simple`` and its development-server banner. It is for tests only.

``ThreadedServer.stop`` behaves like a process exit: the listener closes, every Engine.IO session is
closed and every open connection (WebSocket, or HTTP still being read) is shut down, then the connection
threads are joined within a bound; it raises if one is still running. It does NOT use
``engineio.Server.disconnect()``: that calls ``Socket.close(wait=True)``, which blocks in
``queue.join()`` until the session's writer thread has consumed every queued packet, but the
WebSocket writer exits at the first ``None`` it reads and the WebSocket handler queues its own
``None`` when the client drops the connection. When the client's close races the server's close,
one ``None`` stays unconsumed and ``disconnect()`` waits forever (seen as a flaky 30 s hang in
tests/browser/test_dashboard.py: ``closed=True unfinished=1 items=[None]``, no writer thread left).
"""
from __future__ import annotations

import gc
import logging
import socket
import sys
import threading
import time
from typing import Any, Callable

from flask import Flask

GUNICORN_THREADS = 256
STOP_TIMEOUT = 10.0   # seconds ThreadedServer.stop waits for connection threads (watches wake every 5 s)

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def serve(app_factory: Callable[[], Flask], host: str, port: int, *, on_ready: Callable[[], None] | None = None,
          threads: int = GUNICORN_THREADS, log_level: str = "warning") -> None:
    """Run the app under gunicorn (one gthread worker) until interrupted; the app is built in the worker.

    ``on_ready`` runs in the worker once the app is loaded. If the app cannot be built, gunicorn
    exits with status 3 ("Worker failed to boot").
    """
    from gunicorn.app.base import BaseApplication

    def post_worker_init(_worker: Any) -> None:
        # Announce only once the app (cluster, engine thread) is built and requests will be served.
        if on_ready is not None:
            on_ready()

    def worker_exit(_arbiter: Any, worker: Any) -> None:
        # Stop the engine and write its last step before the worker goes away.
        app = getattr(worker, "wsgi", None)
        if isinstance(app, Flask):
            from . import shutdown_app
            shutdown_app(app)

    options = {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": 1,
        "worker_class": "gthread",
        "threads": threads,
        "worker_connections": max(1000, threads * 4),
        "keepalive": 5,
        "timeout": 60,
        "graceful_timeout": 3,       # open WebSockets never finish by themselves: do not wait 30 s
        "preload_app": False,        # build the app (and its threads) inside the worker
        "accesslog": None,
        "errorlog": "-",
        "loglevel": log_level,
        "proc_name": "kubedrill",
        "control_socket_disable": True,   # gunicorn 27 would otherwise open ~/.gunicorn/gunicorn.ctl
        "post_worker_init": post_worker_init,
        "worker_exit": worker_exit,
    }

    class KubedrillApplication(BaseApplication):
        """gunicorn configured from a dict rather than a command line or config file."""

        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            app = app_factory()
            # Full collections of a big, long-lived heap pause every request for 40-60 ms
            # (bench/api_bench.py); the runtime already froze the cluster, so collect rarely.
            gc.set_threshold(20_000, 20, 20)
            return app

    # gunicorn parses sys.argv in its own config unless told otherwise; ours is already parsed.
    argv, sys.argv = sys.argv, sys.argv[:1]
    try:
        KubedrillApplication().run()
    finally:
        sys.argv = argv


def _tracking_server_class() -> type:
    """Werkzeug's ``ThreadedWSGIServer`` that remembers each open connection and its thread."""
    from werkzeug.serving import ThreadedWSGIServer

    class TrackingWSGIServer(ThreadedWSGIServer):
        def __init__(self, *args: Any, **kwargs: Any):
            super().__init__(*args, **kwargs)
            self.connections: dict[Any, threading.Thread] = {}   # request socket -> its handler thread
            self.connections_lock = threading.Lock()

        def process_request(self, request: Any, client_address: Any) -> None:
            # Registered before the thread starts, so stop() never misses a connection.
            thread = threading.Thread(target=self.process_request_thread, args=(request, client_address),
                                      name=f"kubedrill-test-conn-{client_address[1]}", daemon=True)
            with self.connections_lock:
                self.connections[request] = thread
            thread.start()

        def process_request_thread(self, request: Any, client_address: Any) -> None:
            try:
                super().process_request_thread(request, client_address)
            finally:
                with self.connections_lock:
                    self.connections.pop(request, None)

    return TrackingWSGIServer


class ThreadedServer:
    """A real server for ``app`` on ``host``:``port`` in a background thread (tests' ``live_server``)."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0):
        self.app = app
        self._server = _tracking_server_class()(host, port, app)
        self.host = host
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="kubedrill-test-server",
                                        daemon=True)
        self._sessions_closed = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "ThreadedServer":
        self._thread.start()
        return self

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop like a process exit: no new connections, every open one dropped; raise if one will not end.

        The app itself (engine and broadcaster threads) keeps running: ``webapp.shutdown_app`` stops it.
        Calling it again is harmless (and checks again for connections that would not end).
        """
        deadline = time.monotonic() + timeout
        if self._thread.ident is not None:      # shutdown() waits for serve_forever, so only if it ran
            self._server.shutdown()
            self._thread.join(max(0.0, deadline - time.monotonic()))
        self._server.server_close()             # the listener: reconnecting clients are refused from now on
        self._close_socketio_sessions()
        with self._server.connections_lock:
            connections = dict(self._server.connections)
        for conn in connections:
            # Unblocks every thread reading or writing it (WebSocket reader and writer, a request
            # whose bytes never come, e.g. a browser's pre-connect), as the kernel does at process exit.
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass    # already closed by its own thread
        for thread in connections.values():
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in [self._thread, *connections.values()] if t.is_alive()]
        if stuck:
            raise RuntimeError(f"the server on port {self.port} did not stop within {timeout:g} s: "
                               f"{', '.join(stuck)} still running")

    def _close_socketio_sessions(self) -> None:
        """Close every Engine.IO session of the app without waiting for its queued packets.

        Fires the Socket.IO disconnect handlers (the clients leave their rooms) and wakes each
        session's writer so it exits. Not ``eio.disconnect()``: it can wait forever (module docstring).
        """
        sio = self.app.extensions.get("kubedrill.socketio_server")
        if sio is None or self._sessions_closed:
            return
        self._sessions_closed = True
        eio = sio.eio
        sessions, eio.sockets = list(eio.sockets.values()), {}
        for session in sessions:
            try:
                # abort: no CLOSE packet, the connection just drops (a restart looks the same to clients)
                session.close(wait=False, abort=True, reason=eio.reason.SERVER_DISCONNECT)
            except Exception:  # one broken session must not keep the others open
                log.exception("could not close Engine.IO session %s", session.sid)
        sio.shutdown()   # the Engine.IO service task (ping timeouts); it exits as soon as told

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
"""
from __future__ import annotations

import gc

import socket
import sys
import threading
from typing import Any, Callable

from flask import Flask

GUNICORN_THREADS = 256


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


class ThreadedServer:
    """A real server for ``app`` on ``host``:``port`` in a background thread (tests' ``live_server``)."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0):
        from werkzeug.serving import make_server

        self.app = app
        self._server = make_server(host, port, app, threaded=True)
        self.host = host
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="kubedrill-test-server",
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "ThreadedServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

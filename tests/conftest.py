"""Shared fixtures: ``app``, ``runtime``, ``client``, ``sio_client``, ``live_server`` (+ ``live_app``,
``make_live_server``) and the Playwright wiring (``browser_type_launch_args``, ``base_url``,
``browser_context_args``).

* ``app`` is a fresh app per test with a fixed seed, no database (memory store) and *no* engine or
  broadcaster thread: a test moves simulated time itself (``runtime.step()`` / ``runtime.advance(s)``)
  and pushes the live stream with ``live.flush()``. Override its config with
  ``@pytest.mark.app_config(NODES=5, DB_URL=...)``.
* ``live_server`` is a real HTTP + WebSocket server on a free 127.0.0.1 port in a background thread,
  one per test module, with the engine running (seed 1). It returns the base URL (no trailing slash);
  ``live_app`` is the app behind it. ``make_live_server(**config)`` starts extra ones (stopped at the
  end of the test). Override the module's server config with ``@pytest.mark.app_config`` on the
  module (``pytestmark``).
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from webapp import create_app, shutdown_app  # noqa: E402
from webapp.extensions import socketio  # noqa: E402
from webapp.server import ThreadedServer  # noqa: E402

TEST_SEED = 1
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions",
    "--disable-quic", "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "app_config(**config): override the app / live_server Flask config")


def _marker_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    config: dict[str, Any] = {}
    node = request.node
    markers = list(node.iter_markers("app_config"))
    for marker in reversed(markers):   # closest (test) marker wins over module/class ones
        config.update(marker.kwargs)
    return config


# ---------------------------------------------------------------------- in-process app
@pytest.fixture
def app(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh app per test: seed 1, memory store, engine and broadcaster threads off."""
    config = {"TESTING": True, "SEED": TEST_SEED, "DB_URL": None, "START_THREADS": False}
    config.update(_marker_config(request))
    application = create_app(config)
    yield application
    shutdown_app(application)


@pytest.fixture
def runtime(app: Any) -> Any:
    """The app's ``webapp.runtime.Runtime`` (cluster, lock, step/advance)."""
    return app.extensions["kubedrill"]


@pytest.fixture
def live(app: Any) -> Any:
    """The app's live broadcaster (``flush()`` pushes pending changes to subscribers)."""
    return app.extensions["kubedrill.live"]


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def sio_client(app: Any, client: Any) -> Iterator[Any]:
    """An in-process Socket.IO client connected to namespace ``/live`` (not yet subscribed)."""
    sio = socketio.test_client(app, namespace="/live", flask_test_client=client)
    assert sio.is_connected("/live")
    yield sio
    if sio.is_connected("/live"):
        sio.disconnect(namespace="/live")


# ---------------------------------------------------------------------- real servers
def _start_server(config: dict[str, Any]) -> ThreadedServer:
    full = {"TESTING": True, "SEED": TEST_SEED, "DB_URL": None, "START_THREADS": True}
    full.update(config)
    return ThreadedServer(create_app(full)).start()


def _stop_server(server: ThreadedServer) -> None:
    server.stop()
    shutdown_app(server.app)


@pytest.fixture(scope="module")
def _live_server(request: pytest.FixtureRequest) -> Iterator[ThreadedServer]:
    config: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("app_config"))):
        config.update(marker.kwargs)
    server = _start_server(config)
    yield server
    _stop_server(server)


@pytest.fixture(scope="module")
def live_server(_live_server: ThreadedServer) -> str:
    """Base URL (``http://127.0.0.1:PORT``) of a real server for this test module, engine running."""
    return _live_server.url


@pytest.fixture(scope="module")
def live_app(_live_server: ThreadedServer) -> Any:
    """The app served by ``live_server`` (``live_app.extensions["kubedrill"]`` is its runtime)."""
    return _live_server.app


@pytest.fixture
def make_live_server() -> Iterator[Callable[..., ThreadedServer]]:
    """Start another real server with its own app: ``make_live_server(SEED=3, PAUSED=True).url``."""
    started: list[ThreadedServer] = []

    def make(**config: Any) -> ThreadedServer:
        server = _start_server(config)
        started.append(server)
        return server

    yield make
    for server in started:
        _stop_server(server)


# ---------------------------------------------------------------------- Playwright
@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's chromium with the flags that keep it offline and quiet (TOOLCHAIN.md)."""
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    return {**browser_type_launch_args, "executable_path": executable, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="module")
def base_url(live_server: str) -> str:
    """``page.goto("/")`` reaches this module's live server."""
    return live_server


@pytest.fixture
def browser_context_args(base_url: str) -> dict:
    # pytest-playwright's own version is session-scoped and would pin base_url to one server for
    # the whole session; ours follows the module's live server.
    return {"base_url": base_url}

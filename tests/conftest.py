"""Shared fixtures: ``app``, ``runtime``, ``client``, ``sio_client``, ``live_server`` (+ ``live_app``,
``make_live_server``) and the Playwright wiring (``browser_type_launch_args``, ``base_url``,
``browser_context_args``), and the databases (``db_url``, ``pg_server``, ``pg_url``).

* ``app`` is a fresh app per test with a fixed seed, no database (memory store) and *no* engine or
  broadcaster thread: a test moves simulated time itself (``runtime.step()`` / ``runtime.advance(s)``)
  and pushes the live stream with ``live.flush()``. Override its config with
  ``@pytest.mark.app_config(NODES=5, DB_URL=...)``.
* ``live_server`` is a real HTTP + WebSocket server on a free 127.0.0.1 port in a background thread,
  one per test module, with the engine running (seed 1). It returns the base URL (no trailing slash);
  ``live_app`` is the app behind it. ``make_live_server(**config)`` starts extra ones (stopped at the
  end of the test). Override the module's server config with ``@pytest.mark.app_config`` on the
  module (``pytestmark``).
* ``db_url`` is parametrized over ``sqlite`` (a file in ``tmp_path``) and ``postgresql`` (``pg_url``: a fresh,
  empty schema on ``pg_server``, a throwaway PostgreSQL server per session — per xdist worker — run
  through pytest-postgresql's executor on Debian's ``/usr/lib/postgresql/<ver>/bin/pg_ctl``). When that server
  cannot start, every PostgreSQL test errors at setup with the reason; none is skipped.
"""
from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import sys
import tempfile
import time
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


# ---------------------------------------------------------------------- databases
PG_USER = "postgres"   # the database superuser initdb creates (not the OS user the server runs as)
_PG_DATABASE = "kubedrill"   # one database per server; each test gets a schema of it (pg_url)


def _pg_ctl() -> str | None:
    """Find Debian's pg_ctl (the newest /usr/lib/postgresql/<ver>/bin), else one on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0)
    return found[-1] if found else shutil.which("pg_ctl")


def _unprivileged_user() -> str:
    """The OS user that runs the server when the tests run as root: Debian's ``postgres``, else ``nobody``."""
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root, but neither a 'postgres' nor a 'nobody' user exists to run the server")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """Start a throwaway PostgreSQL server for this session (one per xdist worker) and stop it at the end.

    Yields pytest-postgresql's ``PostgreSQLExecutor`` (``host``, ``port``, ``user``). Its data directory,
    socket and log live in a fresh directory under the system temp dir, removed afterwards.
    """
    pg_ctl = _pg_ctl()
    if pg_ctl is None:
        pytest.fail("PostgreSQL tests need a PostgreSQL server: no pg_ctl under /usr/lib/postgresql/*/bin or on "
                    "PATH (scripts/test.sh installs Debian's postgresql)", pytrace=False)
    from port_for import get_port
    from pytest_postgresql.executors import PostgreSQLExecutor

    base = Path(tempfile.mkdtemp(prefix="kubedrill-pg-"))
    wrapper_dir: Path | None = None
    executor = None
    try:
        try:
            executable = pg_ctl
            if os.geteuid() == 0:
                # initdb and postgres refuse to run as root: hand the directory to an unprivileged user and
                # let a wrapper run every pg_ctl call (initdb, start, status, stop) as that user.
                entry = pwd.getpwnam(_unprivileged_user())
                os.chown(base, entry.pw_uid, entry.pw_gid)
                wrapper_dir = Path(tempfile.mkdtemp(prefix="kubedrill-pg-ctl-"))
                executable = str(wrapper_dir / "pg_ctl")
                runuser = shutil.which("runuser") or "/sbin/runuser"
                # cd /: the user may not be allowed into the directory the tests run from.
                Path(executable).write_text(
                    f'#!/bin/sh\ncd /\nexec "{runuser}" -u {entry.pw_name} -- "{pg_ctl}" "$@"\n')
                os.chmod(executable, 0o755)
            executor = PostgreSQLExecutor(
                executable=executable, host="127.0.0.1", port=get_port(None), user=PG_USER, password=None,
                dbname=_PG_DATABASE, options="", datadir=str(base / "data"), unixsocketdir=str(base),
                logfile=str(base / "server.log"), startparams="-w", timeout=60,
                # Durability across an OS crash is not under test (the executor already passes -F, no
                # fsync): drop the rest of the disk work too, and keep the server's memory small.
                postgres_options="-c full_page_writes=off -c synchronous_commit=off -c shared_buffers=16MB",
            )
            executor.start()
            _wait_until_accepting(executor)
            import psycopg

            with psycopg.connect(_admin_conninfo(executor), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{_PG_DATABASE}"')
        except Exception as exc:  # noqa: BLE001 - the reason goes into the error of every PostgreSQL test
            log_file = base / "server.log"
            log = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
            output = getattr(exc, "output", b"") or b""
            detail = output.decode(errors="replace") if isinstance(output, bytes) else str(output)
            pytest.fail(f"the throwaway PostgreSQL server did not start ({pg_ctl}): {exc!r}\n{detail}\n{log}",
                        pytrace=False)
        yield executor
    finally:
        try:
            if executor is not None and executor.running():
                executor.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)
            if wrapper_dir is not None:
                shutil.rmtree(wrapper_dir, ignore_errors=True)


def _admin_conninfo(server: Any, dbname: str = "postgres") -> str:
    return f"host={server.host} port={server.port} user={server.user} dbname={dbname}"


def _wait_until_accepting(server: Any, timeout: float = 60.0) -> None:
    """Return once the server takes connections (its port opens while it still says "starting up")."""
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(_admin_conninfo(server), connect_timeout=5).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


_pg_schema_numbers = itertools.count(1)


@pytest.fixture
def pg_url(pg_server: Any) -> Iterator[str]:
    """A fresh, empty schema on ``pg_server`` for one test, as a SQLAlchemy URL; dropped afterwards.

    The URL's connections see only that schema (``search_path``), so to the code under test it is an
    empty database of its own. A schema costs under a millisecond; a CREATE DATABASE, half a second.
    """
    import psycopg

    name = f"t{next(_pg_schema_numbers)}"
    with psycopg.connect(_admin_conninfo(pg_server, _PG_DATABASE), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{name}"')
    # application_name tags the test's connections so that teardown can find them.
    yield (f"postgresql+psycopg://{pg_server.user}@{pg_server.host}:{pg_server.port}/{_PG_DATABASE}"
           f"?application_name={name}&options=-csearch_path%3D{name}")
    with psycopg.connect(_admin_conninfo(pg_server, _PG_DATABASE), autocommit=True) as conn:
        # A test may leave connections open on purpose (a runtime that "crashed" is never closed):
        # end them, so that none holds a lock the DROP would wait for.
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                     [name])
        conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLAlchemy URL of an empty store database: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kubedrill.db'}"
    # Requested lazily so that a SQLite-only run never starts the PostgreSQL server.
    return request.getfixturevalue("pg_url")

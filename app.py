"""Run Kubedrill: a simulated Kubernetes cluster, its live dashboard and its Kubernetes API.

    python app.py [--host 127.0.0.1] [--port 8080] [--db sqlite:///kubedrill.db] [--seed 1]
                  [--profile demo|kubernetes] [--speed 1] [--nodes 3] [--empty]
                  [--kubeconfig ./kubedrill.kubeconfig]
                  [--classroom] [--max-clusters 60] [--idle-minutes 10]

Every option can also come from the environment (KUBEDRILL_HOST, KUBEDRILL_PORT, KUBEDRILL_DB,
KUBEDRILL_SEED, KUBEDRILL_PROFILE, KUBEDRILL_SPEED, KUBEDRILL_NODES, KUBEDRILL_EMPTY,
KUBEDRILL_KUBECONFIG, KUBEDRILL_CLASSROOM, KUBEDRILL_MAX_CLUSTERS, KUBEDRILL_IDLE_MINUTES); a flag
beats the environment. A bad value exits with status 2 and one line.
The server is gunicorn with one threaded worker (see webapp/server.py).

Class mode (``--classroom``): one cluster per student besides the instructor's demo cluster. At
start the server prints, each on its own line::

    Instructor: http://HOST:PORT/class?token=<secret>
    Join code: <CODE>

The instructor opens the first (the token becomes a session cookie and leaves the address bar; a
new one is printed at every start); students open http://HOST:PORT/join and type the code. The
class, its sessions and every cluster live in the database, so a restart lets everyone back in.
``--max-clusters`` bounds the student clusters (1-1000); a cluster nobody uses for
``--idle-minutes`` (0: never) is saved and dropped from memory until its next request. The
kubeconfig written at start then carries an instructor token (mode 0600): keep it to yourself.
"""
from __future__ import annotations

import argparse
import ipaddress
import math
import os
import socket
import sys
from pathlib import Path
from typing import Any, Callable, NoReturn, Sequence

MIN_SPEED, MAX_SPEED = 0.25, 50.0
MAX_NODES = 5000
MAX_CLUSTERS = 1000
MAX_IDLE_MINUTES = 7 * 24 * 60
PROFILES = ("demo", "kubernetes")
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class OneLineParser(argparse.ArgumentParser):
    """argparse, but an error is one line on stderr (no usage block) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}\n")


def _host(text: str) -> str:
    text = text.strip()
    if not text or any(c.isspace() for c in text) or "/" in text:
        raise argparse.ArgumentTypeError(f"invalid host {text!r}")
    return text


def _bounded_int(what: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid {what} {text!r}: must be an integer {low}-{high}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"invalid {what} {value}: must be {low}-{high}")
    return value


def _port(text: str) -> int:
    return _bounded_int("port", text, 1, 65535)


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r}: must be an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid seed {value}: must be >= 0")
    return value


def _profile(text: str) -> str:
    if text not in PROFILES:
        raise argparse.ArgumentTypeError(f"invalid profile {text!r}: choose from demo, kubernetes")
    return text


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid speed {text!r}: must be a number") from None
    if not math.isfinite(value) or not MIN_SPEED <= value <= MAX_SPEED:
        raise argparse.ArgumentTypeError(f"invalid speed {text}: must be between {MIN_SPEED:g} and {MAX_SPEED:g}")
    return value


def _nodes(text: str) -> int:
    return _bounded_int("nodes", text, 1, MAX_NODES)


def _max_clusters(text: str) -> int:
    return _bounded_int("max-clusters", text, 1, MAX_CLUSTERS)


def _idle_minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid idle-minutes {text!r}: must be a number of minutes") from None
    if not math.isfinite(value) or not 0 <= value <= MAX_IDLE_MINUTES:
        raise argparse.ArgumentTypeError(
            f"invalid idle-minutes {text}: must be 0 (never) to {MAX_IDLE_MINUTES} minutes")
    return value


def _db(text: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise argparse.ArgumentTypeError(
            f"invalid database URL {text!r}: expected e.g. sqlite:///kubedrill.db") from None
    try:
        url.get_dialect().import_dbapi()   # the driver must be installed, not only the dialect known
    except (NoSuchModuleError, ImportError) as err:
        raise argparse.ArgumentTypeError(f"unusable database URL {text!r}: {err}") from None
    return text


def _path(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("invalid path: empty")
    return text


def _flag(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {text!r}: use 1/0, true/false, yes/no, on/off")


# dest -> (environment variable, parser of its text)
ENVIRONMENT: dict[str, tuple[str, Callable[[str], Any]]] = {
    "host": ("KUBEDRILL_HOST", _host),
    "port": ("KUBEDRILL_PORT", _port),
    "db": ("KUBEDRILL_DB", _db),
    "seed": ("KUBEDRILL_SEED", _seed),
    "profile": ("KUBEDRILL_PROFILE", _profile),
    "speed": ("KUBEDRILL_SPEED", _speed),
    "nodes": ("KUBEDRILL_NODES", _nodes),
    "empty": ("KUBEDRILL_EMPTY", _flag),
    "kubeconfig": ("KUBEDRILL_KUBECONFIG", _path),
    "classroom": ("KUBEDRILL_CLASSROOM", _flag),
    "max_clusters": ("KUBEDRILL_MAX_CLUSTERS", _max_clusters),
    "idle_minutes": ("KUBEDRILL_IDLE_MINUTES", _idle_minutes),
}


def build_parser() -> OneLineParser:
    """The command line; defaults are the documented ones, before the environment is applied."""
    p = OneLineParser(prog="app.py", description="Run Kubedrill: a simulated Kubernetes cluster you can break.")
    p.add_argument("--host", type=_host, default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8080, help="port to listen on (default 8080)")
    p.add_argument("--db", type=_db, default="sqlite:///kubedrill.db",
                   help="SQLAlchemy URL of the store (default sqlite:///kubedrill.db in the working directory)")
    p.add_argument("--seed", type=_seed, default=1, help="random seed: same seed, same story (default 1)")
    p.add_argument("--profile", type=_profile, default="demo",
                   help="timings: demo (compressed) or kubernetes (real defaults); default demo")
    p.add_argument("--speed", type=_speed, default=1.0,
                   help=f"simulated seconds per wall second, {MIN_SPEED:g}-{MAX_SPEED:g} (default 1)")
    p.add_argument("--nodes", type=_nodes, default=3, help=f"worker nodes, 1-{MAX_NODES} (default 3)")
    p.add_argument("--empty", action=argparse.BooleanOptionalAction, default=False,
                   help="start without the demo workloads")
    p.add_argument("--kubeconfig", type=_path, default="./kubedrill.kubeconfig",
                   help="write a kubeconfig for this cluster here (default ./kubedrill.kubeconfig)")
    p.add_argument("--classroom", action=argparse.BooleanOptionalAction, default=False,
                   help="class mode: a cluster per student who joins with the printed code, an instructor "
                        "grid at /class (the printed Instructor URL logs you in)")
    p.add_argument("--max-clusters", type=_max_clusters, default=60,
                   help=f"class mode: at most this many student clusters, 1-{MAX_CLUSTERS} (default 60)")
    p.add_argument("--idle-minutes", type=_idle_minutes, default=10.0,
                   help="unload a student cluster nobody used for this long, 0 = never (default 10)")
    return p


def parse_args(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> argparse.Namespace:
    """Parse flags over environment over defaults; a bad value exits 2 with one line."""
    parser = build_parser()
    environ = os.environ if environ is None else environ
    defaults: dict[str, Any] = {}
    for dest, (var, convert) in ENVIRONMENT.items():
        if var in environ:
            try:
                defaults[dest] = convert(environ[var])
            except argparse.ArgumentTypeError as err:
                parser.error(f"{var}: {err}")
    parser.set_defaults(**defaults)
    return parser.parse_args(argv)


def public_url(host: str, port: int) -> str:
    """The URL a browser on this machine uses (a wildcard bind is reached through loopback)."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return f"http://{host}:{port}/"
    if ip.is_unspecified:
        return f"http://127.0.0.1:{port}/" if ip.version == 4 else f"http://[::1]:{port}/"
    return f"http://[{ip}]:{port}/" if ip.version == 6 else f"http://{ip}:{port}/"


def check_port_free(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be bound (None if it can); gunicorn would retry for 5 s instead."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host.strip("[]"), port))
    except OSError as err:
        return f"cannot listen on {host}:{port}: {err.strerror or err}"
    return None


def write_kubeconfig(path: str, server_url: str, token: str | None = None) -> Path:
    """Write a kubeconfig pointing at ``server_url`` (context kubedrill); with ``token``, readable by you only."""
    from webapp.kube_api.kubeconfig import render

    target = Path(path).expanduser().resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    if token is not None:
        target.touch(mode=0o600)
        target.chmod(0o600)   # touch keeps an existing file's mode
    target.write_text(render(server_url.rstrip("/"), token=token))
    return target


def check_database(url: str) -> str | None:
    """Why the store at ``url`` cannot be resumed (None if it can); keep a last good copy when it can."""
    from engine.etcd import persistence

    backup = persistence.last_good_path(url)
    try:
        persistence.verify(url)
    except persistence.DamagedDatabase as err:
        where = make_url_path(url)
        if backup is not None and backup.exists():
            return (f"the database {where} is damaged ({err}): the last good copy is {backup} "
                    f"(mv {backup} {where}), or move {where} aside to start afresh")
        return f"the database {where} is damaged ({err}): move it aside to start afresh"
    try:
        persistence.save_last_good(url)
    except OSError as err:
        print(f"app.py: warning: cannot keep a copy of the database in {backup}: {err}", file=sys.stderr)
    return None


def make_url_path(url: str) -> str:
    """The file of a SQLite URL, else the URL without its password."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.database if parsed.get_backend_name() == "sqlite" and parsed.database else \
        parsed.render_as_string(hide_password=True)


def announce_class(app: Any, url: str, kubeconfig_path: str) -> None:
    """Print the instructor's login URL and the join code; the kubeconfig gets an instructor token.

    The login token is new at every start (the previous one stops working; sessions already made
    with it stay). It is printed here only: no log line carries it (webapp/server.py logs no URLs).
    """
    classroom = app.extensions["kubedrill.class"]
    token = classroom.mint_instructor_login()
    print(f"Instructor: {url}class?token={token}", flush=True)
    print(f"Join code: {classroom.info.join_code}", flush=True)
    try:
        write_kubeconfig(kubeconfig_path, url, classroom.add_session("instructor", "instructor", None))
    except OSError as err:
        print(f"app.py: warning: cannot write kubeconfig {kubeconfig_path}: {err.strerror or err}",
              file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    problem = check_port_free(args.host, args.port)
    if problem:
        print(f"app.py: error: {problem}", file=sys.stderr)
        return 1
    url = public_url(args.host, args.port)
    try:
        kubeconfig = write_kubeconfig(args.kubeconfig, url)
    except OSError as err:
        print(f"app.py: error: cannot write kubeconfig {args.kubeconfig}: {err.strerror or err}", file=sys.stderr)
        return 1

    problem = check_database(args.db)
    if problem:
        print(f"app.py: error: {problem}", file=sys.stderr)
        return 1

    config = {"DB_URL": args.db, "SEED": args.seed, "PROFILE": args.profile, "SPEED": args.speed,
              "NODES": args.nodes, "EMPTY": args.empty, "CLASSROOM": args.classroom,
              "MAX_CLUSTERS": args.max_clusters, "IDLE_SECONDS": args.idle_minutes * 60.0}
    built: list[Any] = []

    def app_factory() -> Any:
        from webapp import create_app
        built.append(create_app(config))
        return built[-1]

    def on_ready() -> None:
        print(f"Kubedrill running at {url}", flush=True)
        if args.classroom:
            announce_class(built[-1], url, args.kubeconfig)
        print(f"export KUBECONFIG={kubeconfig}", flush=True)
        if args.host not in ("127.0.0.1", "localhost", "::1") and not args.classroom:
            print(f"warning: listening on {args.host}: anyone who can reach it can control the cluster",
                  file=sys.stderr, flush=True)

    from webapp.server import serve
    serve(app_factory, args.host, args.port, on_ready=on_ready)
    return 0


if __name__ == "__main__":
    sys.exit(main())

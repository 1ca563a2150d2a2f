"""app.py: flags, environment, one-line errors, and a real start under gunicorn with WebSocket."""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
import socketio
import yaml

import app as cli
from webapp.server import free_port

ROOT = Path(__file__).resolve().parents[2]
ENV_VARS = [var for var, _ in cli.ENVIRONMENT.values()]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env.update(extra)
    return env


def run_cli(*args: str, cwd: Path, timeout: float = 20, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "app.py"), *args], cwd=cwd, env=_clean_env(**env),
                          capture_output=True, text=True, timeout=timeout)


def test_defaults():
    args = cli.parse_args([], environ={})
    assert (args.host, args.port, args.db, args.seed, args.profile, args.speed, args.nodes, args.empty) == (
        "127.0.0.1", 8080, "sqlite:///kubedrill.db", 1, "demo", 1.0, 3, False)
    assert args.kubeconfig == "./kubedrill.kubeconfig"
    assert (args.classroom, args.max_clusters, args.idle_minutes) == (False, 60, 10.0)


def test_class_mode_flags_and_their_environment():
    env = {"KUBEDRILL_CLASSROOM": "1", "KUBEDRILL_MAX_CLUSTERS": "100", "KUBEDRILL_IDLE_MINUTES": "0"}
    args = cli.parse_args([], environ=env)
    assert (args.classroom, args.max_clusters, args.idle_minutes) == (True, 100, 0.0)
    args = cli.parse_args(["--no-classroom", "--max-clusters", "1000", "--idle-minutes", "2.5"], environ=env)
    assert (args.classroom, args.max_clusters, args.idle_minutes) == (False, 1000, 2.5)


def test_environment_is_honoured_and_flags_beat_it():
    env = {"KUBEDRILL_PORT": "9000", "KUBEDRILL_SEED": "7", "KUBEDRILL_PROFILE": "kubernetes",
           "KUBEDRILL_SPEED": "2.5", "KUBEDRILL_NODES": "10", "KUBEDRILL_EMPTY": "yes",
           "KUBEDRILL_DB": "sqlite:////tmp/x.db", "KUBEDRILL_HOST": "0.0.0.0"}
    args = cli.parse_args([], environ=env)
    assert (args.host, args.port, args.db, args.seed, args.profile, args.speed, args.nodes, args.empty) == (
        "0.0.0.0", 9000, "sqlite:////tmp/x.db", 7, "kubernetes", 2.5, 10, True)

    args = cli.parse_args(["--port", "9100", "--no-empty", "--nodes", "4"], environ=env)
    assert (args.port, args.empty, args.nodes, args.seed) == (9100, False, 4, 7)


@pytest.mark.parametrize("argv, words", [
    (["--port", "http"], "port"),
    (["--port", "70000"], "port"),
    (["--speed", "100"], "speed"),
    (["--speed", "0.1"], "speed"),
    (["--nodes", "0"], "nodes"),
    (["--nodes", "5001"], "nodes"),
    (["--profile", "production"], "profile"),
    (["--seed", "x"], "seed"),
    (["--db", "not a url"], "database URL"),
    (["--workers", "4"], "unrecognized arguments"),
    (["--max-clusters", "0"], "max-clusters"),
    (["--max-clusters", "1001"], "max-clusters"),
    (["--max-clusters", "many"], "max-clusters"),
    (["--idle-minutes", "-1"], "idle-minutes"),
    (["--idle-minutes", "soon"], "idle-minutes"),
])
def test_bad_flag_exits_non_zero_with_one_line(tmp_path, argv, words):
    proc = run_cli(*argv, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert words in lines[0]
    assert proc.stdout == ""


@pytest.mark.parametrize("var, value", [("KUBEDRILL_SPEED", "fast"), ("KUBEDRILL_NODES", "-3"),
                                        ("KUBEDRILL_EMPTY", "maybe"), ("KUBEDRILL_PORT", "0"),
                                        ("KUBEDRILL_CLASSROOM", "maybe"), ("KUBEDRILL_MAX_CLUSTERS", "0"),
                                        ("KUBEDRILL_IDLE_MINUTES", "nan")])
def test_bad_environment_value_exits_non_zero_with_one_line_naming_it(tmp_path, var, value):
    proc = run_cli(cwd=tmp_path, **{var: value})
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and var in lines[0], proc.stderr


def test_a_port_in_use_is_one_line(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = run_cli("--port", str(port), cwd=tmp_path)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0], proc.stderr


def _read_lines(stream, out: queue.Queue) -> None:
    for line in stream:
        out.put(line.rstrip("\n"))


def _start_app(cwd: Path, *args: str) -> tuple[subprocess.Popen, queue.Queue, queue.Queue]:
    """app.py in its own process; its stdout and stderr lines land in two queues as they come."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), *args], cwd=cwd, env=_clean_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    errors: queue.Queue[str] = queue.Queue()
    proc.readers = [threading.Thread(target=_read_lines, args=(stream, out), daemon=True)  # type: ignore[attr-defined]
                    for stream, out in ((proc.stdout, lines), (proc.stderr, errors))]
    for reader in proc.readers:  # type: ignore[attr-defined]
        reader.start()
    return proc, lines, errors


def _stop_app(proc: subprocess.Popen) -> None:
    """Ctrl-C, as a user would; then wait until everything it wrote has been read."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for reader in proc.readers:  # type: ignore[attr-defined]
        reader.join(timeout=10)


def test_app_py_serves_the_page_and_a_websocket_under_gunicorn(tmp_path):
    port = free_port()
    kubeconfig = tmp_path / "kc" / "config"
    proc, lines, errors = _start_app(tmp_path, "--port", str(port), "--kubeconfig", str(kubeconfig),
                                     "--db", f"sqlite:///{tmp_path / 'kd.db'}", "--seed", "3")
    try:
        try:
            first = lines.get(timeout=30)
            second = lines.get(timeout=5)
        except queue.Empty:
            raise AssertionError("no banner; stderr: " + " | ".join(list(errors.queue))) from None
        assert first == f"Kubedrill running at http://127.0.0.1:{port}/"
        assert second == f"export KUBECONFIG={kubeconfig}"
        assert f"server: http://127.0.0.1:{port}" in kubeconfig.read_text()

        page = requests.get(f"http://127.0.0.1:{port}/", timeout=30)
        assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
        assert page.headers.get("Server", "").startswith("gunicorn")

        sio = socketio.Client(reconnection=False)
        snapshots: queue.Queue[dict] = queue.Queue()
        sio.on("snapshot", snapshots.put, namespace="/live")
        sio.connect(f"http://127.0.0.1:{port}", namespaces=["/live"], transports=["websocket"], wait_timeout=10)
        try:
            assert sio.transport() == "websocket"
            assert sio.call("subscribe", {"since": None}, namespace="/live", timeout=10)["ok"]
            snap = snapshots.get(timeout=10)
            assert snap["clock"]["profile"] == "demo" and snap["objects"]
        finally:
            sio.disconnect()

        refused = socketio.Client(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            refused.connect(f"http://127.0.0.1:{port}", namespaces=["/live"], transports=["websocket"],
                            wait_timeout=5, headers={"Origin": "http://evil.example"})
        assert (tmp_path / "kd.db").exists()
        warnings = [e for e in errors.queue if "development server" in e.lower()]
        assert not warnings
    finally:
        _stop_app(proc)


def test_class_mode_prints_the_instructor_url_and_the_code_and_never_logs_a_token(tmp_path):
    port = free_port()
    kubeconfig = tmp_path / "kc"
    proc, lines, errors = _start_app(tmp_path, "--classroom", "--port", str(port), "--kubeconfig", str(kubeconfig),
                                     "--db", f"sqlite:///{tmp_path / 'kd.db'}", "--max-clusters", "2")
    base = f"http://127.0.0.1:{port}"
    secrets: list[str] = []
    try:
        try:
            banner = [lines.get(timeout=30)] + [lines.get(timeout=5) for _ in range(3)]
        except queue.Empty:
            raise AssertionError("no banner; stderr: " + " | ".join(list(errors.queue))) from None
        assert banner[0] == f"Kubedrill running at {base}/"
        instructor_line, code_line = banner[1], banner[2]
        assert instructor_line.startswith(f"Instructor: {base}/class?token=")
        token = instructor_line.split("token=", 1)[1]
        assert len(token) >= 40
        assert code_line.startswith("Join code: ")
        join_code = code_line.removeprefix("Join code: ")
        assert len(join_code) == 6 and not set(join_code) & set("01OIL")
        assert banner[3] == f"export KUBECONFIG={kubeconfig}"
        # The kubeconfig written at start is the instructor's: a token, for the owner's eyes only.
        assert oct(kubeconfig.stat().st_mode & 0o777) == "0o600"
        secrets += [token, yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]["token"]]

        browser = requests.Session()
        resp = browser.get(instructor_line.removeprefix("Instructor: "), allow_redirects=False, timeout=30)
        assert resp.status_code == 303 and resp.headers["Location"] == "/class"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        assert browser.get(f"{base}/class", timeout=30).status_code == 200
        link = browser.post(f"{base}/class/api/viewer", timeout=30).json()["url"]
        secrets.append(link.split("token=", 1)[1])
        assert requests.get(link, allow_redirects=False, timeout=30).status_code == 303
        assert requests.get(f"{base}/class?token=not-{token}", timeout=30).status_code == 401
        joined = requests.post(f"{base}/class/join", json={"code": join_code, "name": "alice"}, timeout=30)
        assert joined.status_code == 201
        secrets.append(joined.cookies["kubedrill_session"].split(".", 1)[1])
        # Student pages are behind the session; without one the browser is sent to /join.
        anonymous = requests.get(f"{base}/", allow_redirects=False, timeout=30)
        assert anonymous.status_code == 303 and anonymous.headers["Location"] == "/join"
    finally:
        _stop_app(proc)
    logged = "\n".join(list(errors.queue) + list(lines.queue))
    for secret in secrets:
        assert secret not in logged

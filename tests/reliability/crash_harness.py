"""Kill a real Kubedrill server with SIGKILL while clients write, restart it on the same database, check.

Shared by tests/reliability/test_crash.py (a handful of trials in the suite) and bench/crash_bench.py
(hundreds). A trial:

1. starts ``app.py`` on a free loopback port with a SQLite file (fresh, or the one the last trial left),
   optionally pauses the simulation (the dashboard's Pause, over Socket.IO);
2. runs writer threads that create ConfigMaps through the Kubernetes API and remember every write the
   server acknowledged (201) with the resourceVersion it gave, and the highest resourceVersion any
   answer carried;
3. sends SIGKILL at a random moment while the writes are in flight;
4. starts the server again on the same database and checks: it boots; every acknowledged ConfigMap is
   there; the revision it serves is not below any resourceVersion handed out before the kill.
"""
from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
BOOT_TIMEOUT = 60.0


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``app.py`` in its own process (gunicorn, as a user runs it), on a SQLite file."""

    def __init__(self, db: Path, workdir: Path):
        self.db, self.workdir = db, workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBEDRILL_")}
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--port", str(self.port), "--db", f"sqlite:///{db}",
             "--kubeconfig", str(workdir / "kubeconfig"), "--nodes", "2"],
            cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stderr: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(self.proc.stdout, self._lines.put), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr.append), daemon=True).start()

    @staticmethod
    def _pump(stream, sink) -> None:
        for line in stream:
            sink(line.rstrip("\n"))

    def wait_ready(self, timeout: float = BOOT_TIMEOUT) -> bool:
        """Wait for the banner and a served /version; False if the process died first (boot failed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if requests.get(self.url + "/version", timeout=2).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.05)
        return False

    def kill9(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill9()


def configmap(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"},
            "data": {"written": name}}


@dataclass
class Trial:
    """What one kill-and-restart trial saw."""
    acknowledged: int = 0
    lost: list[str] = field(default_factory=list)
    max_rv_seen: int = 0
    revision_after: int = 0
    boot_ok: bool = True
    boot_error: str = ""
    paused: bool = False

    @property
    def went_back(self) -> bool:
        return self.boot_ok and self.revision_after < self.max_rv_seen


def pause(url: str) -> None:
    """Pause the simulation through the dashboard's Pause (Socket.IO), so only clients change state."""
    import socketio
    sio = socketio.Client(reconnection=False)
    sio.connect(url, namespaces=["/live"], transports=["websocket"], wait_timeout=10)
    try:
        ack = sio.call("action", {"type": "sim.pause", "args": {}}, namespace="/live", timeout=10)
        assert ack.get("ok"), ack
    finally:
        sio.disconnect()


def _writer(url: str, prefix: str, stop: threading.Event, acked: list, seen: list) -> None:
    session = requests.Session()
    i = 0
    while not stop.is_set():
        name = f"{prefix}-{i}"
        i += 1
        try:
            r = session.post(url + "/api/v1/namespaces/default/configmaps", json=configmap(name), timeout=5)
        except requests.RequestException:
            return   # the server is gone
        if r.status_code == 201:
            rv = int(r.json()["metadata"]["resourceVersion"])
            acked.append((name, rv))
            seen.append(rv)


def _reader(url: str, stop: threading.Event, seen: list) -> None:
    session = requests.Session()
    while not stop.is_set():
        try:
            r = session.get(url + "/api/v1/namespaces/default/pods", timeout=5)
        except requests.RequestException:
            return
        if r.status_code == 200:
            seen.append(int(r.json()["metadata"]["resourceVersion"]))


def run_trial(workdir: Path, db: Path, rng: random.Random, *, tag: str, writers: int = 4, paused: bool = False,
              max_delay: float = 1.5) -> Trial:
    """Start, write, SIGKILL, restart, check; leaves no server running."""
    trial = Trial(paused=paused)
    server = Server(db, workdir)
    try:
        if not server.wait_ready():
            trial.boot_ok, trial.boot_error = False, " | ".join(server.stderr[-5:])
            return trial
        if paused:
            pause(server.url)
        stop = threading.Event()
        acked: list[tuple[str, int]] = []
        seen: list[int] = []
        threads = [threading.Thread(target=_writer, args=(server.url, f"{tag}-w{k}", stop, acked, seen), daemon=True)
                   for k in range(writers)]
        threads.append(threading.Thread(target=_reader, args=(server.url, stop, seen), daemon=True))
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.05, max_delay))
        server.kill9()
        stop.set()
        for t in threads:
            t.join(timeout=10)
    finally:
        server.kill9()
    snapshot = list(acked)
    trial.acknowledged = len(snapshot)
    trial.max_rv_seen = max(seen, default=0)
    again = Server(db, workdir)
    try:
        if not again.wait_ready():
            trial.boot_ok, trial.boot_error = False, " | ".join(again.stderr[-5:])
            return trial
        session = requests.Session()
        listed = session.get(again.url + "/api/v1/namespaces/default/configmaps", timeout=30).json()
        trial.revision_after = int(listed["metadata"]["resourceVersion"])
        present = {item["metadata"]["name"] for item in listed["items"]}
        trial.lost = [name for name, _rv in snapshot if name not in present]
    finally:
        again.stop()
    return trial

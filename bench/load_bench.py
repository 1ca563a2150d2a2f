"""Load the whole server at once: HTTP Kubernetes API clients and live Socket.IO dashboards together.

Run: ``.venv/bin/python bench/load_bench.py [--http 50] [--sockets 20] [--seconds 60] [--db sqlite|memory]``.

The server runs in its own process (this script with ``--role server``: ``webapp.server.serve``,
gunicorn with one gthread worker, as ``app.py`` runs it; demo cluster, engine at speed 1, a
throw-away SQLite database unless ``--db memory``) on a free loopback port. Then ``run_load``:

* **HTTP clients** (``--http``), in a child process of their own so their CPU does not starve the
  socket clients' event loop: aiohttp coroutines, each a keep-alive connection doing, one request
  at a time, a mix of list (ConfigMaps, Pods), get, merge-patch, create and delete of its own
  ConfigMaps through the Kubernetes API. An error is a transport failure or an unexpected status
  (>= 500, or a 4xx the client did not provoke).
* **Socket clients** (``--sockets``): python-socketio ``AsyncClient`` s over real WebSocket on
  ``/live``, subscribed from a snapshot. Every ``delta`` must have ``from_rv`` == the previous
  ``to_rv`` (else a *gap*, and the client re-subscribes as the dashboard does); ``resync`` messages
  are counted, and so is every disconnect (with its reason). Every 2 s each sends an ``action``
  (``drill.status``) and expects its ack (a missing or malformed ack is an error).

Prints a table and, as the LAST line, one JSON object: ``{"http_requests", "http_errors",
"http_p99_ms", "sockets", "disconnects", "gaps", "resyncs", ...}``. ``run_load(base_url,
http_clients, socket_clients, seconds)`` returns the same dict against an already-running server
(bench/crash_bench.py uses it).
"""
from __future__ import annotations

import argparse
import asyncio
import threading
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NS = "/live"
NAMESPACE = "default"
ACTION_EVERY = 2.0
# (operation, weight): mostly reads, as kubectl and controllers do; every client writes its own objects.
MIX = (("list_configmaps", 20), ("list_pods", 10), ("get", 30), ("patch", 22), ("create", 9), ("delete", 9))


def pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile of ``values`` (0.0 if empty)."""
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


# ---------------------------------------------------------------------- HTTP clients
async def _http_client(session: Any, base: str, index: int, stop_at: float, out: dict[str, Any]) -> None:
    rnd = random.Random(index)
    cms = f"{base}/api/v1/namespaces/{NAMESPACE}/configmaps"
    pods = f"{base}/api/v1/namespaces/{NAMESPACE}/pods"
    mine: list[str] = []
    serial = 0
    ops, weights = zip(*MIX)

    async def request(method: str, url: str, expect: tuple[int, ...], **kw: Any) -> int | None:
        start = time.perf_counter()
        try:
            async with session.request(method, url, **kw) as r:
                await r.read()
                status = r.status
        except Exception as exc:  # a refused or dropped connection is an error, not a crash of the bench
            out["errors"] += 1
            out["error_samples"].append(f"{method} {url}: {type(exc).__name__}: {exc}"[:200])
            return None
        out["latencies"].append((time.perf_counter() - start) * 1000)
        out["requests"] += 1
        if status not in expect:
            out["errors"] += 1
            out["error_samples"].append(f"{method} {url}: HTTP {status}"[:200])
        return status

    async def create() -> None:
        nonlocal serial
        name = f"load-{index}-{serial}"
        serial += 1
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": NAMESPACE},
                "data": {"n": "0"}}
        if await request("POST", cms, (201,), json=body) == 201:
            mine.append(name)

    for _ in range(3):
        await create()
    while time.monotonic() < stop_at:
        op = rnd.choices(ops, weights)[0]
        if op in ("get", "patch", "delete") and not mine:
            op = "create"
        if op == "list_configmaps":
            await request("GET", cms, (200,))
        elif op == "list_pods":
            await request("GET", pods, (200,))
        elif op == "get":
            await request("GET", f"{cms}/{rnd.choice(mine)}", (200,))
        elif op == "patch":
            await request("PATCH", f"{cms}/{rnd.choice(mine)}", (200,),
                          data=json.dumps({"data": {"n": str(rnd.random())}}),
                          headers={"Content-Type": "application/merge-patch+json"})
        elif op == "create":
            await create()
        else:
            name = mine.pop(rnd.randrange(len(mine)))
            await request("DELETE", f"{cms}/{name}", (200, 202))


async def _http_load(base: str, clients: int, seconds: float) -> dict[str, Any]:
    import aiohttp

    out: dict[str, Any] = {"requests": 0, "errors": 0, "latencies": [], "error_samples": []}
    stop_at = time.monotonic() + seconds
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients + 5), timeout=timeout) as session:
        await asyncio.gather(*(_http_client(session, base, i, stop_at, out) for i in range(clients)))
    return out


def _http_process(base: str, clients: int, seconds: float, queue: Any) -> None:
    """Child process body: run the HTTP clients, put a summary on ``queue``."""
    out = asyncio.run(_http_load(base, clients, seconds))
    lat = out.pop("latencies")
    out["p50_ms"] = pct(lat, 50)
    out["p99_ms"] = pct(lat, 99)
    out["max_ms"] = max(lat, default=0.0)
    out["error_samples"] = out["error_samples"][:5]
    queue.put(out)


# ---------------------------------------------------------------------- socket clients
class _Dashboard:
    """One live client: checks the delta chain, counts what the server did to it."""

    def __init__(self, base: str, index: int):
        import socketio

        from webapp.live import SocketJSON

        self.base = base
        self.index = index
        self.sio = socketio.AsyncClient(reconnection=True, reconnection_delay=0.5, json=SocketJSON)
        self.revision: int | None = None
        self.generation: int | None = None
        self.deltas = self.changes = self.gaps = self.resyncs = self.snapshots = 0
        self.disconnects: list[str] = []
        self.errors: list[str] = []
        self.acks = 0
        self.subscribed = asyncio.Event()
        self._closing = False
        sio = self.sio
        sio.on("connect", self._on_connect, namespace=NS)
        sio.on("disconnect", self._on_disconnect, namespace=NS)
        sio.on("snapshot", self._on_snapshot, namespace=NS)
        sio.on("delta", self._on_delta, namespace=NS)
        sio.on("resync", self._on_resync, namespace=NS)

    async def _on_connect(self) -> None:
        asyncio.get_running_loop().create_task(self._subscribe())

    def _on_disconnect(self, reason: Any = None) -> None:
        if not self._closing:
            self.disconnects.append(str(reason))

    def _on_snapshot(self, data: dict[str, Any]) -> None:
        self.snapshots += 1
        self.revision, self.generation = data["revision"], data["generation"]

    def _on_resync(self, _data: Any) -> None:
        self.resyncs += 1
        self.revision = None

    def _on_delta(self, data: dict[str, Any]) -> None:
        self.deltas += 1
        self.changes += len(data.get("changes") or ())
        if self.revision is None:
            return   # a snapshot is on its way (after a resync or a re-subscribe)
        if data["from_rv"] != self.revision or data.get("generation") != self.generation:
            self.gaps += 1
            self.revision = None
            asyncio.get_running_loop().create_task(self._subscribe())
            return
        self.revision = data["to_rv"]

    async def _subscribe(self) -> None:
        since = {"since": self.revision, "generation": self.generation} if self.revision is not None else {}
        try:
            ack = await self.sio.call("subscribe", since or {"since": None}, namespace=NS, timeout=30)
        except Exception as exc:
            self.errors.append(f"subscribe: {type(exc).__name__}: {exc}")
            return
        if not (isinstance(ack, dict) and ack.get("ok")):
            self.errors.append(f"subscribe ack: {str(ack)[:200]}")
            return
        self.subscribed.set()

    async def connect(self) -> None:
        await self.sio.connect(self.base, transports=["websocket"], namespaces=[NS], wait_timeout=60)

    async def act_until(self, stop_at: float) -> None:
        """Send a harmless action every ``ACTION_EVERY`` s and check its ack."""
        while time.monotonic() < stop_at:
            await asyncio.sleep(ACTION_EVERY)
            if not self.sio.connected:
                continue
            try:
                ack = await self.sio.call("action", {"type": "drill.status"}, namespace=NS, timeout=30)
            except Exception as exc:
                self.errors.append(f"action: {type(exc).__name__}: {exc}")
                continue
            if isinstance(ack, dict) and ("ok" in ack):
                self.acks += 1
            else:
                self.errors.append(f"action ack: {str(ack)[:200]}")

    async def close(self) -> None:
        self._closing = True
        await self.sio.disconnect()


async def _socket_load(base: str, clients: int, seconds: float, start_http: Any) -> dict[str, Any]:
    boards = [_Dashboard(base, i) for i in range(clients)]
    await asyncio.gather(*(b.connect() for b in boards))
    await asyncio.wait_for(asyncio.gather(*(b.subscribed.wait() for b in boards)), 60)
    http = start_http()
    stop_at = time.monotonic() + seconds
    await asyncio.gather(*(b.act_until(stop_at) for b in boards))
    await asyncio.sleep(1.0)   # the last frames in flight
    result = {
        "sockets": clients,
        "disconnects": sum(len(b.disconnects) for b in boards),
        "disconnect_reasons": sorted({r for b in boards for r in b.disconnects}),
        "gaps": sum(b.gaps for b in boards),
        "resyncs": sum(b.resyncs for b in boards),
        "socket_errors": sum(len(b.errors) for b in boards),
        "socket_error_samples": [e for b in boards for e in b.errors][:5],
        "deltas": sum(b.deltas for b in boards),
        "changes": sum(b.changes for b in boards),
        "acks": sum(b.acks for b in boards),
        "still_connected": sum(1 for b in boards if b.sio.connected),
    }
    await asyncio.gather(*(b.close() for b in boards), return_exceptions=True)
    return result | {"_http": http}


def _run_coroutine(coro: Any) -> Any:
    """``asyncio.run(coro)``, in a thread of its own when the caller already runs an event loop.

    Under pytest, Playwright's sync API leaves a running loop in the main thread once a browser test
    has run in the process, and ``asyncio.run`` refuses to start another there.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as err:   # noqa: BLE001 - handed back to the caller below
            box["error"] = err

    thread = threading.Thread(target=run, name="load-bench-loop")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def run_load(base_url: str, http_clients: int = 50, socket_clients: int = 20, seconds: float = 60) -> dict[str, Any]:
    """Run the HTTP and socket load against ``base_url`` for ``seconds``; the summary dict (see module doc)."""
    base_url = base_url.rstrip("/")
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs: list[Any] = []

    def start_http() -> None:
        if http_clients:
            p = ctx.Process(target=_http_process, args=(base_url, http_clients, seconds, queue), daemon=True)
            p.start()
            procs.append(p)

    try:
        sockets = _run_coroutine(_socket_load(base_url, socket_clients, seconds, start_http))
        http = queue.get(timeout=120) if procs else {"requests": 0, "errors": 0, "p50_ms": 0.0, "p99_ms": 0.0,
                                                     "max_ms": 0.0, "error_samples": []}
    finally:
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()
    sockets.pop("_http", None)
    return {"http_requests": http["requests"], "http_errors": http["errors"],
            "http_p99_ms": round(http["p99_ms"], 1), "sockets": sockets.pop("sockets"),
            "disconnects": sockets.pop("disconnects"), "gaps": sockets.pop("gaps"),
            "resyncs": sockets.pop("resyncs"), "http_p50_ms": round(http["p50_ms"], 1),
            "http_max_ms": round(http["max_ms"], 1), "http_error_samples": http["error_samples"],
            "seconds": seconds, **sockets}


# ---------------------------------------------------------------------- server role
def run_server(args: argparse.Namespace) -> None:
    from webapp import create_app
    from webapp.server import serve

    def build() -> Any:
        return create_app({"DB_URL": args.db_url or None, "SEED": 1, "SPEED": 1.0})

    def ready() -> None:
        Path(args.ready).write_text(str(os.getpid()))

    serve(build, "127.0.0.1", args.port, on_ready=ready)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--role", choices=("orchestrator", "server"), default="orchestrator")
    ap.add_argument("--http", type=int, default=50, help="HTTP API clients")
    ap.add_argument("--sockets", type=int, default=20, help="live Socket.IO clients")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--db", choices=("sqlite", "memory"), default="sqlite")
    ap.add_argument("--url", help="load this already-running server instead of starting one")
    ap.add_argument("--port", type=int)
    ap.add_argument("--ready")
    ap.add_argument("--db-url")
    args = ap.parse_args()
    if args.role == "server":
        run_server(args)
        return

    from webapp.server import free_port

    server = None
    work = Path(tempfile.mkdtemp(prefix="load-bench-"))
    if args.url:
        base = args.url
    else:
        port = free_port()
        ready = work / "ready"
        db_url = f"sqlite:///{work / 'kubedrill.db'}" if args.db == "sqlite" else ""
        server = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--role", "server", "--port", str(port),
                                   "--ready", str(ready), "--db-url", db_url], cwd=ROOT)
        deadline = time.time() + 90
        while not ready.exists():
            if server.poll() is not None or time.time() > deadline:
                raise SystemExit("server did not start")
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
    try:
        result = run_load(base, args.http, args.sockets, args.seconds)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
    where = "an already-running server" if args.url else f"gunicorn gthread in its own process, db={args.db}"
    print(f"server: {where}; {args.http} HTTP clients (one child process), {args.sockets} socket clients "
          f"(websocket), {args.seconds:g} s")
    rows = [("HTTP requests", result["http_requests"]), ("HTTP req/s", round(result["http_requests"] / args.seconds)),
            ("HTTP errors", result["http_errors"]),
            ("HTTP p50 / p99 / max ms", f"{result['http_p50_ms']} / {result['http_p99_ms']} / {result['http_max_ms']}"),
            ("sockets (still connected)", f"{result['sockets']} ({result['still_connected']})"),
            ("disconnects", result["disconnects"]), ("delta gaps", result["gaps"]), ("resyncs", result["resyncs"]),
            ("deltas received (changes)", f"{result['deltas']} ({result['changes']})"),
            ("action acks", result["acks"]), ("socket errors", result["socket_errors"])]
    for name, value in rows:
        print(f"  {name:28} {value}")
    for sample in result["http_error_samples"] + result["socket_error_samples"] + result["disconnect_reasons"]:
        print(f"  ! {sample}")
    print(json.dumps({k: result[k] for k in ("http_requests", "http_errors", "http_p99_ms", "sockets",
                                             "disconnects", "gaps", "resyncs")}))


if __name__ == "__main__":
    main()

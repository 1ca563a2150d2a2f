"""Benchmark the live stream: N Socket.IO dashboards on one cluster under a steady write churn.

Run: ``.venv/bin/python bench/live_bench.py [--clients 200] [--procs 2] [--rate 500] [--duration 20]
[--server gunicorn|threaded] [--frame SECONDS]``.

Three roles, all in this file (the script re-runs itself with ``--role``):

* **server** -- the real server: ``webapp.server.serve`` (gunicorn, one gthread worker) around
  ``create_app`` with the demo cluster (engine and broadcaster threads running, speed 1, no
  database). Inside the worker a *churn driver* thread merge-patches ConfigMaps through
  ``runtime.call(cluster.api.patch ...)`` at ``--rate`` changes per second, and stamps the wall
  time (``time.time()``) of every commit by its resourceVersion. Real store changes, real API path.
* **clients** -- one process per ``--procs`` with ``clients/procs`` python-socketio ``AsyncClient``
  s (websocket transport, namespace ``/live``, ``subscribe`` from a snapshot) on one asyncio
  loop, decoding with the server's codec (orjson; ``--client-json json`` for the standard library,
  whose decoder made the 200 instruments use more CPU than the server they measure). Each client
  records ``(from_rv, to_rv, receipt wall time)`` per delta batch; one client also records the
  batch size (compact JSON of the payload, ~ the WebSocket frame).
* **orchestrator** (default) -- starts the server, waits for every client to subscribe, tells the
  driver to go, samples the server worker's CPU with psutil during the measured window, then joins
  commit stamps and receipts: a change's latency is ``receipt(batch containing its rv) - commit``.

Prints p50/p99/max latency over every (client, change) pair, batches/s, bytes per batch, server
CPU and the client processes' CPU (they share the same 2 cores, which inflates the figures).
"""
from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NS = "/live"
CHURN_OBJECTS = 100


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


# ---------------------------------------------------------------------- server role
def churn_driver(runtime, rate: float, go: Path, stop: Path, out: Path, emits: list) -> None:
    """Merge-patch ConfigMaps at ``rate``/s once ``go`` exists, until ``stop`` exists; dump stamps to ``out``."""
    def setup(cluster):
        for i in range(CHURN_OBJECTS):
            cluster.api.create({"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": f"churn-{i:03d}", "namespace": "default"},
                                "data": {"n": "0"}}, "default")
    runtime.call(lambda: setup(runtime.cluster))
    while not go.exists():
        time.sleep(0.05)
    stamps: list[tuple[int, float]] = []
    done = 0
    t0 = time.time()

    def patch_some(n: int, start: int):
        api = runtime.cluster.api
        for k in range(n):
            i = start + k
            obj = api.patch("configmaps", "default", f"churn-{i % CHURN_OBJECTS:03d}",
                            {"data": {"n": str(i)}}, "merge")
            stamps.append((int(obj["metadata"]["resourceVersion"]), time.time()))

    while not stop.exists():
        due = int((time.time() - t0) * rate) - done
        if due > 0:
            runtime.call(patch_some, due, done)
            done += due
        time.sleep(0.004)
    out.write_text(json.dumps({"stamps": stamps, "emits": list(emits), "elapsed": time.time() - t0}))


def build_app(args):
    from webapp import create_app

    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    config = {"DB_URL": None, "SEED": 1, "NODES": args.nodes, "SPEED": 1.0}
    if args.frame:
        import webapp.live as live
        live.FRAME_SECONDS = args.frame
    app = create_app(config)
    if args.no_compression:
        from webapp.live import NoWebSocketCompression
        app.wsgi_app = NoWebSocketCompression(app.wsgi_app)
    if args.gc_tune:
        import gc
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)
    if args.frame:
        app.extensions["kubedrill.live"].frame = args.frame
    runtime = app.extensions["kubedrill"]
    work = Path(args.work)
    # Stamp when the broadcaster hands each delta to Socket.IO (start and end of the room emit),
    # to split the latency into "waiting for the frame" and "fan-out + client".
    broadcaster = app.extensions["kubedrill.live"]
    server = broadcaster.server
    plain_emit = server.emit
    emits: list[tuple[int, float, float]] = []

    def stamped_emit(event, data=None, *a, **kw):
        t = time.time()
        out = plain_emit(event, data, *a, **kw)
        if event == "delta" and kw.get("to") == "cluster":
            emits.append((data["to_rv"], t, time.time()))
        return out

    broadcaster.server = type("StampedServer", (), {"emit": staticmethod(stamped_emit),
                                                     "__getattr__": lambda self, n: getattr(server, n)})()
    threading.Thread(target=churn_driver, args=(runtime, args.rate, work / "go", work / "stop", work / "stamps.json",
                                                emits), daemon=True, name="churn-driver").start()
    return app


def run_server(args) -> None:
    work = Path(args.work)

    def ready():
        (work / "server.pid").write_text(str(os.getpid()))

    if args.server == "gunicorn":
        from webapp.server import serve
        serve(lambda: build_app(args), "127.0.0.1", args.port, on_ready=ready)
    else:
        from webapp.server import ThreadedServer
        app = build_app(args)
        server = ThreadedServer(app, port=args.port).start()
        ready()
        while not (work / "stop").exists():
            time.sleep(0.2)
        time.sleep(3)
        server.stop()


# ---------------------------------------------------------------------- clients role
async def run_clients_async(args) -> None:
    import socketio

    from webapp.live import SocketJSON

    work = Path(args.work)
    url = f"http://127.0.0.1:{args.port}"
    records: list[list] = []
    sizes: list[int] = []
    gaps = [0]

    async def one(i: int):
        # Browsers always offer permessage-deflate (and simple-websocket accepts it), so by default
        # the bench clients do too: the server then compresses every delta once per client.
        extra = {"compress": 15} if args.deflate else {}
        codec = {"json": SocketJSON} if args.client_json == "orjson" else {}
        sio = socketio.AsyncClient(reconnection=False, websocket_extra_options=extra, **codec)
        mine: list = []
        last = [None]
        measure = args.measure_bytes and i == 0

        def on_snapshot(data):
            last[0] = data["revision"]

        def on_delta(data):
            now = time.time()
            if last[0] is not None and data["from_rv"] != last[0]:
                gaps[0] += 1
            last[0] = data["to_rv"]
            mine.append((data["from_rv"], data["to_rv"], now, len(data["changes"])))
            if measure:
                sizes.append(len(json.dumps(data, separators=(",", ":"))))

        sio.on("snapshot", on_snapshot, namespace=NS)
        sio.on("delta", on_delta, namespace=NS)
        await sio.connect(url, transports=["websocket"], namespaces=[NS], wait_timeout=60)
        ack = await sio.call("subscribe", {"since": None}, namespace=NS, timeout=60)
        assert ack.get("ok"), ack
        records.append(mine)
        return sio

    clients = []
    for start in range(0, args.count, 10):   # connect in small waves: the server has 2 cores too
        clients += await asyncio.gather(*(one(args.first + i) for i in range(start, min(args.count, start + 10))))
    print("ready", flush=True)
    while not (work / "stop").exists():
        await asyncio.sleep(0.2)
    (work / f"clients-{args.first}.json").write_text(json.dumps({"records": records, "sizes": sizes,
                                                                 "gaps": gaps[0]}))
    os._exit(0)   # no polite disconnects: each may wait 3 s for a close frame


# ---------------------------------------------------------------------- orchestrator
def stop_all(work: Path, server: subprocess.Popen, procs: list[subprocess.Popen], timeout: float = 15) -> None:
    """Tell every role to stop (file ``stop``), kill the client processes left, end the server."""
    (work / "stop").touch()
    for p in procs:
        if p.poll() is None:
            p.kill()
    server.terminate()
    try:
        server.wait(timeout)
    except subprocess.TimeoutExpired:
        server.kill()


def orchestrate(args) -> None:
    import psutil
    from webapp.server import free_port

    work = Path(tempfile.mkdtemp(prefix="live-bench-"))
    port = free_port()
    me = [sys.executable, os.path.abspath(__file__), "--work", str(work), "--port", str(port)]
    common = ["--rate", str(args.rate), "--nodes", str(args.nodes), "--server", args.server]
    if args.frame:
        common += ["--frame", str(args.frame)]
    if args.switch_interval:
        common += ["--switch-interval", str(args.switch_interval)]
    common += (["--no-compression"] if args.no_compression else []) + (["--gc-tune"] if args.gc_tune else [])
    server = subprocess.Popen(me + common + ["--role", "server"], cwd=ROOT)
    procs: list[subprocess.Popen] = []
    try:
        deadline = time.time() + 120
        while not (work / "server.pid").exists():
            if server.poll() is not None or time.time() > deadline:
                raise SystemExit("server did not start")
            time.sleep(0.1)
        worker = psutil.Process(int((work / "server.pid").read_text()))
        per = [args.clients // args.procs + (1 if i < args.clients % args.procs else 0) for i in range(args.procs)]
        first = 0
        for i, n in enumerate(per):
            procs.append(subprocess.Popen(me + ["--role", "clients", "--first", str(first), "--count", str(n),
                                                "--client-json", args.client_json]
                                          + ([] if args.deflate else ["--no-deflate"])
                                          + (["--measure-bytes"] if i == 0 else []),
                                          cwd=ROOT, stdout=subprocess.PIPE, text=True))
            first += n
        for p in procs:
            line = p.stdout.readline()
            if line.strip() != "ready":
                raise SystemExit(f"a client process failed to connect (exit {p.poll()})")
        print(f"{args.clients} clients subscribed; churn {args.rate}/s for {args.warmup + args.duration:.0f} s "
              f"(first {args.warmup:.0f} s not measured)", flush=True)
        (work / "go").touch()
        t_go = time.time()
        time.sleep(args.warmup)
        cpu0 = worker.cpu_times()
        ccpu0 = [psutil.Process(p.pid).cpu_times() for p in procs]
        w0 = time.time()
        time.sleep(args.duration)
        w1 = time.time()
        cpu1 = worker.cpu_times()
        ccpu1 = [psutil.Process(p.pid).cpu_times() for p in procs]
        (work / "stop").touch()
        for p in procs:
            p.wait(60)
        deadline = time.time() + 30
        while not (work / "stamps.json").exists() and time.time() < deadline:
            time.sleep(0.1)
    finally:
        stop_all(work, server, procs)

    dump = json.loads((work / "stamps.json").read_text())
    stamps = dump["stamps"]
    emits = sorted(dump["emits"])
    commit = {rv: t for rv, t in stamps if w0 <= t <= w1 - 0.5}   # changes committed in the window
    rvs = sorted(commit)
    to_emit: list[float] = []
    emit_cost: list[float] = []
    emit_rvs = [e[0] for e in emits]
    for rv in rvs:
        i = bisect.bisect_left(emit_rvs, rv)
        if i < len(emits):
            to_emit.append((emits[i][1] - commit[rv]) * 1000)
    emit_cost = [(b - a) * 1000 for _, a, b in emits]
    lat: list[float] = []
    batches = 0
    changes = 0
    missing = 0
    gaps = 0
    sizes: list[int] = []
    for path in sorted(work.glob("clients-*.json")):
        data = json.loads(path.read_text())
        sizes += data["sizes"]
        gaps += data["gaps"]
        for recs in data["records"]:
            seen = 0
            for from_rv, to_rv, t, n in recs:
                lo = bisect.bisect_right(rvs, from_rv)
                hi = bisect.bisect_right(rvs, to_rv)
                if w0 <= t <= w1:
                    batches += 1
                    changes += n
                for rv in rvs[lo:hi]:
                    lat.append((t - commit[rv]) * 1000)
                seen += hi - lo
            missing += len(rvs) - seen
    cpu = lambda a, b: (b.user + b.system - a.user - a.system) / (w1 - w0) * 100  # noqa: E731
    clients_cpu = sum(cpu(a, b) for a, b in zip(ccpu0, ccpu1))
    print()
    print(f"server: {args.server} (webapp.server.serve)" if args.server == "gunicorn" else
          "server: in-process ThreadedServer (Werkzeug)")
    print(f"clients: {args.clients} python-socketio AsyncClient (websocket"
          f"{', permessage-deflate' if args.deflate else ', no compression'}, {args.client_json} decoder) "
          f"in {args.procs} processes")
    print("server options: " + (", ".join(f"{k}={getattr(args, k)}" for k in
                                            ("frame", "switch_interval", "no_compression", "gc_tune")
                                            if getattr(args, k)) or "defaults"))
    print(f"window: {w1 - w0:.1f} s, changes committed: {len(rvs)} ({len(rvs) / (w1 - w0 - 0.5):.0f}/s)")
    print()
    print(f"{'metric':40} {'value':>12}")
    rows = [
        ("commit->receipt latency p50 (ms)", f"{statistics.median(lat):.1f}" if lat else "n/a"),
        ("commit->receipt latency p99 (ms)", f"{pct(lat, 99):.1f}" if lat else "n/a"),
        ("commit->receipt latency max (ms)", f"{max(lat):.1f}" if lat else "n/a"),
        ("commit->room emit p50 / p99 (ms)", f"{statistics.median(to_emit):.1f} / {pct(to_emit, 99):.1f}"
         if to_emit else "n/a"),
        ("room emit call p50 / p99 (ms)", f"{statistics.median(emit_cost):.1f} / {pct(emit_cost, 99):.1f}"
         if emit_cost else "n/a"),
        ("(client, change) samples", f"{len(lat)}"),
        ("changes never received", f"{missing}"),
        ("delta chain gaps", f"{gaps}"),
        ("delta batches/s per client", f"{batches / args.clients / (w1 - w0):.1f}"),
        ("changes per batch (mean)", f"{changes / batches:.1f}" if batches else "n/a"),
        ("bytes per delta batch (median)", f"{statistics.median(sizes):.0f}" if sizes else "n/a"),
        ("bytes per delta batch (p99)", f"{pct(sizes, 99):.0f}" if sizes else "n/a"),
        ("server CPU (% of one core)", f"{cpu(cpu0, cpu1):.0f}"),
        ("client processes CPU (% of one core)", f"{clients_cpu:.0f}"),
    ]
    for name, value in rows:
        print(f"{name:40} {value:>12}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", choices=("orchestrator", "server", "clients"), default="orchestrator")
    ap.add_argument("--clients", type=int, default=200)
    # One client process per core: more processes only add scheduling work on the 2 cores the
    # server needs too (4 processes measured ~4 ms more at p99, 1 process ~25 ms more).
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--rate", type=float, default=500)
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--server", choices=("gunicorn", "threaded"), default="gunicorn")
    ap.add_argument("--frame", type=float, default=0.0, help="override the broadcaster's frame (seconds)")
    ap.add_argument("--no-deflate", dest="deflate", action="store_false",
                    help="do not offer permessage-deflate (browsers do; python clients by default do not)")
    ap.add_argument("--client-json", choices=("orjson", "json"), default="orjson",
                    help="the clients' JSON decoder: orjson (default; like a browser's native JSON.parse, "
                         "it keeps 200 instruments from swamping the 2 cores they share with the server) "
                         "or the standard library's")
    ap.add_argument("--switch-interval", type=float, default=0.0,
                    help="sys.setswitchinterval in the server process (CPython's default is 0.005)")
    ap.add_argument("--no-compression", action="store_true",
                    help="server side: wrap the app in webapp.live.NoWebSocketCompression")
    ap.add_argument("--gc-tune", action="store_true",
                    help="server side: gc.freeze() after boot + gc.set_threshold(20000, 20, 20)")
    ap.add_argument("--work")
    ap.add_argument("--port", type=int)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--measure-bytes", action="store_true")
    args = ap.parse_args()
    if args.role == "server":
        run_server(args)
    elif args.role == "clients":
        asyncio.run(run_clients_async(args))
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()

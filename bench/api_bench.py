"""Benchmark the Kubernetes HTTP API: req/s and p50/p99 latency for list, get, patch and watch fan-out.

Run: ``.venv/bin/python bench/api_bench.py [--pods 1000] [--watchers 100] [--server gunicorn|threaded]``.

The server runs in its own process (this script with ``--role server``) so the client's GIL does
not distort its figures: by default the production server (``webapp.server.serve``: gunicorn, one
gthread worker), or Werkzeug's threaded server with ``--server threaded``. Simulated time is paused
so the numbers measure the HTTP layer and the API server, not controllers. The client (this
process) creates the pods over HTTP, then measures, one request at a time on a keep-alive session:

* list N pods as JSON and as a kubectl Table (``includeObject=Metadata``, what kubectl asks for),
* get one pod, merge-patch one pod,
* watch fan-out: W watchers (aiohttp, one event loop) on the pods collection with a field selector
  on one pod; one merge-patch every 20 ms; latency is from just before the patch request is sent to
  each watcher receiving the event line.

Target: p99 <= 20 ms.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timed(n: int, fn) -> tuple[float, list[float]]:
    lat = []
    start = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        fn()
        lat.append((time.perf_counter() - t) * 1000)
    return n / (time.perf_counter() - start), lat


def tune_gc() -> None:
    """What ``--gc-tune`` tries (a proposal for the server, not done by the app today).

    A full (generation 2) collection walks every live object -- the whole cluster -- and pauses
    every thread for tens of milliseconds; freezing what exists after boot and collecting the
    young generation less often removes those pauses from request latencies.
    """
    import gc

    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


# ---------------------------------------------------------------------- server role
def run_server(args) -> None:
    from webapp import create_app

    def build():
        app = create_app({"DB_URL": None, "EMPTY": True, "PAUSED": True, "NODES": 1})
        if args.gc_tune:
            tune_gc()
        return app

    def ready():
        Path(args.ready).write_text(str(os.getpid()))

    if args.server == "gunicorn":
        from webapp.server import serve
        serve(build, "127.0.0.1", args.port, on_ready=ready)
    else:
        from webapp.server import ThreadedServer
        ThreadedServer(build(), port=args.port).start()
        ready()
        while True:
            time.sleep(3600)


# ---------------------------------------------------------------------- watch fan-out (client side)
async def fan_out(url: str, rv: str, watchers: int, events: int) -> tuple[list[float], float]:
    import aiohttp

    sent: dict[str, float] = {}
    delays: list[float] = []
    connected = 0
    all_connected = asyncio.Event()

    async def watcher(session):
        nonlocal connected
        params = {"watch": "1", "resourceVersion": rv, "timeoutSeconds": "120",
                  "fieldSelector": "metadata.name=bench-0009"}
        async with session.get(url, params=params) as r:
            connected += 1
            if connected == watchers:
                all_connected.set()
            got = 0
            async for raw in r.content:   # one line per event
                now = time.perf_counter()
                line = raw.strip()
                if not line:
                    continue
                ev = json.loads(line)
                mark = (ev["object"]["metadata"].get("annotations") or {}).get("mark")
                if mark in sent:
                    delays.append((now - sent[mark]) * 1000)
                    got += 1
                    if got >= events:
                        return

    conn = aiohttp.TCPConnector(limit=watchers + 10)
    async with aiohttp.ClientSession(connector=conn) as session:
        tasks = [asyncio.create_task(watcher(session)) for _ in range(watchers)]
        await asyncio.wait_for(all_connected.wait(), 60)
        await asyncio.sleep(0.5)
        t0 = time.perf_counter()
        for i in range(events):
            mark = f"m{i}"
            body = json.dumps({"metadata": {"annotations": {"mark": mark}}})
            sent[mark] = time.perf_counter()
            async with session.patch(url + "/bench-0009", data=body,
                                     headers={"Content-Type": "application/merge-patch+json"}) as r:
                r.raise_for_status()
                await r.read()
            await asyncio.sleep(0.02)
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
        return delays, time.perf_counter() - t0


# ---------------------------------------------------------------------- orchestrator
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", choices=("client", "server"), default="client")
    ap.add_argument("--pods", type=int, default=1000)
    ap.add_argument("--watchers", type=int, default=100)
    ap.add_argument("--events", type=int, default=50)
    ap.add_argument("--server", choices=("gunicorn", "threaded"), default="gunicorn")
    ap.add_argument("--gc-tune", action="store_true", help="gc.freeze() after boot + gc.set_threshold(20000, 20, 20)"
                    " in the server process")
    ap.add_argument("--port", type=int)
    ap.add_argument("--ready")
    args = ap.parse_args()
    if args.role == "server":
        run_server(args)
        return

    import requests
    from webapp.server import free_port

    port = free_port()
    ready = Path(tempfile.mkdtemp(prefix="api-bench-")) / "ready"
    server = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--role", "server", "--server",
                               args.server, "--port", str(port), "--ready", str(ready)]
                              + (["--gc-tune"] if args.gc_tune else []), cwd=ROOT)
    try:
        deadline = time.time() + 60
        while not ready.exists():
            if server.poll() is not None or time.time() > deadline:
                raise SystemExit("server did not start")
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        ns_url = base + "/api/v1/namespaces/default/pods"
        s = requests.Session()
        for i in range(args.pods):
            s.post(ns_url, json={"apiVersion": "v1", "kind": "Pod",
                                 "metadata": {"name": f"bench-{i:04d}", "labels": {"app": "bench"}},
                                 "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}
                   ).raise_for_status()

        results = []
        for _ in range(5):   # warm up
            s.get(ns_url).raise_for_status()
            s.get(ns_url, headers={"Accept": TABLE}).raise_for_status()
        rps, lat = timed(50, lambda: s.get(ns_url).raise_for_status())
        results.append((f"list {args.pods} pods (JSON)", 50, rps, lat))
        rps, lat = timed(50, lambda: s.get(ns_url, headers={"Accept": TABLE}).raise_for_status())
        results.append((f"list {args.pods} pods (Table)", 50, rps, lat))
        rps, lat = timed(1000, lambda: s.get(ns_url + "/bench-0007").raise_for_status())
        results.append(("get pod", 1000, rps, lat))
        counter = iter(range(10 ** 9))
        rps, lat = timed(500, lambda: s.patch(ns_url + "/bench-0008", data=json.dumps(
            {"metadata": {"annotations": {"n": str(next(counter))}}}),
            headers={"Content-Type": "application/merge-patch+json"}).raise_for_status())
        results.append(("merge-patch pod", 500, rps, lat))

        rv = s.get(ns_url + "?limit=1").json()["metadata"]["resourceVersion"]
        delays, elapsed = asyncio.run(fan_out(ns_url, rv, args.watchers, args.events))
        results.append((f"watch fan-out ({args.watchers} watchers)", len(delays), len(delays) / elapsed, delays))
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()

    print(f"server: {'gunicorn gthread (webapp.server.serve)' if args.server == 'gunicorn' else 'Werkzeug threaded'}"
          f" in its own process{' (--gc-tune)' if args.gc_tune else ''}; client: this process")
    print(f"{'operation':36} {'n':>6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, n, rps, lat in results:
        print(f"{name:36} {n:>6} {rps:>9.1f} {statistics.median(lat):>8.2f} {pct(lat, 99):>8.2f}")
    print("(watch fan-out req/s = event lines delivered per second across all watchers)")


if __name__ == "__main__":
    main()

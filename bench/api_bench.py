"""Benchmark the Kubernetes HTTP API: req/s and p50/p99 latency for list, get, patch and watch fan-out.

Run: ``.venv/bin/python bench/api_bench.py [--pods 1000] [--watchers 100]``. Starts an app in-process
on a loopback port (Werkzeug threaded server, simulated time paused so the numbers measure the HTTP
layer and the API server, not controllers), creates the pods through the API server, then measures:

* list 1,000 pods as JSON and as a kubectl Table,
* get one pod, merge-patch one pod,
* watch fan-out: N watchers on the pods collection, one patch at a time; latency is from the patch
  returning to each watcher receiving its event.

Target: p99 <= 20 ms for get/patch and for watch delivery.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import requests  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=1000)
    ap.add_argument("--watchers", type=int, default=100)
    ap.add_argument("--events", type=int, default=50)
    args = ap.parse_args()

    from webapp import create_app
    app = create_app({"TESTING": True, "DB_URL": None, "EMPTY": True, "PAUSED": True, "START_THREADS": False})
    runtime = app.extensions["kubedrill"]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    ns_url = base + "/api/v1/namespaces/default/pods"

    def create_pods(cluster):
        for i in range(args.pods):
            cluster.api.create({"apiVersion": "v1", "kind": "Pod",
                                "metadata": {"name": f"bench-{i:04d}", "labels": {"app": "bench"}},
                                "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}, "default")
    runtime.call(lambda: create_pods(runtime.cluster))

    s = requests.Session()
    results = []
    rps, lat = timed(30, lambda: s.get(ns_url).raise_for_status())
    results.append((f"list {args.pods} pods (JSON)", 30, rps, lat))
    rps, lat = timed(30, lambda: s.get(ns_url, headers={"Accept": TABLE}).raise_for_status())
    results.append((f"list {args.pods} pods (Table)", 30, rps, lat))
    rps, lat = timed(1000, lambda: s.get(ns_url + "/bench-0007").raise_for_status())
    results.append(("get pod", 1000, rps, lat))
    counter = iter(range(10 ** 9))
    rps, lat = timed(500, lambda: s.patch(ns_url + "/bench-0008", data=json.dumps(
        {"metadata": {"annotations": {"n": str(next(counter))}}}),
        headers={"Content-Type": "application/merge-patch+json"}).raise_for_status())
    results.append(("merge-patch pod", 500, rps, lat))

    # watch fan-out
    rv = s.get(ns_url + "?limit=1").json()["metadata"]["resourceVersion"]
    sent: dict[str, float] = {}
    delays: list[float] = []
    lock = threading.Lock()
    started = threading.Barrier(args.watchers + 1)

    def watcher():
        with requests.get(ns_url, params={"watch": "1", "resourceVersion": rv, "timeoutSeconds": 120,
                                          "fieldSelector": "metadata.name=bench-0009"},
                          stream=True, timeout=130) as r:
            started.wait()
            got = 0
            for chunk in r.raw.read_chunked(decode_content=False):  # one chunk per event line
                line = chunk.strip()
                if not line:
                    continue
                now = time.perf_counter()
                ev = json.loads(line)
                mark = (ev["object"]["metadata"].get("annotations") or {}).get("mark")
                if mark in sent:
                    with lock:
                        delays.append((now - sent[mark]) * 1000)
                    got += 1
                    if got >= args.events:
                        return

    threads = [threading.Thread(target=watcher, daemon=True) for _ in range(args.watchers)]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(0.5)
    t0 = time.perf_counter()
    for i in range(args.events):
        mark = f"m{i}"
        body = json.dumps({"metadata": {"annotations": {"mark": mark}}})
        sent[mark] = time.perf_counter()
        s.patch(ns_url + "/bench-0009", data=body, headers={"Content-Type": "application/merge-patch+json"})
        time.sleep(0.02)
    for t in threads:
        t.join(60)
    elapsed = time.perf_counter() - t0
    results.append((f"watch fan-out ({args.watchers} watchers)", len(delays), len(delays) / elapsed, delays))

    print(f"{'operation':36} {'n':>6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, n, rps, lat in results:
        print(f"{name:36} {n:>6} {rps:>9.1f} {statistics.median(lat):>8.2f} {pct(lat, 99):>8.2f}")
    server.shutdown()


if __name__ == "__main__":
    main()

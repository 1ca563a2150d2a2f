"""Wall time to scale a Deployment to N Ready pods on a 500-node cluster.

    .venv/bin/python bench/scale_bench.py [--nodes 500] [--pods 1000,5000] [--profile FILE]

Each size runs on a fresh ``Cluster(seed=1, profile="demo", nodes=500, empty=True)``: one Deployment
of N pods requesting 10m CPU, stepped until every pod is Running and Ready. Readiness is counted from
store events (not from controller status), so slow status writes cannot hide or fake progress.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from engine.cluster import Cluster  # noqa: E402
from engine.objects import is_pod_active, pod_ready  # noqa: E402


def deployment(name: str, replicas: int) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
                                                           "resources": {"requests": {"cpu": "10m"}}}]}}}}


def run(nodes: int, pods: int, sim_limit: float = 3600.0) -> tuple[float, float, float]:
    """Return (setup wall s, scale-up wall s, sim s) to bring ``pods`` pods to Running and Ready."""
    t0 = time.perf_counter()
    cluster = Cluster(seed=1, profile="demo", nodes=nodes, empty=True)
    cluster.run_for(1)
    setup = time.perf_counter() - t0
    ready: set[tuple] = set()

    def track(ev) -> None:
        if ev.resource != "pods":
            return
        p = ev.obj
        key = (p["metadata"].get("namespace", ""), p["metadata"]["name"])
        if ev.type != "DELETED" and is_pod_active(p) and (p.get("status") or {}).get("phase") == "Running" \
                and pod_ready(p):
            ready.add(key)
        else:
            ready.discard(key)

    cluster.store.subscribe(track)
    start_sim = cluster.clock.now
    t1 = time.perf_counter()
    cluster.api.create(deployment("scale", pods))
    deadline = start_sim + sim_limit
    while len(ready) < pods:
        nxt = cluster.clock.peek()
        if nxt is None or nxt > deadline:
            raise SystemExit(f"only {len(ready)}/{pods} ready after {cluster.clock.now - start_sim:.0f} sim s")
        cluster.step()
    return setup, time.perf_counter() - t1, cluster.clock.now - start_sim


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=500)
    ap.add_argument("--pods", default="1000,5000")
    ap.add_argument("--profile", help="write cProfile stats of the last size to this file and print the top")
    args = ap.parse_args()
    sizes = [int(s) for s in args.pods.split(",")]
    for i, n in enumerate(sizes):
        prof = cProfile.Profile() if args.profile and i == len(sizes) - 1 else None
        if prof:
            prof.enable()
        setup, wall, sim = run(args.nodes, n)
        if prof:
            prof.disable()
            prof.dump_stats(args.profile)
            pstats.Stats(args.profile).sort_stats("cumulative").print_stats(40)
        print(f"{n:>6} pods on {args.nodes} nodes: {wall:8.2f} s wall ({wall / n * 1000:.2f} ms/pod), "
              f"{sim:.1f} sim s, cluster setup {setup:.2f} s", flush=True)


if __name__ == "__main__":
    main()

"""Traffic benchmark: 1,000 Services at 100 requests/s each, wall cost per simulated second.

Setup: a cluster of 10 workers running 100 Deployments × 3 pods; 1,000 Services (ten per
Deployment selector) each carry ``kubedrill.io/traffic-rps: "100"`` — 100,000 simulated requests
per simulated second. Measures, per simulated second, the wall time of the whole cluster step
(heartbeats and controllers included) and of the traffic tick alone: first in the healthy steady
state, then with one worker powered off (a tenth of the endpoints time out until the node
lifecycle controller reacts: binomial draws and summary annotation writes every second).

Target: faster than real time at speed 10×, i.e. < 100 ms wall per simulated second.
Run: ``.venv/bin/python bench/traffic_bench.py [services] [rps]``.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.cluster import Cluster  # noqa: E402


def deployment(i: int) -> dict:
    labels = {"app": f"app-{i}"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": f"app-{i}", "namespace": "default"},
            "spec": {"replicas": 3, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
                                                           "ports": [{"containerPort": 80}],
                                                           "resources": {"requests": {"cpu": "10m"}}}]}}}}


def service(i: int, deployments: int, rps: int) -> dict:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": f"svc-{i}", "namespace": "default",
                         "annotations": {"kubedrill.io/traffic-rps": str(rps)}},
            "spec": {"selector": {"app": f"app-{i % deployments}"}, "ports": [{"port": 80}]}}


def measure(cluster: Cluster, seconds: int) -> tuple[list[float], list[float]]:
    traffic = cluster.network.traffic
    tick_costs: list[float] = []
    original = traffic.tick

    def timed_tick() -> None:
        start = time.perf_counter()
        original()
        tick_costs.append(time.perf_counter() - start)

    traffic.tick = timed_tick   # the next scheduled tick already holds the bound method: re-arm through it
    if traffic._tick_handle is not None:
        traffic._tick_handle.cancel()
        traffic._tick_handle = cluster.clock.schedule_at(int(cluster.now) + 1, timed_tick)
    step_costs = []
    for _ in range(seconds):
        start = time.perf_counter()
        cluster.run_for(1.0)
        step_costs.append(time.perf_counter() - start)
    traffic.tick = original
    return step_costs, tick_costs


def report(label: str, costs: list[float]) -> None:
    ms = sorted(c * 1000 for c in costs)
    print(f"  {label:<34} median {statistics.median(ms):7.2f} ms   p95 {ms[int(len(ms) * 0.95) - 1]:7.2f} ms   "
          f"max {ms[-1]:7.2f} ms")


def main() -> None:
    services = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rps = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    deployments = max(1, services // 10)
    t = time.perf_counter()
    cluster = Cluster(seed=1, nodes=10, empty=True)
    for i in range(deployments):
        cluster.api.create(deployment(i))
    cluster.run_for(30)
    for i in range(services):
        cluster.api.create(service(i, deployments, rps))
    cluster.run_for(15)   # endpoints published, first summaries written (one write per Service)
    print(f"setup: {services} Services, {deployments * 3} pods, {time.perf_counter() - t:.1f} s wall")
    net = cluster.network
    ready = sum(1 for i in range(services) if len(net.proxy.endpoints(("default", f"svc-{i}"))) == 3)
    print(f"Services with 3 programmed endpoints: {ready}/{services}; load {services * rps:,} requests per sim second")

    rv = cluster.store.revision
    steps, ticks = measure(cluster, 30)
    print(f"healthy steady state, 30 sim seconds ({cluster.store.revision - rv} store writes):")
    report("whole cluster per sim second", steps)
    report("traffic tick per sim second", ticks)

    rv = cluster.store.revision
    cluster.power_off_node("node-1")
    steps, ticks = measure(cluster, 10)
    stats = net.traffic_stats(("default", "svc-0"))
    print(f"node-1 powered off, 10 sim seconds ({cluster.store.revision - rv} store writes):")
    report("whole cluster per sim second", steps)
    report("traffic tick per sim second", ticks)
    total_sent = sum(net.traffic_stats(("default", f"svc-{i}"))["lastSecond"]["sent"] for i in range(services))
    print(f"  last second: {total_sent:,} requests routed; svc-0 success rate (10 s) "
          f"{stats['window']['successRate']} %, reasons {stats['reasons']}")
    budget = 100.0
    worst = statistics.median(steps) * 1000
    print(f"verdict: median whole-cluster cost {worst:.1f} ms per sim second vs {budget:.0f} ms budget (speed 10x): "
          f"{'OK' if worst < budget else 'TOO SLOW'}")


if __name__ == "__main__":
    main()

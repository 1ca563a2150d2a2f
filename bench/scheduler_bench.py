"""Scheduler throughput at 5,000 nodes (the upstream scheduler_perf "SchedulingBasic" shape).

5,000 nodes (4 CPU / 16Gi / 110 pods), then 10,000 and 50,000 pending pods requesting 100m / 128Mi.
Only the scheduling work is timed: pods are created while the scheduler is stopped, then the clock
runs the scheduler's callbacks (filter, score, bind through the real API server, Scheduled events).

    .venv/bin/python bench/scheduler_bench.py [--nodes 5000] [--pods 10000,50000] [--fake-api]

Upstream reference: 680-810 pods/s at 5,000 nodes (Go, 16 goroutines); target here >= 1,000 pods/s.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from engine.apiserver.server import APIServer  # noqa: E402
from engine.clock import Clock  # noqa: E402
from engine.etcd.store import Store  # noqa: E402
from engine.profile import get_profile  # noqa: E402
from engine.scheduler import Scheduler  # noqa: E402


class FakeAPI:
    """Minimal API: bind sets nodeName, events are counted (for --fake-api)."""

    def __init__(self, store: Store, clock: Clock):
        self.store, self.clock, self.events = store, clock, 0

    def bind(self, namespace: str, name: str, node_name: str) -> None:
        pod = self.store.get("pods", namespace, name)
        new = dict(pod, spec=dict(pod["spec"], nodeName=node_name), metadata=dict(pod["metadata"]))
        self.store.update("pods", new)

    def update_status(self, obj: dict) -> dict:
        return self.store.update("pods", obj)

    def record_event(self, involved: dict, reason: str, message: str, **kw) -> None:
        self.events += 1


def node(i: int) -> dict:
    name = f"node-{i:05d}"
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                  "topology.kubernetes.io/zone": f"zone-{i % 3}"}},
            "spec": {},
            "status": {"capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                       "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def pod(batch: int, i: int) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"bench-{batch}-{i:06d}", "namespace": "default", "uid": f"uid-{batch}-{i}",
                         "labels": {"app": f"bench-{batch}"}},
            "spec": {"schedulerName": "default-scheduler", "priority": 0,
                     "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10",
                                     "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]},
            "status": {"phase": "Pending"}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--pods", default="10000,50000")
    ap.add_argument("--fake-api", action="store_true", help="bind straight into the store, no API server")
    args = ap.parse_args()

    clock = Clock(seed=1)
    store = Store(window=1_000_000)
    if args.fake_api:
        api = FakeAPI(store, clock)
        kind = "in-bench fake API"
    else:
        api = APIServer(store, clock, get_profile("kubernetes"))
        kind = "real engine.apiserver.APIServer"
    for i in range(args.nodes):
        store.create("nodes", node(i))
    sched = Scheduler(api, clock, {})
    print(f"{args.nodes} nodes, API: {kind}")
    for batch, count in enumerate(int(x) for x in args.pods.split(",")):
        sched.stop()
        for i in range(count):
            store.create("pods", pod(batch, i))
        before = sched.scheduled
        sched.start()
        t0 = time.perf_counter()
        while clock.step():
            pass
        wall = time.perf_counter() - t0
        done = sched.scheduled - before
        print(f"batch {batch}: scheduled {done}/{count} pods in {wall:.2f} s wall = {done / wall:,.0f} pods/s "
              f"(pods bound so far {sched.scheduled}, failed attempts {sched.failed})")
    per_node = [len(ni.pods) for ni in sched.cache.node_infos.values()]
    print(f"pods per node: min {min(per_node)}, max {max(per_node)}")


if __name__ == "__main__":
    main()

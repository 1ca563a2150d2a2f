"""Live traffic: per-second routing over kube-proxy's (lagging) endpoints, stats and the summary annotation."""
from __future__ import annotations

import json
import random

from engine.cluster import Cluster
from engine.network.traffic import binomial

WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports: [{containerPort: 80}]
        readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 2}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  annotations: {kubedrill.io/traffic-rps: "100"}
spec:
  selector: {app: web}
  ports: [{port: 80}]
"""


def make_cluster() -> Cluster:
    cluster = Cluster(seed=11, nodes=3, empty=True)
    cluster.apply(WEB)
    cluster.run_for(40)
    return cluster


def summary(cluster: Cluster) -> dict:
    svc = cluster.api.get("services", "default", "web")
    return json.loads(svc["metadata"]["annotations"]["kubedrill.io/traffic"])


def test_binomial_draws_have_the_right_mean():
    rng = random.Random(1)
    assert binomial(rng, 100, 0.0) == 0 and binomial(rng, 100, 1.0) == 100
    small = sum(binomial(rng, 100, 1 / 3) for _ in range(2000)) / 2000
    large = sum(binomial(rng, 10_000, 0.25) for _ in range(2000)) / 2000
    assert abs(small - 33.3) < 1.0 and abs(large - 2500) < 10


def test_healthy_service_gets_all_requests_through_and_steady_state_writes_nothing():
    cluster = make_cluster()
    net = cluster.network
    stats = net.traffic_stats("default/web")
    assert stats["rps"] == 100 and stats["window"]["successRate"] == 100.0
    assert stats["lastSecond"]["sent"] == 100 and stats["lastSecond"]["failed"] == 0
    assert len(stats["endpoints"]) == 3
    assert summary(cluster) == {"rps": 100, "successRate": 100.0, "sent": 1000, "failed": 0}
    rv = cluster.api.get("services", "default", "web")["metadata"]["resourceVersion"]
    cluster.run_for(20)
    assert cluster.api.get("services", "default", "web")["metadata"]["resourceVersion"] == rv
    series = net.traffic_series("default/web", since=cluster.now - 5)
    assert [p["t"] for p in series] == [int(cluster.now) - 4 + i for i in range(5)]
    assert all(p["sent"] == 100 and p["successRate"] == 100.0 for p in series)


def test_traffic_success_rate_drops_while_a_killed_pod_is_still_an_endpoint_and_returns_after_recovery():
    cluster = make_cluster()
    net = cluster.network
    victim = sorted(cluster.store.list("pods", "default"), key=lambda p: p["metadata"]["name"])[0]
    node = victim["spec"]["nodeName"]
    t0 = int(cluster.now)
    cluster.power_off_node(node)           # the pod dies with its node; the API does not know yet
    cluster.run_for(3)
    stats = net.traffic_stats("default/web")
    assert victim["status"]["podIP"] in {e["ip"] for e in stats["endpoints"]}   # still programmed
    recent = net.traffic_series("default/web", since=t0)
    assert [p["t"] for p in recent] == [t0 + 1, t0 + 2, t0 + 3]
    assert all(20 <= p["failed"] <= 50 for p in recent)                         # ~1/3 of requests time out
    assert 80.0 < stats["window"]["successRate"] < 97.0                          # 3 bad seconds of 10
    assert set(stats["reasons"]) == {"timeout"}
    # Node lifecycle marks the pod NotReady, the endpoint leaves the slice, kube-proxy re-syncs.
    cluster.run_for(20)
    stats = net.traffic_stats("default/web")
    assert victim["status"]["podIP"] not in {e["ip"] for e in stats["endpoints"]}
    last = net.traffic_series("default/web", since=cluster.now - 5)
    assert all(p["failed"] == 0 for p in last)
    # The replacement pod is scheduled elsewhere and becomes ready: 100 % over the last 10 s again.
    cluster.run_for(40)
    stats = net.traffic_stats("default/web")
    assert len(stats["endpoints"]) == 3
    assert stats["window"]["successRate"] == 100.0
    assert summary(cluster)["successRate"] == 100.0
    failed_seconds = [p["t"] for p in net.traffic_series("default/web", since=t0) if p["failed"]]
    assert failed_seconds and failed_seconds[0] == t0 + 1 and len(failed_seconds) < 20


def test_no_endpoints_fails_every_request_and_load_changes_at_runtime():
    cluster = make_cluster()
    net = cluster.network
    cluster.scale("Deployment", "default", "web", 0)
    cluster.run_for(15)
    stats = net.traffic_stats("default/web")
    assert stats["lastSecond"] == {"t": int(cluster.now), "sent": 100, "ok": 0, "failed": 100}
    assert set(stats["reasons"]) == {"no-endpoints"}
    assert summary(cluster)["successRate"] == 0.0
    net.set_load("default/web", 20)
    cluster.run_for(2)
    assert net.traffic_stats("default/web")["lastSecond"]["sent"] == 20
    assert summary(cluster)["rps"] == 20


def test_fault_injection_adds_errors():
    cluster = make_cluster()
    net = cluster.network
    net.set_fault("default/web", latency_ms=50, error_rate=0.5)
    cluster.run_for(10)
    stats = net.traffic_stats("default/web")
    assert 30.0 < stats["window"]["successRate"] < 70.0
    assert set(stats["reasons"]) == {"fault"} and stats["latencyMs"] == 52.0
    net.set_fault("default/web", 0, 0)
    cluster.run_for(10)
    assert net.traffic_stats("default/web")["window"]["successRate"] == 100.0

"""Packet traces: the four ways pods talk, Services, headless DNS names, NodePorts and failures."""
from __future__ import annotations

import pytest

from engine.cluster import Cluster
from engine.network import trace

MANIFESTS = """
apiVersion: v1
kind: Pod
metadata: {name: client, labels: {role: client}}
spec:
  nodeName: node-1
  containers:
  - {name: app, image: "nginx:1.27", ports: [{containerPort: 8080}]}
  - {name: sidecar, image: "busybox:1.36", ports: [{containerPort: 9090}]}
---
apiVersion: v1
kind: Pod
metadata: {name: neighbour, labels: {role: neighbour}}
spec:
  nodeName: node-1
  containers: [{name: nginx, image: "nginx:1.27", ports: [{containerPort: 80}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: remote, labels: {role: remote}}
spec:
  nodeName: node-2
  containers: [{name: nginx, image: "nginx:1.27", ports: [{containerPort: 80}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: sql-0, labels: {app: sql}}
spec:
  nodeName: node-3
  hostname: sql-0
  subdomain: sql
  containers: [{name: db, image: "postgres:17", ports: [{containerPort: 5432}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: "nginx:1.27", ports: [{containerPort: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web-np}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, nodePort: 30080}]
---
apiVersion: v1
kind: Service
metadata: {name: sql}
spec:
  clusterIP: None
  selector: {app: sql}
  ports: [{port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: nobody}
spec:
  selector: {app: nobody}
  ports: [{port: 80}]
"""


@pytest.fixture
def cluster() -> Cluster:
    """A fresh cluster per test (about a tenth of a second), so no test depends on another's changes."""
    cluster = Cluster(seed=5, nodes=3, empty=True)
    cluster.apply(MANIFESTS)
    cluster.run_for(30)
    return cluster


def pod_ip(cluster: Cluster, name: str) -> str:
    return cluster.api.get("pods", "default", name)["status"]["podIP"]


def kinds(result: dict) -> list[str]:
    return [h["kind"] for h in result["hops"]]


def test_container_to_container_through_localhost(cluster):
    result = trace(cluster.network, ("default", "client"), "localhost:9090")
    assert result["ok"], result["reason"]
    assert kinds(result) == ["localhost", "pod"]
    assert "sidecar" in result["hops"][0]["detail"]
    refused = trace(cluster.network, ("default", "client"), "localhost:7777")
    assert not refused["ok"] and refused["code"] == "connection-refused"


def test_same_node_pods_talk_through_the_cni0_bridge(cluster):
    ip = pod_ip(cluster, "neighbour")
    result = trace(cluster.network, ("default", "client"), f"{ip}:80")
    assert result["ok"], result["reason"]
    assert kinds(result) == ["bridge", "pod"]
    assert "cni0" in result["hops"][0]["detail"] and "node-1" in result["hops"][0]["detail"]
    assert result["hops"][-1]["to"] == f"{ip}:80"


def test_pods_on_different_nodes_are_routed_by_pod_cidr(cluster):
    ip = pod_ip(cluster, "remote")
    assert ip.startswith("10.244.")
    result = trace(cluster.network, ("default", "client"), ip)
    assert result["ok"], result["reason"]
    assert kinds(result) == ["node-to-node", "pod"]
    hop = result["hops"][0]
    remote_cidr = cluster.api.get("nodes", None, "node-2")["spec"]["podCIDR"]
    assert (hop["from"], hop["to"]) == ("node-1", "node-2")
    assert remote_cidr in hop["detail"]


def test_service_name_resolves_to_cluster_ip_and_kube_proxy_picks_a_ready_endpoint(cluster):
    svc = cluster.api.get("services", "default", "web")
    web_ips = {p["status"]["podIP"] for p in cluster.store.list("pods", "default") if
               p["metadata"]["labels"].get("app") == "web"}
    for target in ("web", "web.default", "web.default.svc.cluster.local", f"{svc['spec']['clusterIP']}:80"):
        result = trace(cluster.network, ("default", "client"), target)
        assert result["ok"], result["reason"]
        assert kinds(result)[-1] == "pod"
        proxy_hop = next(h for h in result["hops"] if h["kind"] == "kube-proxy")
        assert proxy_hop["from"] == f"{svc['spec']['clusterIP']}:80"
        assert proxy_hop["to"].split(":")[0] in web_ips
        if not target[0].isdigit():
            assert kinds(result)[0] == "dns" and result["hops"][0]["to"] == svc["spec"]["clusterIP"]
    chosen = {trace(cluster.network, ("default", "client"), "web")["hops"][1]["to"] for _ in range(30)}
    assert len(chosen) == 3   # uniform random over the three ready endpoints


def test_session_affinity_pins_the_client(cluster):
    cluster.api.patch("services", "default", "web", {"spec": {"sessionAffinity": "ClientIP"}}, "merge")
    cluster.run_for(2)
    chosen = {trace(cluster.network, ("default", "client"), "web")["hops"][1]["to"] for _ in range(20)}
    assert len(chosen) == 1


def test_pod_dns_name_through_a_headless_service(cluster):
    result = trace(cluster.network, ("default", "client"), "sql-0.sql.default.svc.cluster.local:5432")
    assert result["ok"], result["reason"]
    assert kinds(result) == ["dns", "node-to-node", "pod"]
    assert result["hops"][0]["to"] == pod_ip(cluster, "sql-0")
    missing = trace(cluster.network, ("default", "client"), "sql-1.sql.default.svc.cluster.local")
    assert not missing["ok"] and "NXDOMAIN" in missing["reason"]


def test_node_port_enters_on_any_node(cluster):
    result = trace(cluster.network, ("default", "client"), "node-3:30080")
    assert result["ok"], result["reason"]
    assert kinds(result)[:2] == ["node-port", "kube-proxy"]
    assert result["hops"][0]["to"] == "node-3:30080"
    unused = trace(cluster.network, ("default", "client"), "node-3:31999")
    assert not unused["ok"] and unused["code"] == "connection-refused"


def test_a_service_without_ready_endpoints_fails(cluster):
    result = trace(cluster.network, ("default", "client"), "nobody")
    assert not result["ok"]
    assert result["code"] == "no-endpoints"
    assert result["reason"].startswith('Service default/nobody has no ready endpoints')
    assert kinds(result) == ["dns"]
    unknown = trace(cluster.network, ("default", "client"), "nosuch")
    assert not unknown["ok"] and unknown["code"] == "no-such-service"


def test_a_powered_off_node_times_out(cluster):
    ip = pod_ip(cluster, "remote")
    cluster.power_off_node("node-2")
    result = trace(cluster.network, ("default", "client"), ip)
    assert not result["ok"] and result["code"] == "node-down"
    assert "powered off" in result["reason"] and "timeout" in result["reason"]
    assert kinds(result) == ["node-to-node"]

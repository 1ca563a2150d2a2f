"""The four network paths as a trace names them, each failure's code, and kube-proxy's iptables rules per node."""
from __future__ import annotations

import base64
import hashlib
import pathlib

import pytest

from engine.cluster import Cluster
from engine.network import node_rules, trace
from tests.engine.simulate import run_until
from tests.engine.test_network import kinds, pod_ip

MANIFEST = pathlib.Path(__file__).parent / "manifests" / "network-trace.yaml"


@pytest.fixture
def cluster() -> Cluster:
    cluster = Cluster(seed=5, nodes=3, empty=True)
    cluster.apply(MANIFEST.read_text())
    cluster.run_for(30)
    return cluster


def chain_hash(text: str) -> str:
    """The documented formula, computed here on its own: base32(sha256(text)), first 16 characters."""
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:16]


def web_pods(cluster: Cluster) -> dict[str, dict]:
    return {p["status"]["podIP"]: p for p in cluster.store.list("pods", "default")
            if p["metadata"]["labels"].get("app") == "web" and not p["metadata"].get("deletionTimestamp")}


def ready_in_slices(cluster: Cluster, service: str) -> int:
    """Ready endpoints of ``service`` as the API has them now (kube-proxy may not have synced them)."""
    return sum(1 for es in cluster.store.list("endpointslices", "default")
               if es["metadata"]["labels"].get("kubernetes.io/service-name") == service
               for ep in es.get("endpoints") or () if (ep.get("conditions") or {}).get("ready") is not False)


# ------------------------------------------------------------------ the four patterns

def test_container_to_container_is_localhost_in_one_network_namespace(cluster):
    result = trace(cluster.network, ("default", "client"), "localhost:9090")
    assert result["ok"] and result["pattern"] == "container-to-container"
    assert result["path"] == ["node-1"]
    assert "sidecar" in result["hops"][0]["detail"] and "no bridge" in result["hops"][0]["detail"]


def test_pod_to_pod_on_one_node_crosses_the_veth_pairs_and_cni0(cluster):
    result = trace(cluster.network, ("default", "client"), f"{pod_ip(cluster, 'neighbour')}:80")
    assert result["ok"] and result["pattern"] == "pod-to-pod-same-node"
    detail = result["hops"][0]["detail"]
    assert "eth0 of client" in detail and "cni0 bridge (10.244.1.1)" in detail and "eth0 of neighbour" in detail
    assert detail.count("veth") == 2
    assert result["path"] == ["node-1"]


def test_pod_to_pod_across_nodes_follows_the_route_to_the_other_pod_cidr(cluster):
    result = trace(cluster.network, ("default", "client"), pod_ip(cluster, "remote"))
    assert result["ok"] and result["pattern"] == "pod-to-pod-cross-node"
    assert result["path"] == ["node-1", "node-2"]
    cidr = cluster.api.get("nodes", None, "node-2")["spec"]["podCIDR"]
    assert f"route {cidr} via node-2" in result["hops"][0]["detail"]


@pytest.mark.parametrize("target", ["web", "web.default", "web.default.svc.cluster.local"])
def test_pod_to_service_looks_up_kube_dns_then_kube_proxy_dnats_to_one_endpoint(cluster, target):
    svc = cluster.api.get("services", "default", "web")
    result = trace(cluster.network, ("default", "client"), target)
    assert result["ok"] and result["pattern"] == "pod-to-service"
    assert kinds(result)[:2] == ["dns", "kube-proxy"]
    assert "kube-dns 10.96.0.10" in result["hops"][0]["detail"]
    dnat = result["hops"][1]
    assert dnat["probability"] == pytest.approx(1 / 3)
    assert f"KUBE-SVC-{chain_hash('default/web:httptcp')}" in dnat["detail"]
    ip, port = dnat["to"].split(":")
    assert ip in web_pods(cluster) and port == "8080"     # targetPort "http" names the container's 8080
    assert dnat["endpoint"] == "default/" + web_pods(cluster)[ip]["metadata"]["name"]
    assert result["destination"] == dnat["endpoint"]


def test_a_cluster_ip_skips_dns_and_a_node_port_enters_on_the_node_named(cluster):
    vip = cluster.api.get("services", "default", "web")["spec"]["clusterIP"]
    direct = trace(cluster.network, ("default", "client"), f"{vip}:80")
    assert direct["ok"] and direct["pattern"] == "pod-to-service" and kinds(direct)[0] == "kube-proxy"
    node_port = trace(cluster.network, ("default", "client"), "node-3:30080")
    assert node_port["ok"] and node_port["pattern"] == "pod-to-service"
    assert node_port["path"][:2] == ["node-1", "node-3"]
    assert "kube-proxy's rules on node-3" in node_port["hops"][1]["detail"]


def test_a_headless_pod_name_is_pod_to_pod_after_the_dns_lookup(cluster):
    result = trace(cluster.network, ("default", "client"), "sql-0.sql.default.svc.cluster.local:5432")
    assert result["ok"] and result["pattern"] == "pod-to-pod-cross-node"
    assert kinds(result) == ["dns", "node-to-node", "pod"]
    assert "no kube-proxy" in result["hops"][0]["detail"]


# ------------------------------------------------------------------ failures: where and why

def test_no_ready_endpoint_is_refused_at_the_cluster_ip(cluster):
    result = trace(cluster.network, ("default", "client"), "nobody")
    assert not result["ok"] and result["code"] == "no-endpoints" and result["pattern"] == "pod-to-service"
    assert "connection refused" in result["reason"] and kinds(result) == ["dns"]


def test_a_powered_off_node_loses_the_packet_on_the_way(cluster):
    cluster.power_off_node("node-2")
    result = trace(cluster.network, ("default", "client"), pod_ip(cluster, "remote"))
    assert not result["ok"] and result["code"] == "node-down"
    assert result["path"] == ["node-1", "node-2"] and "powered off" in result["reason"]


def test_a_stopped_container_refuses_the_connection(cluster):
    ip = pod_ip(cluster, "remote")
    cluster.crash_container("default", "remote")
    result = trace(cluster.network, ("default", "client"), f"{ip}:80")
    assert not result["ok"] and result["code"] == "pod-not-running"
    assert "container nginx of pod default/remote is not running" in result["reason"]


def test_a_failing_app_answers_with_errors_even_before_its_probe_notices(cluster):
    ip = pod_ip(cluster, "remote")
    cluster.set_readiness_failing("default", "remote", True)
    cluster.run_for(0.5)      # the kubelet has the fault; the pod is still Ready in the API
    assert all(c["status"] == "True" for c in cluster.api.get("pods", "default", "remote")["status"]["conditions"]
               if c["type"] == "Ready")
    result = trace(cluster.network, ("default", "client"), f"{ip}:80")
    assert not result["ok"] and result["code"] == "app-error" and "HTTP 503" in result["reason"]
    assert kinds(result) == ["node-to-node"]


def test_an_unknown_name_is_nxdomain(cluster):
    result = trace(cluster.network, ("default", "client"), "nosuch.default.svc.cluster.local")
    assert not result["ok"] and result["code"] == "no-such-service" and result["pattern"] is None
    assert "NXDOMAIN" in result["reason"]


def test_ports_nobody_exposes(cluster):
    wrong_service_port = trace(cluster.network, ("default", "client"), "web:81")
    assert wrong_service_port["code"] == "timeout" and "has no port 81" in wrong_service_port["reason"]
    wrong_pod_port = trace(cluster.network, ("default", "client"), f"{pod_ip(cluster, 'remote')}:81")
    assert wrong_pod_port["code"] == "connection-refused" and "nothing listens" in wrong_pod_port["reason"]
    unused_node_port = trace(cluster.network, ("default", "client"), "node-2:31999")
    assert unused_node_port["code"] == "connection-refused"


def test_a_trace_changes_nothing_in_the_simulation(cluster):
    revision, rng_state = cluster.store.revision, cluster.clock.rng.getstate()
    for target in ("web", "node-3:30080", "sql-0.sql", "nobody"):
        trace(cluster.network, ("default", "client"), target)
    node_rules(cluster.network, "node-1")
    assert cluster.store.revision == revision and cluster.clock.rng.getstate() == rng_state


# ------------------------------------------------------------------ kube-proxy's rules on a node

def test_rules_chain_services_to_endpoints_with_upstream_names_and_probabilities(cluster):
    rules = node_rules(cluster.network, "node-2", [("default", "web")])
    (port,) = rules["services"]
    assert port["chain"] == "KUBE-SVC-" + chain_hash("default/web:httptcp")
    assert [ep["probability"] for ep in port["endpoints"]] == ["0.3333333333", "0.5000000000", None]
    assert [ep["share"] for ep in port["endpoints"]] == pytest.approx([1 / 3] * 3)
    for ep in port["endpoints"]:
        assert ep["chain"] == "KUBE-SEP-" + chain_hash(f"default/web:httptcp{ep['ip']}:8080")
    vip = port["clusterIP"]
    assert (f'-A KUBE-SERVICES -d {vip}/32 -p tcp -m comment --comment "default/web:http cluster IP" '
            f"-m tcp --dport 80 -j {port['chain']}") in rules["text"]
    first = port["endpoints"][0]
    assert f"-m statistic --mode random --probability 0.33333333349 -j {first['chain']}" in rules["text"]
    assert f"-j DNAT --to-destination {first['ip']}:8080" in rules["text"]
    assert "default/nobody" not in rules["text"]    # only the Services asked for


def test_rules_follow_the_endpoints_once_kube_proxy_syncs(cluster):
    cluster.scale("Deployment", "default", "web", 2)
    run_until(cluster, lambda: ready_in_slices(cluster, "web") == 2)
    lagging = node_rules(cluster.network, "node-1", [("default", "web")])["services"][0]
    assert len(lagging["endpoints"]) == 3        # the API changed; kube-proxy has not synced yet
    cluster.run_for(30)
    synced = node_rules(cluster.network, "node-1", [("default", "web")])["services"][0]
    assert [ep["probability"] for ep in synced["endpoints"]] == ["0.5000000000", None]
    assert {ep["ip"] for ep in synced["endpoints"]} == set(web_pods(cluster))


def test_no_endpoints_is_a_reject_in_the_filter_table(cluster):
    rules = node_rules(cluster.network, "node-1", [("default", "nobody")])
    assert rules["services"][0]["rejected"] == "default/nobody has no endpoints"
    assert rules["chains"]["filter"]["KUBE-SERVICES"][0]["target"].startswith("REJECT")


def test_node_ports_and_external_traffic_policy_local_differ_per_node(cluster):
    cluster.api.patch("services", "default", "web-np", {"spec": {"externalTrafficPolicy": "Local"}}, "merge")
    cluster.run_for(2)
    name = "default/web-np:http"
    nodes_with_web = {p["spec"]["nodeName"] for p in web_pods(cluster).values()}
    for node in ("node-1", "node-2", "node-3"):
        rules = node_rules(cluster.network, node, [("default", "web-np")])
        port = rules["services"][0]
        assert port["externalChain"] == "KUBE-EXT-" + chain_hash(name + "tcp")
        nodeport_rule = rules["chains"]["nat"]["KUBE-NODEPORTS"][0]
        assert "--dport 30080" in nodeport_rule["text"] and nodeport_rule["target"] == port["externalChain"]
        if node in nodes_with_web:
            assert port["localChain"] == "KUBE-SVL-" + chain_hash(name + "tcp")
            assert {ep["node"] for ep in port["localEndpoints"]} == {node}
        else:
            assert port["localRejected"] == f"{name} has no local endpoints"

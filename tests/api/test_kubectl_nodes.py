"""kubectl cordon / uncordon / drain against its own server (they change the shared nodes)."""
from __future__ import annotations

import json

import pytest
from kubetools import start_server, stop_server
from test_kubectl import apply_web


@pytest.fixture(scope="module")
def api_server(tmp_path_factory):
    live, server = start_server(tmp_path_factory.mktemp("nodes"))
    yield live
    stop_server(live, server)


def _worker(kubectl) -> str:
    nodes = json.loads(kubectl.ok("get", "nodes", "-o", "json", ns=False))["items"]
    workers = [n["metadata"]["name"] for n in nodes
               if "node-role.kubernetes.io/control-plane" not in n["metadata"].get("labels", {})]
    return workers[0]


def test_cordon_uncordon(kubectl):
    node = _worker(kubectl)
    assert f"node/{node} cordoned" in kubectl.ok("cordon", node, ns=False)
    row = kubectl.ok("get", "node", node, ns=False).splitlines()[1].split()
    assert row[1] == "Ready,SchedulingDisabled"
    assert f"node/{node} uncordoned" in kubectl.ok("uncordon", node, ns=False)
    assert kubectl.ok("get", "node", node, ns=False).splitlines()[1].split()[1] == "Ready"


def test_drain_evicts_pods_and_they_come_back_elsewhere(kubectl):
    apply_web(kubectl, replicas=4)
    node = _worker(kubectl)
    on_node = kubectl.ok("get", "pods", "-A", "--field-selector", f"spec.nodeName={node}", "-o", "name")
    out = kubectl("drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--force", "--timeout=120s",
                  ns=False, timeout=150)
    assert out.code == 0, out.err
    assert f"node/{node} drained" in out.out
    if on_node.strip():
        assert "evicted" in out.out
    kubectl.ok("rollout", "status", "deployment/web", "--timeout=60s")
    pods = json.loads(kubectl.ok("get", "pods", "-l", "app=web", "-o", "json"))["items"]
    assert len(pods) == 4 and all(p["spec"]["nodeName"] != node for p in pods)
    kubectl.ok("uncordon", node, ns=False)

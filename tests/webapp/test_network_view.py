"""/ui/trace and /ui/proxy-rules: what the Networking tab reads, bad input refused by name, nothing changed."""
from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
from test_classroom_api import make_app, status, student

from webapp import shutdown_app

MANIFEST = Path(__file__).resolve().parents[1] / "engine" / "manifests" / "network-trace.yaml"


@pytest.fixture
def traced(runtime: Any) -> Any:
    """The demo cluster plus the trace manifest (client on node-1, remote on node-2, ...), settled."""
    runtime.call(runtime.cluster.apply, MANIFEST.read_text())
    runtime.advance(30.0)
    return runtime


def unchanged(runtime: Any) -> tuple[int, float, Any]:
    cluster = runtime.cluster
    return cluster.store.revision, cluster.clock.now, cluster.clock.rng.getstate()


def test_trace_pod_to_service_names_the_pattern_and_the_hops(traced, client):
    before = unchanged(traced)
    body = client.get("/ui/trace?from=default/client&to=web.default.svc.cluster.local").get_json()
    assert body["ok"] is True and body["pattern"] == "pod-to-service" and body["code"] == ""
    assert [h["kind"] for h in body["hops"]][:2] == ["dns", "kube-proxy"]
    assert body["path"][0] == "node-1" and body["reason"] == ""
    assert unchanged(traced) == before


def test_trace_failure_says_where_and_why(traced, client):
    traced.call(traced.cluster.power_off_node, "node-2")
    ip = traced.cluster.store.find("pods", "default", "remote")["status"]["podIP"]
    body = client.get(f"/ui/trace?from=default/client&to={ip}:80").get_json()
    assert body["ok"] is False and body["code"] == "node-down" and body["pattern"] == "pod-to-pod-cross-node"
    assert "powered off" in body["reason"] and body["path"] == ["node-1", "node-2"]


@pytest.mark.parametrize("query, param", [
    ("to=web", "from"),
    ("from=&to=web", "from"),
    ("from=client&to=web", "from"),
    ("from=default/Client_1&to=web", "from"),
    ("from=a/b/c&to=web", "from"),
    ("from=default/client", "to"),
    ("from=default/client&to=web:http", "to"),
    ("from=default/client&to=web:70000", "to"),
    ("from=default/client&to=<script>", "to"),
    ("from=default/client&to=web&verbose=1", "verbose"),
])
def test_trace_bad_input_is_a_400_naming_the_parameter(traced, client, query, param):
    before = unchanged(traced)
    body = status(client.get(f"/ui/trace?{query}"), 400)
    assert body["reason"] == "BadRequest" and f'"{param}"' in body["message"]
    assert body["details"]["causes"][0]["field"] == param
    assert unchanged(traced) == before


def test_trace_from_a_pod_that_does_not_exist_is_a_404(traced, client):
    body = status(client.get("/ui/trace?from=default/ghost&to=web"), 404)
    assert body["message"] == 'pods "ghost" not found'


def test_proxy_rules_of_one_service_on_a_node(traced, client):
    body = client.get("/ui/proxy-rules?node=node-2&service=default/web").get_json()
    (port,) = body["services"]
    digest = base64.b32encode(hashlib.sha256(b"default/web:httptcp").digest()).decode()[:16]
    assert port["chain"] == f"KUBE-SVC-{digest}" and body["node"] == "node-2"
    assert [ep["probability"] for ep in port["endpoints"]] == ["0.3333333333", "0.5000000000", None]
    assert f"-j KUBE-SVC-{digest}" in body["text"] and body["text"].startswith("# kube-proxy rules on node-2")
    assert "kube-dns" not in body["text"]


def test_proxy_rules_of_every_service_include_the_api_servers(traced, client):
    body = client.get("/ui/proxy-rules?node=node-1").get_json()
    # default/kubernetes:https over tcp hashes to the chain name every real cluster shows.
    assert "KUBE-SVC-NPX46M4PTMTKRN6Y" in {p["chain"] for p in body["services"]}
    assert body["chains"]["nat"]["KUBE-SERVICES"][-1]["target"] == "KUBE-NODEPORTS"


@pytest.mark.parametrize("query, code, needle", [
    ("node=node-9", 404, 'nodes "node-9" not found'),
    ("node=node-1&service=default/ghost", 404, 'services "ghost" not found'),
    ("", 400, '"node"'),
    ("node=Node_1", 400, '"node"'),
    ("node=node-1&service=web", 400, '"service"'),
    ("node=node-1&since=3", 400, '"since"'),
])
def test_proxy_rules_bad_input(traced, client, query, code, needle):
    before = unchanged(traced)
    assert needle in status(client.get(f"/ui/proxy-rules?{query}"), code)["message"]
    assert unchanged(traced) == before


def test_a_student_cannot_trace_in_another_students_cluster():
    app = make_app()
    try:
        alice, a = student(app, "alice")
        bob, _ = student(app, "bob")
        assert alice.get(f"/c/{a}/ui/proxy-rules?node=node-1").status_code == 200
        for path in ("/ui/trace?from=default/web&to=web", "/ui/proxy-rules?node=node-1"):
            body = status(bob.get(f"/c/{a}{path}"), 403)
            assert body["message"] == f'forbidden: User "bob" cannot get path "{path.split("?")[0]}"'
    finally:
        shutdown_app(app)

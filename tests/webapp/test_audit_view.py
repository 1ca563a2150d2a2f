"""``/ui/audit``: the audit trail as JSON lines, paged by seq; every API request recorded once, as its client."""
from __future__ import annotations

import json
from typing import Any

import pytest
from live_helpers import action, apply_configmap

KUBECTL = {"User-Agent": "kubectl/v1.32.0 (linux/amd64) kubernetes/70d3cc9"}
CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "audited"}, "data": {"k": "v"}}
PODS = "/api/v1/namespaces/default/pods"


def trail(client: Any, since: int = 0, **params: Any) -> list[dict]:
    r = client.get("/ui/audit", query_string={"since": since, **params})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == "application/x-ndjson"
    return [json.loads(line) for line in r.get_data(as_text=True).splitlines()]


def last_seq(runtime: Any) -> int:
    return runtime.cluster.api.audit.seq


def test_kubectl_requests_are_recorded_once_each_as_the_admin_with_their_user_agent(client, runtime):
    start = last_seq(runtime)
    assert client.get(PODS, headers=KUBECTL).status_code == 200
    assert client.get(f"{PODS}/no-such-pod", headers=KUBECTL).status_code == 404
    created = client.post("/api/v1/namespaces/default/configmaps", json=CM, headers=KUBECTL)
    assert created.status_code == 201
    mine = [e for e in trail(client, start) if e["userAgent"].startswith("kubectl/")]
    assert [(e["verb"], e["responseStatus"]["code"]) for e in mine] == [("list", 200), ("get", 404), ("create", 201)]
    listed, missing, create = mine
    assert listed["user"] == {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]}
    assert listed["requestURI"] == PODS and listed["objectRef"] == {
        "resource": "pods", "namespace": "default", "apiGroup": "", "apiVersion": "v1"}
    assert missing["objectRef"]["name"] == "no-such-pod"
    assert missing["responseStatus"]["reason"] == "NotFound" and missing["responseStatus"]["status"] == "Failure"
    # The engine calls the create made are part of the one request, which names the revision it wrote.
    assert create["objectRef"]["resourceVersion"] == created.get_json()["metadata"]["resourceVersion"]
    assert sum(1 for e in trail(client, start) if e["objectRef"].get("resource") == "configmaps") == 1


def test_paging_by_since_and_limit_returns_every_event_once_in_order(client, runtime):
    for i in range(5):
        client.get(f"{PODS}/p{i}", headers=KUBECTL)
    everything = trail(client, 0, limit=5000)
    seqs = [e["seq"] for e in everything]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    pages, since = [], 0
    while True:
        page = trail(client, since, limit=7)
        if not page:
            break
        assert len(page) <= 7
        pages += page
        since = page[-1]["seq"]
    assert [e["seq"] for e in pages] == seqs
    assert trail(client, seqs[-1]) == []
    assert len(trail(client, 0)) == min(500, len(seqs))   # the default limit


@pytest.mark.parametrize("params, field", [
    ({"since": "-1"}, "since"), ({"since": "ten"}, "since"), ({"since": ""}, "since"),
    ({"limit": "-5"}, "limit"), ({"limit": "1.5"}, "limit"), ({"limit": "5001"}, "limit"),
    ({"after": "3"}, "after"),
])
def test_a_bad_parameter_is_a_400_naming_it_and_changes_nothing(client, runtime, params, field):
    before = last_seq(runtime), runtime.cluster.store.revision
    r = client.get("/ui/audit", query_string=params)
    assert r.status_code == 400
    body = r.get_json()
    assert body["kind"] == "Status" and body["reason"] == "BadRequest" and f'"{field}"' in body["message"]
    assert (last_seq(runtime), runtime.cluster.store.revision) == before


def test_a_dashboard_action_is_recorded_as_the_dashboards_user(sio_client, client, runtime):
    start = last_seq(runtime)
    apply_configmap(sio_client, "from-dashboard")
    assert action(sio_client, "object.delete", resource="configmaps", namespace="default",
                  name="from-dashboard")["ok"]
    events = [e for e in trail(client, start) if e["userAgent"] == "kubedrill-dashboard"]
    assert [(e["verb"], e["objectRef"]["resource"], e["objectRef"]["name"]) for e in events] == [
        ("create", "configmaps", "from-dashboard"), ("delete", "configmaps", "from-dashboard")]
    assert events[0]["user"]["username"] == "kubernetes-admin"


def test_a_clusters_trail_is_served_under_its_base(client, runtime):
    assert client.get(f"{PODS}/x", headers=KUBECTL).status_code == 404
    assert trail(client, last_seq(runtime) - 1)[0]["objectRef"]["name"] == "x"
    assert client.get("/c/no-such-cluster/ui/audit").status_code == 404


def test_in_class_mode_a_students_requests_bear_their_name_and_only_readers_see_a_trail():
    from webapp import create_app, shutdown_app
    app = create_app({"TESTING": True, "SEED": 1, "START_THREADS": False, "CLASSROOM": True, "DB_URL": None,
                      "JOIN_BURST": 100, "JOIN_BURST_TOTAL": 100})
    try:
        code = app.extensions["kubedrill.class"].info.join_code
        clients = {}
        for name in ("alice", "bob"):
            clients[name] = app.test_client()
            joined = clients[name].post("/class/join", json={"code": code, "name": name})
            assert joined.status_code == 201
            clients[name].cluster = joined.get_json()["cluster"]
        alice, bob = clients["alice"], clients["bob"]
        base = f"/c/{alice.cluster}"
        assert alice.post(f"{base}/api/v1/namespaces/default/configmaps", json=CM, headers=KUBECTL).status_code == 201
        assert bob.get(f"{base}{PODS}", headers=KUBECTL).status_code == 403
        events = [json.loads(line) for line in alice.get(f"{base}/ui/audit").get_data(as_text=True).splitlines()]
        mine = [(e["user"]["username"], e["verb"], e["responseStatus"]["code"]) for e in events
                if e["userAgent"].startswith("kubectl/")]
        assert mine == [("alice", "create", 201), ("bob", "list", 403)]
        assert bob.get(f"{base}/ui/audit").status_code == 403
        assert app.test_client().get(f"{base}/ui/audit").status_code == 401
    finally:
        shutdown_app(app)
